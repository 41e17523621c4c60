"""Small identity providers for the SSO tests, served over real HTTP on a free port: an OIDC
provider (discovery, authorization code with PKCE S256, token, JWKS; RS256 ID tokens signed with
joserfc) and a CAS server speaking ``serviceValidate`` XML (2.0 and 3.0 paths)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class Provider:
    base: str = ""
    client_id: str = "sortline"
    client_secret: str = "s3cret"
    user: dict[str, Any] = field(default_factory=dict)  # the claims of whoever "logs in" next
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[str, tuple[str, dict[str, list[str]]]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)


def _handler(p: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: bytes, ctype: str = "application/json", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode())

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(200, {
                    "issuer": p.base,
                    "authorization_endpoint": p.base + "/authorize",
                    "token_endpoint": p.base + "/token",
                    "jwks_uri": p.base + "/jwks",
                    "userinfo_endpoint": p.base + "/userinfo",
                    "code_challenge_methods_supported": ["S256"],
                })  # fmt: skip
            elif url.path == "/jwks":
                self._json(200, {"keys": [p.key.as_dict(private=False)]})
            elif url.path == "/authorize":
                if (
                    q.get("client_id") != p.client_id
                    or q.get("code_challenge_method") != "S256"
                    or not q.get("code_challenge")
                ):
                    self._json(400, {"error": "invalid_request"})
                    return
                code = secrets.token_urlsafe(16)
                p.codes[code] = {**q}
                target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
                self._send(302, b"", headers={"location": target})
            elif url.path.endswith("serviceValidate"):
                self._send(200, _cas_xml(p, q.get("ticket", ""), q.get("service", "")).encode(), "application/xml")
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            p.token_requests.append(form)
            if urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            grant = p.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (
                grant is None
                or form.get("client_id") != p.client_id
                or form.get("client_secret") != p.client_secret
                or grant["code_challenge"] != challenge
                or grant["redirect_uri"] != form.get("redirect_uri")
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            now = int(time.time())
            claims = {
                "iss": p.base,
                "aud": p.client_id,
                "iat": now,
                "exp": now + 300,
                "nonce": grant.get("nonce"),
                **p.user,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, p.key)
            self._json(
                200,
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                },
            )

    return Handler


def _cas_xml(p: Provider, ticket: str, service: str) -> str:
    hit = p.tickets.pop(ticket, None)
    if hit is None:
        return (
            '<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">'
            '<cas:authenticationFailure code="INVALID_TICKET">'
            f"Ticket {ticket} not recognized</cas:authenticationFailure>"
            "</cas:serviceResponse>"
        )
    user, attrs = hit
    attr_xml = "".join(f"<cas:{k}>{v}</cas:{k}>" for k, values in attrs.items() for v in values)
    return (
        '<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>'
        f"<cas:user>{user}</cas:user><cas:attributes>{attr_xml}</cas:attributes>"
        "</cas:authenticationSuccess></cas:serviceResponse>"
    )


@contextmanager
def running_provider() -> Iterator[Provider]:
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
