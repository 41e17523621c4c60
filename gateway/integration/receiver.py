"""A small webhook receiver for the demo and the benchmark (``sortline receiver --port 8009``): checks
each delivery's Standard Webhooks signature and prints one line per verified delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.integration.crypto import secret_bytes
from services.common.config import data_dir

DEMO_SECRET_FILE = "demo-receiver-webhook-secret"


def demo_secret_path() -> str:
    return str(data_dir() / "secrets" / DEMO_SECRET_FILE)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The signature check of the specification (``standardwebhooks`` when installed)."""
    try:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    except ImportError:  # production images carry no test dependencies: the same check by hand
        msg_id, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        mac = hmac.new(secret_bytes(secret), f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        expected = base64.b64encode(mac).decode()
        given = [s.split(",", 1)[-1] for s in headers.get("webhook-signature", "").split()]
        return any(hmac.compare_digest(expected, g) for g in given)
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def create_app(secret: str | None = None, quiet: bool | None = None) -> Starlette:
    if secret is None:
        secret = os.environ.get("SORTLINE_RECEIVER_SECRET", "")
        if not secret and os.path.exists(demo_secret_path()):
            with open(demo_secret_path()) as fh:
                secret = fh.read().strip()
    if quiet is None:
        quiet = os.environ.get("SORTLINE_RECEIVER_QUIET") == "1"
    counts = {"verified": 0, "rejected": 0}

    async def webhook(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if secret and not verify(secret, headers, body):
            counts["rejected"] += 1
            print(f"签名无效，已拒绝 webhook-id={headers.get('webhook-id')}", file=sys.stderr, flush=True)
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        counts["verified"] += 1
        if not quiet:
            event: dict[str, Any] = orjson.loads(body) if body.startswith(b"{") else {}
            print(
                f"收到{'并验证' if secret else ''}事件 #{counts['verified']} webhook-id={headers.get('webhook-id')} "
                f"type={event.get('type')} subject={event.get('subject')}",
                flush=True,
            )
        return Response(status_code=204)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", **counts})

    return Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/health", health)])
