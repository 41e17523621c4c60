"""The webhook sender on its production wire (aiohttp) against a real local HTTP server: the body and
headers as given (the pinned Host), redirects followed only for internal subscriptions, private
addresses refused without a request, and the delivery log's words for 410, 503, refusals and timeouts.
The delivery tests use an in-process httpx transport instead."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.integration.netguard import TIMEOUT_ERROR, Sender


class Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting (/slow)
            pass

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        Handler.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path == "/redirect":
            self._answer(302, headers={"location": "/ok"})
        elif self.path == "/gone":
            self._answer(410)
        elif self.path == "/busy":
            self._answer(503, headers={"retry-after": "7"})
        elif self.path == "/slow":
            time.sleep(1.5)
            self._answer(200)
        elif self.path == "/text":
            self._answer(200, "处理失败".encode(), {"content-type": "text/plain; charset=utf-8"})
        else:
            self._answer(204)

    do_POST = _handle
    do_GET = _handle


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def sender() -> Iterator[Sender]:
    s = Sender(timeout=0.5, pool_size=4)
    yield s
    s.close()


def test_internal_delivery_carries_body_and_headers_and_follows_redirects(server: str, sender: Sender) -> None:
    headers = {"content-type": "application/cloudevents+json", "webhook-id": "msg_1"}
    result = sender.run(sender.send(server + "/hook", b'{"a":1}', headers, internal=True))
    assert result.ok and result.status_code == 204
    method, path, got, body = Handler.seen[0]
    assert (method, path, body) == ("POST", "/hook", b'{"a":1}')
    assert got["webhook-id"] == "msg_1" and got["content-type"] == "application/cloudevents+json"
    result = sender.run(sender.send(server + "/redirect", b"{}", {}, internal=True))
    assert result.ok and [p for _, p, _, _ in Handler.seen[1:]] == ["/redirect", "/ok"]


def test_the_wire_keeps_the_pinned_host_and_does_not_follow_unasked(server: str, sender: Sender) -> None:
    answer = sender.run(sender.wire.post(server + "/redirect", b"{}", {"host": "public.test"}, None, False))
    assert answer.status_code == 302
    assert [(p, h["host"]) for _, p, h, _ in Handler.seen] == [("/redirect", "public.test")]


def test_loopback_refused_for_non_internal_without_a_request(server: str, sender: Sender) -> None:
    result = sender.run(sender.send(server + "/hook", b"{}", {}, internal=False))
    assert result.status_code is None and "内网" in result.error
    assert Handler.seen == []


def test_answers_and_failures_in_the_delivery_log_words(server: str, sender: Sender) -> None:
    gone = sender.run(sender.send(server + "/gone", b"{}", {}, internal=True))
    assert gone.gone and gone.error == "接收方返回 410 Gone"
    busy = sender.run(sender.send(server + "/busy", b"{}", {}, internal=True))
    assert busy.error == "HTTP 503" and busy.retry_after == 7.0
    text = sender.run(sender.send(server + "/text", b"{}", {}, internal=True))
    assert text.ok and text.excerpt == "处理失败"
    slow = sender.run(sender.send(server + "/slow", b"{}", {}, internal=True))
    assert slow.status_code is None and slow.error == TIMEOUT_ERROR
    closed = server.rsplit(":", 1)[0] + ":9"  # discard port: nothing listens
    refused = sender.run(sender.send(closed + "/hook", b"{}", {}, internal=True))
    assert refused.status_code is None and refused.error == "连接失败：ConnectError"


def _certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``hook.test`` (its own CA): ``(cert.pem, key.pem)``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hook.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hook.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_pinned_https_checks_the_certificate_of_the_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A public subscription's request goes to the checked address; TLS still names (SNI) and
    verifies the host of the URL, not the address."""
    cert_path, key_path = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the sender trusts our CA
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"https://127.0.0.1:{httpd.server_address[1]}"
    sender = Sender(timeout=5)
    try:
        answer = sender.run(sender.wire.post(base + "/ok", b"{}", {"host": "hook.test"}, "hook.test", False))
        assert answer.status_code == 204 and Handler.seen[0][2]["host"] == "hook.test"
        wrong = sender.run(sender.send(base + "/ok", b"{}", {}, internal=True))  # no name: the address
        assert wrong.status_code is None and wrong.error.startswith("连接失败")
    finally:
        sender.close()
        httpd.shutdown()
        httpd.server_close()
