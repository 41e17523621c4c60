"""``/api/v1/{service}/{path}``: the county-facing JSON API, forwarded to a service.

The hot path of the gateway, kept lean: a plain Starlette route (no FastAPI dependency machinery,
no middleware), API keys verified from an in-memory cache, one long-lived pooled client, the
answer read whole and returned as a plain ``Response``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.clients import ServiceClients
from gateway.deps import api_principal, request_id, require_service_permission
from gateway.security import ApiKeyVerifier
from services.common.errors import NotFound

# One line per use of an API key (key id, method, path, status): the audit trail of county systems.
key_log = logging.getLogger("sortline.gateway.apikey")

FORWARD_REQUEST_HEADERS = ("content-type", "accept", "idempotency-key")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PREFIX = "/api/v1/"


def _service_path(request: Request, service: str) -> str:
    """The path after /api/v1/<service>, still percent-encoded as the client sent it."""
    raw: bytes | None = request.scope.get("raw_path")
    prefix_len = len(PREFIX) + len(service)
    path = raw.decode("latin-1")[prefix_len:] if raw else quote(request.url.path[prefix_len:])
    return path or "/"


async def proxy(request: Request) -> Response:
    service: str = request.path_params["service"]
    clients: ServiceClients = request.app.state.clients
    client = clients.by_name.get(service)
    if client is None:
        raise NotFound(f"没有名为“{service}”的服务")
    principal = await api_principal(request)
    require_service_permission(principal, service)
    rid = request_id(request)
    headers = {}
    for name in FORWARD_REQUEST_HEADERS:
        value = request.headers.get(name)
        if value is not None:
            headers[name] = value
    method = request.method
    body = await request.body() if method not in ("GET", "HEAD") else None
    upstream = await client.send(
        method,
        _service_path(request, service),
        caller=principal.caller(rid),
        query=request.scope.get("query_string", b""),
        content=body,
        headers=headers,
    )
    out_headers = {"x-request-id": rid}
    content_type = upstream.headers.get("content-type")
    if content_type:
        out_headers["content-type"] = content_type
    if principal.kind == "key":
        key_log.info("api_key=%d %s %s %d rid=%s", principal.id, method, request.url.path, upstream.status_code, rid)
        verifier: ApiKeyVerifier = request.app.state.key_verifier
        if verifier.needs_touch(principal.id):
            await run_in_threadpool(verifier.touch, principal.id)
    return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)


def proxy_route() -> Route:
    return Route("/api/v1/{service}/{path:path}", proxy, methods=METHODS, include_in_schema=False)
