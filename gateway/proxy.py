"""``/api/v1/{service}/{path}``: the county-facing JSON API, forwarded to a service.

The hot path of the gateway, kept lean: a plain Starlette route (no FastAPI dependency machinery,
no middleware), API keys verified from an in-memory cache, one long-lived pooled client.

Bodies stream both ways, so a 100 MB upload or a 1 GB archive never sits whole in the gateway:
- a request body larger than ``SMALL_BODY`` (or of unknown length: chunked) is sent on as it
  arrives; a small one is read first (one write to the service, today's fast path);
- an answer whose Content-Length is at most ``SMALL_BODY`` is read whole and returned as a plain
  ``Response`` (small JSON: the fast path); anything else (no length: a streamed export, or a
  large file) is passed on chunk by chunk, raw (never decoded), and closed when done or when the
  client goes away.
Headers: the request's entity, conditional and range headers go to the service (never the
client's ``Authorization`` or cookies: the gateway signs its own token); every header of the
answer comes back (Content-Disposition, Content-Type, Content-Length, Content-Range, ETag, ...)
except the hop-by-hop ones and those the gateway sets itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from urllib.parse import quote

import httpx
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Match, Route
from starlette.types import Receive, Scope

from gateway.clients import Body, ServiceClients, raw_chunks
from gateway.deps import api_principal, caller_of, request_id, require_service_permission
from gateway.security import ApiKeyVerifier
from services.common.errors import NotFound

# One line per use of an API key (key id, method, path, status): the audit trail of county systems.
key_log = logging.getLogger("sortline.gateway.apikey")

FORWARD_REQUEST_HEADERS = (
    "content-type",
    "content-length",
    "content-disposition",
    "content-encoding",
    "accept",
    "idempotency-key",
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
)
_FORWARDED = frozenset(name.encode("latin-1") for name in FORWARD_REQUEST_HEADERS)
# RFC 9110 §7.6.1 hop-by-hop headers, and those the gateway's own server writes.
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "date",
        "server",
        "x-request-id",
    }
)
# OPTIONS too: the service answers it (a 405 whose ``Allow`` names what that path takes).
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PREFIX = "/api/v1/"
# Bodies up to this size are read whole (one write, no chunked framing); larger ones stream.
SMALL_BODY = 256 * 1024


def _service_path(request: Request, service: str) -> str:
    """The path after /api/v1/<service>, still percent-encoded as the client sent it."""
    raw: bytes | None = request.scope.get("raw_path")
    prefix_len = len(PREFIX) + len(service)
    path = raw.decode("latin-1")[prefix_len:] if raw else quote(request.url.path[prefix_len:])
    return path or "/"


class ReceivedBody(httpx.AsyncByteStream):
    """A large request body, sent on as the server hands it over: each chunk straight from the
    ASGI ``receive`` to the connection to the service, one generator step per chunk (Starlette's
    ``request.stream()`` and httpx's wrapper around an iterator would add two more each)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive

    async def __aiter__(self) -> AsyncIterator[bytes]:
        receive = self._receive
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away mid-body
                raise ClientDisconnect()
            body: bytes = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return


async def request_body(request: Request, headers: dict[str, str], chunked: bool) -> Body:
    """The body to send on: ``None`` without one, bytes when small, else the request's stream.
    ``headers`` are those forwarded (their Content-Length is set to what is sent)."""
    length = headers.get("content-length")
    if length is None:
        return ReceivedBody(request.receive) if chunked else None
    if length.isdigit() and int(length) <= SMALL_BODY:
        body = await request.body()
        if not body:
            del headers["content-length"]
            return None
        headers["content-length"] = str(len(body))
        return body
    return ReceivedBody(request.receive)


def response_headers(
    upstream: httpx.Response, own: dict[str, str] | None = None, drop: frozenset[str] = frozenset()
) -> list[tuple[bytes, bytes]]:
    """The answer's headers as the service sent them (raw, repeated ones kept), without the
    hop-by-hop ones and those in ``drop`` (lower-case names); then ``own``."""
    out = []
    for key, value in upstream.headers.raw:
        name = key.lower()
        text = name.decode("latin-1")
        if text not in DROPPED_RESPONSE_HEADERS and text not in drop:
            out.append((name, value))
    if own:
        out += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in own.items()]
    return out


def streamed(upstream: httpx.Response, own: dict[str, str] | None = None, *, drop: Iterable[str] = ()) -> Response:
    """Pass an unread answer on chunk by chunk (raw, as sent), closing it at the end (or when the
    client goes away). ``own`` headers are added, replacing the service's of the same names;
    ``drop`` names more of the service's headers to leave out."""
    dropped = frozenset(d.lower() for d in (*drop, *(own or {})))
    response = StreamingResponse(
        raw_chunks(upstream), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose)
    )
    response.raw_headers = response_headers(upstream, own, dropped)
    return response


async def proxy(request: Request) -> Response:
    service: str = request.path_params["service"]
    clients: ServiceClients = request.app.state.clients
    client = clients.by_name.get(service)
    if client is None:
        raise NotFound(f"没有名为“{service}”的服务")
    principal = await api_principal(request)
    require_service_permission(principal, service)
    rid = request_id(request)
    # One pass over the raw headers (ASGI names are lower-case): this is the hot path.
    headers = {}
    chunked = False
    for key, value in request.scope["headers"]:
        if key in _FORWARDED:
            headers[key.decode("latin-1")] = value.decode("latin-1")
        elif key == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    method = request.method
    if method in ("GET", "HEAD"):
        body: Body = None
        headers.pop("content-length", None)
    else:
        body = await request_body(request, headers, chunked)
    upstream = await client.open(
        method,
        _service_path(request, service),
        caller=caller_of(principal, rid),
        query=request.scope.get("query_string", b""),
        content=body,
        headers=headers,
    )
    if principal.kind == "key":
        key_log.info("api_key=%d %s %s %d rid=%s", principal.id, method, request.url.path, upstream.status_code, rid)
        verifier: ApiKeyVerifier = request.app.state.key_verifier
        if verifier.needs_touch(principal.id):
            await run_in_threadpool(verifier.touch, principal.id)
    own = {"x-request-id": rid}
    length = upstream.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) <= SMALL_BODY:
        content = await client.read(upstream)
        response = Response(content, status_code=upstream.status_code)
        response.raw_headers = response_headers(upstream, own)
        return response
    return streamed(upstream, own)


class ServiceRoute(Route):
    """``/api/v1/{service}/...`` for the named services only: a cheap prefix test first, so this
    route can stand before all others (none lies under those prefixes) and a request for a service
    is not matched against every page and integration route ahead of the catch-all."""

    def __init__(self, services: Iterable[str]) -> None:
        super().__init__("/api/v1/{service}/{path:path}", proxy, methods=METHODS, include_in_schema=False)
        self._prefixes = tuple(f"{PREFIX}{name}/" for name in services)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not scope["path"].startswith(self._prefixes):
            return Match.NONE, {}
        return super().matches(scope)


def proxy_route() -> Route:
    """The catch-all (an unknown service's name answers 404 here, after the integration API)."""
    return Route("/api/v1/{service}/{path:path}", proxy, methods=METHODS, include_in_schema=False)
