"""Sending one webhook request: 15 s timeouts, one pooled client, and no request to private,
loopback or link-local addresses (nor any redirect) unless an admin marked the subscription internal.

The host is resolved once and the request goes to the address that was checked (Host header and
TLS SNI keep the name), so a DNS answer that changes between check and connect cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.common import clock

Resolver = Callable[[str, int], list[str]]
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


class Sender:
    """One pooled ``httpx.Client`` for every subscription. Tests hand a transport and a resolver."""

    def __init__(
        self,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
        pool_size: int = 32,
    ) -> None:
        self.resolver = resolver or system_resolver
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
        )

    def close(self) -> None:
        self.client.close()

    def pinned(self, url: str) -> tuple[str, dict[str, str], dict[str, str]]:
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
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), headers, extensions

    def send(self, url: str, body: bytes, headers: dict[str, str], internal: bool) -> SendResult:
        started = time.monotonic()
        extensions: dict[str, str] = {}
        all_headers = dict(headers)
        try:
            if not internal:
                url, host_header, extensions = self.pinned(url)
                all_headers.update(host_header)
            request = self.client.build_request("POST", url, content=body, headers=all_headers, extensions=extensions)
            resp = self.client.send(request, follow_redirects=internal)
        except Refused as exc:
            return SendResult(None, _ms(started), error=str(exc)[:255])
        except httpx.TimeoutException:
            return SendResult(None, _ms(started), error="超时（15 秒内没有应答）")
        except httpx.TooManyRedirects:
            return SendResult(None, _ms(started), error="重定向次数过多")
        except (httpx.HTTPError, OSError) as exc:
            return SendResult(None, _ms(started), error=f"连接失败：{type(exc).__name__}")
        excerpt = resp.text[:EXCERPT_CHARS] if resp.content else ""
        result = SendResult(resp.status_code, _ms(started), excerpt=excerpt)
        if 300 <= resp.status_code < 400:
            result.error = "接收方要求重定向，非内部订阅不跟随重定向"
        elif resp.status_code == 410:
            result.error = "接收方返回 410 Gone"
            result.gone = True
        elif resp.status_code >= 300:
            result.error = f"HTTP {resp.status_code}"
            if resp.status_code in (429, 503):
                result.retry_after = retry_after_seconds(resp.headers.get("retry-after"))
        return result


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
