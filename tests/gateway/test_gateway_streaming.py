"""The /api/v1 proxy streams: a 100 MB upload reaches the service while it is still being sent
(never whole in the gateway), a 100 MB download reaches the client while the service is still
producing it, and the headers a file needs (Content-Disposition, Content-Length, Range) survive.

The gateway app is driven at the ASGI level (no TestClient: it reads a request body whole), with
a fake service transport that hashes what arrives and a body generator that counts what was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from gateway import cli
from gateway.app import create_app
from gateway.config import Settings
from tests.gateway.conftest import HAS_REGISTRY, Gateway

CHUNK = b"\x5a" * (1024 * 1024)
CHUNKS = 100  # 100 MB
MB = 1024 * 1024


class Progress:
    sent = 0  # bytes the client has handed over so far
    received = 0  # bytes the other end has seen so far
    max_lag = 0  # the most that was ever "in the gateway" (sent but not yet seen)

    def observe(self) -> None:
        self.max_lag = max(self.max_lag, self.sent - self.received)


class HashingService(httpx.AsyncBaseTransport):
    """A service that hashes the request body as it arrives and answers small JSON."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.headers: httpx.Headers | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.headers = request.headers
        digest = hashlib.sha256()
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            digest.update(chunk)
            self.progress.received += len(chunk)
            self.progress.observe()
        return httpx.Response(201, json={"sha256": digest.hexdigest(), "size": self.progress.received})


class ProducingService(httpx.AsyncBaseTransport):
    """A service that answers a 100 MB CSV download, produced chunk by chunk."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.request: httpx.Request | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.request = request
        progress = self.progress

        async def body() -> AsyncIterator[bytes]:
            for _ in range(CHUNKS):
                progress.sent += len(CHUNK)
                progress.observe()
                yield CHUNK

        headers = {
            "content-type": "text/csv; charset=utf-8",
            "content-length": str(CHUNKS * len(CHUNK)),
            "content-disposition": "attachment; filename=\"download.csv\"; filename*=UTF-8''%E8%AE%BE%E6%96%BD.csv",
            "accept-ranges": "bytes",
            "connection": "keep-alive",
            "keep-alive": "timeout=5",
        }
        return httpx.Response(200, headers=headers, stream=_Stream(body()))


class _Stream(httpx.AsyncByteStream):
    def __init__(self, it: AsyncIterator[bytes]) -> None:
        self._it = it

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._it:
            yield chunk


async def asgi_request(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str],
    body: AsyncIterator[bytes] | None = None,
    on_body: Callable[[bytes], None] | None = None,
    query: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """One request straight into the ASGI app: the body fed chunk by chunk, the answer's body
    handed to ``on_body`` as it is sent (and kept only when there is no ``on_body``)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *[(k.lower().encode(), v.encode()) for k, v in headers.items()]],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    chunks = body.__aiter__() if body is not None else None
    status = 0
    out_headers: dict[str, str] = {}
    kept: list[bytes] = []
    body_sent = chunks is None
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if body_sent:  # like a server: nothing more until the client goes away
            await finished.wait()
            return {"type": "http.disconnect"}
        assert chunks is not None
        try:
            return {"type": "http.request", "body": await chunks.__anext__(), "more_body": True}
        except StopAsyncIteration:
            body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for k, v in message.get("headers", []):
                name = k.decode("latin-1")
                assert name not in out_headers, f"header {name} twice"
                out_headers[name] = v.decode("latin-1")
        elif message["type"] == "http.response.body":
            data = message.get("body", b"")
            if on_body is not None:
                on_body(data)
            else:
                kept.append(data)
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    return status, out_headers, b"".join(kept)


async def _gateway(make_db: Callable[[str], Engine], transport: httpx.AsyncBaseTransport) -> tuple[Any, Any, str]:
    engine = make_db("gateway")
    _, key = cli.create_api_key(engine, name="stream", county_code=None, role="office")
    app = create_app(Settings(), engine, {"registry": transport})
    return app, app.router.lifespan_context(app), key


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
async def test_a_100_mb_upload_streams_through(make_db: Callable[[str], Engine], framing: str) -> None:
    progress = Progress()
    service = HashingService(progress)
    app, lifespan, key = await _gateway(make_db, service)
    expected = hashlib.sha256()
    for _ in range(CHUNKS):
        expected.update(CHUNK)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(CHUNKS):
            progress.sent += len(CHUNK)
            progress.observe()
            yield CHUNK

    headers = {"authorization": f"Bearer {key}", "content-type": "application/octet-stream"}
    if framing == "chunked":
        headers["transfer-encoding"] = "chunked"
    else:
        headers["content-length"] = str(CHUNKS * len(CHUNK))
    async with lifespan:
        status, out, content = await asgi_request(
            app, "POST", "/api/v1/registry/uploads", headers=headers, body=body(), query=b"a=1"
        )
    assert status == 201, content
    answer = httpx.Response(201, content=content).json()
    assert answer == {"sha256": expected.hexdigest(), "size": CHUNKS * len(CHUNK)}
    # The service saw every chunk at most a few chunks after it was sent: never the whole body.
    assert progress.max_lag <= 4 * MB, progress.max_lag
    assert service.headers is not None
    assert service.headers["content-type"] == "application/octet-stream"
    if framing == "content-length":
        assert service.headers["content-length"] == str(CHUNKS * len(CHUNK))
    assert "authorization" in service.headers and key not in service.headers["authorization"]
    assert out["x-request-id"]


