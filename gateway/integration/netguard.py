"""Sending webhook requests: 15 s timeouts, one pooled client, and no request to private,
loopback or link-local addresses (nor any redirect) unless an admin marked the subscription internal.

The host is resolved once and the request goes to the address that was checked (Host header and
TLS SNI keep the name), so a DNS answer that changes between check and connect cannot slip through.

A batch goes out concurrently from one event loop (the sender's own thread) over one pooled
``aiohttp`` session: threads of sync httpx clients spent their time contending for the GIL, httpx's
own async pool ran at a fraction of one sync client's rate here, and httpx over the aiohttp transport
at under half of what aiohttp does alone (its request and header objects). Tests hand an httpx
transport instead (``httpx.MockTransport``): the same checks and judgement, only the wire differs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import httpx

from services.common import clock

Resolver = Callable[[str, int], list[str]]
T = TypeVar("T")
TIMEOUT_ERROR = "超时（15 秒内没有应答）"
EXCERPT_CHARS = 500


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


class Refused(Exception):
    """The target is not allowed for this subscription (nothing was sent)."""


@dataclass
class SendResult:
    status_code: int | None
    duration_ms: int
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None
    gone: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (clock.as_utc(when) - clock.now()).total_seconds())


@dataclass
class Answer:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes
    encoding: str


class Wire(Protocol):
    """Posts one request and reads the answer; transport failures raise (``transport_error`` words them)."""

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], sni: str | None, follow_redirects: bool
    ) -> Answer: ...

    async def close(self) -> None: ...


class TooManyRedirects(Exception):
    pass


class AiohttpWire:
    """Production: one ``aiohttp`` session (created on the sender's loop at the first request)."""

    def __init__(self, timeout: float, pool_size: int) -> None:
        self.timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self.pool_size = pool_size
        self.session: aiohttp.ClientSession | None = None

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], sni: str | None, follow_redirects: bool
    ) -> Answer:
        if self.session is None:
            # The CA bundle httpx trusts (certifi), as before; idle connections closed before the
            # usual 5 s of servers (fewer reused connections the server is closing).
            connector = aiohttp.TCPConnector(limit=self.pool_size, keepalive_timeout=4, ssl=httpx.create_ssl_context())
            # An HTTP(S)_PROXY from the environment is honoured as before; without one, aiohttp is
            # spared its two thread hops per request looking for it (and for a .netrc).
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=bool(urllib.request.getproxies()),
            )
        try:
            async with self.session.post(
                url,
                data=body,
                headers=headers,
                allow_redirects=follow_redirects,
                max_redirects=20,
                server_hostname=sni,
            ) as resp:
                content = await resp.read()
                return Answer(resp.status, resp.headers, content, resp.charset or "utf-8")
        except aiohttp.TooManyRedirects as exc:
            raise TooManyRedirects from exc

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


class HttpxWire:
    """Tests: an ``httpx`` transport (``httpx.MockTransport`` answering in-process)."""

    def __init__(self, timeout: float, transport: httpx.AsyncBaseTransport) -> None:
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False)

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], sni: str | None, follow_redirects: bool
    ) -> Answer:
        extensions = {"sni_hostname": sni} if sni else {}
        request = self.client.build_request("POST", url, content=body, headers=headers, extensions=extensions)
        try:
            resp = await self.client.send(request, follow_redirects=follow_redirects)
        except httpx.TooManyRedirects as exc:
            raise TooManyRedirects from exc
        content = await resp.aread()
        return Answer(resp.status_code, resp.headers, content, resp.encoding or "utf-8")

    async def close(self) -> None:
        await self.client.aclose()


class Sender:
    """Sends webhook requests from an event loop in a thread of its own (started on first use):
    ``run(coro)`` runs a batch's sending there and waits for it. Tests hand a transport and a resolver."""

    def __init__(
        self,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        pool_size: int = 32,
    ) -> None:
        self.resolver = resolver or system_resolver
        self.wire: Wire = HttpxWire(timeout, transport) if transport is not None else AiohttpWire(timeout, pool_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the sender's event loop and return its result (any thread may call)."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-sender", daemon=True)
                self._thread.start()
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.wire.close(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def pinned(self, url: str) -> tuple[str, dict[str, str], str | None]:
        """The URL rewritten to a checked public address, the Host header, and the TLS name."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            literal = ipaddress.ip_address(host)
            addresses = [str(literal)]
        except ValueError:
            try:
                addresses = self.resolver(host, port)
            except OSError as exc:
                raise Refused(f"无法解析域名 {host}") from exc
        if not addresses:
            raise Refused(f"无法解析域名 {host}")
        bad = [a for a in addresses if forbidden_address(a)]
        if bad:
            raise Refused(f"目标地址 {bad[0]} 属于内网、回环或链路本地地址；如确为内部系统，请管理员将订阅标记为内部")
        address = addresses[0]
        netloc_host = f"[{address}]" if ":" in address else address
        netloc = f"{netloc_host}:{parts.port}" if parts.port else netloc_host
        headers = {"host": parts.netloc.rsplit("@", 1)[-1]}
        sni = host if parts.scheme == "https" else None
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), headers, sni

    async def send(self, url: str, body: bytes, headers: dict[str, str], internal: bool) -> SendResult:
        """One request (on the sender's loop): the answer, or why there was none."""
        started = time.monotonic()
        sni: str | None = None
        all_headers = dict(headers)
        try:
            if not internal:
                # The resolver may block (DNS): off the loop.
                url, host_header, sni = await asyncio.to_thread(self.pinned, url)
                all_headers.update(host_header)
            answer = await self.wire.post(url, body, all_headers, sni, internal)
        except Refused as exc:
            return SendResult(None, _ms(started), error=str(exc)[:255])
        except TooManyRedirects:
            return SendResult(None, _ms(started), error="重定向次数过多")
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            return SendResult(None, _ms(started), error=transport_error(exc))
        status = answer.status_code
        excerpt = _text(answer)[:EXCERPT_CHARS] if answer.content else ""
        result = SendResult(status, _ms(started), excerpt=excerpt)
        if 300 <= status < 400:
            result.error = "接收方要求重定向，非内部订阅不跟随重定向"
        elif status == 410:
            result.error = "接收方返回 410 Gone"
            result.gone = True
        elif status >= 300:
            result.error = f"HTTP {status}"
            if status in (429, 503):
                result.retry_after = retry_after_seconds(answer.headers.get("retry-after"))
        return result


# aiohttp's names for what httpx calls ConnectError etc. (the delivery log keeps one vocabulary).
_AIOHTTP_NAMES = {
    aiohttp.ClientConnectorError: "ConnectError",
    aiohttp.ServerDisconnectedError: "RemoteProtocolError",
    aiohttp.ClientPayloadError: "ReadError",
}


def transport_error(exc: BaseException) -> str:
    """The delivery log's words for a request that got no answer."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return TIMEOUT_ERROR
    name = next((name for kind, name in _AIOHTTP_NAMES.items() if isinstance(exc, kind)), type(exc).__name__)
    return f"连接失败：{name}"


def _text(answer: Answer) -> str:
    try:
        return answer.content.decode(answer.encoding, errors="replace")
    except LookupError:  # a charset nobody knows
        return answer.content.decode("utf-8", errors="replace")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