async def test_a_100_mb_download_streams_through_with_its_headers(make_db: Callable[[str], Engine]) -> None:
    progress = Progress()
    service = ProducingService(progress)
    app, lifespan, key = await _gateway(make_db, service)
    digest = hashlib.sha256()

    def on_body(data: bytes) -> None:
        progress.received += len(data)
        digest.update(data)

    async with lifespan:
        status, headers, _ = await asgi_request(
            app,
            "GET",
            "/api/v1/registry/facilities/export",
            headers={"authorization": f"Bearer {key}", "range": "bytes=0-", "cookie": "s=1"},
            on_body=on_body,
            query=b"format=csv",
        )
    assert status == 200
    assert progress.received == CHUNKS * len(CHUNK)
    assert progress.max_lag <= 4 * MB, progress.max_lag
    assert digest.hexdigest() == hashlib.sha256(CHUNK * CHUNKS).hexdigest()
    assert headers["content-disposition"].endswith("filename*=UTF-8''%E8%AE%BE%E6%96%BD.csv")
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-length"] == str(CHUNKS * len(CHUNK))
    assert headers["accept-ranges"] == "bytes"
    assert "connection" not in headers and "keep-alive" not in headers  # hop-by-hop
    assert service.request is not None
    assert service.request.headers["range"] == "bytes=0-"
    assert "cookie" not in service.request.headers
    assert service.request.url.query == b"format=csv"


def test_range_answers_and_small_json_keep_their_headers(make_gateway: Callable[..., Gateway]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/files/a.pdf":
            return httpx.Response(
                206,
                content=b"%PDF-",
                headers={
                    "content-type": "application/pdf",
                    "content-range": "bytes 0-4/1000",
                    "content-disposition": "inline; filename*=UTF-8''%E9%80%9A%E6%8A%A5.pdf",
                    "etag": '"abc"',
                    "transfer-encoding": "chunked",
                    "x-request-id": "from-the-service",
                },
            )
        return httpx.Response(200, json={"ok": True}, headers={"x-total": "3"})

    gw = make_gateway(transports={"registry": httpx.MockTransport(handler)})
    key = gw.key(county_code=None, role="office")
    resp = gw.client.get(
        "/api/v1/registry/files/a.pdf",
        headers={"Authorization": f"Bearer {key}", "Range": "bytes=0-4", "If-Range": '"abc"'},
    )
    assert resp.status_code == 206
    assert resp.content == b"%PDF-"
    assert resp.headers["content-range"] == "bytes 0-4/1000"
    assert resp.headers["content-length"] == "5"
    assert resp.headers["content-disposition"] == "inline; filename*=UTF-8''%E9%80%9A%E6%8A%A5.pdf"
    assert resp.headers["etag"] == '"abc"'
    assert resp.headers["x-request-id"] != "from-the-service"
    assert seen[0].headers["range"] == "bytes=0-4" and seen[0].headers["if-range"] == '"abc"'
    small = gw.client.get("/api/v1/registry/units", headers={"Authorization": f"Bearer {key}"})
    assert small.json() == {"ok": True} and small.headers["x-total"] == "3"
    assert small.headers["content-type"] == "application/json"


@pytest.mark.skipif(not HAS_REGISTRY, reason="needs the registry service")
def test_export_through_the_api_keeps_its_chinese_file_name(gw: Gateway) -> None:
    key = gw.key(county_code=None, role="office")
    resp = gw.client.get(
        "/api/v1/registry/facilities/export", params={"format": "csv"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition and "%E8%AE%BE%E6%96%BD" in disposition  # 设施
    # The same file from the page keeps it too.
    gw.login_as("office")
    page = gw.client.get("/registry/facilities/export", params={"format": "csv"})
    assert page.status_code == 200
    assert page.headers["content-disposition"] == disposition
    assert page.headers["cache-control"] == "no-store"
