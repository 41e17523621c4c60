"""The county-facing API reference: the registry's OpenAPI as seen through the gateway
(``/api/openapi.json``) and a Swagger UI page on vendored assets (``/api/docs``)."""

from __future__ import annotations

import copy
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.clients import ServiceClients
from gateway.deps import ApiCaller
from gateway.render import NavItem, register_nav, render
from services.common.responses import JSONBody

router = APIRouter(include_in_schema=False)
register_nav(NavItem("/api/docs", "接口文档", frozenset({"admin", "office", "county"}), order=20), group="系统管理")

HIDDEN_PREFIXES = ("/events", "/health", "/calendar")
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "县区系统的 API 密钥：`Authorization: Bearer sk_...`（由分类办在平台“API 密钥”页签发）",
}


def county_openapi(doc: dict[str, Any], prefix: str = "/api/v1/registry") -> dict[str, Any]:
    """The registry's document with gateway paths, without internal routes, with bearer auth."""
    out = copy.deepcopy(doc)
    out["paths"] = {
        prefix + path: item for path, item in (doc.get("paths") or {}).items() if not path.startswith(HIDDEN_PREFIXES)
    }
    components = out.setdefault("components", {})
    components.setdefault("securitySchemes", {})["apiKey"] = SECURITY_SCHEME
    out["security"] = [{"apiKey": []}]
    out["servers"] = [{"url": "/", "description": "本平台网关"}]
    info = out.setdefault("info", {})
    info["title"] = "生活垃圾分类工作管理平台 · 县区接口"
    info.setdefault(
        "description",
        "县区系统通过本接口登记和更新设施、车辆，平台为其分配统一编号。所有请求需携带 API 密钥。",
    )
    return out


class OpenApiCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.doc: dict[str, Any] | None = None
        self.fetched = 0.0

    async def get(self, clients: ServiceClients) -> dict[str, Any]:
        if self.doc is None or time.monotonic() - self.fetched > self.ttl:
            self.doc = county_openapi(await clients.registry.openapi())
            self.fetched = time.monotonic()
        return self.doc


@router.get("/api/openapi.json")
async def openapi(request: Request, _caller: ApiCaller) -> Response:
    cache: OpenApiCache = request.app.state.openapi_cache
    return JSONBody(await cache.get(request.app.state.clients))


@router.get("/api/docs")
async def docs(request: Request, _caller: ApiCaller) -> Response:
    return render(request, "apidocs.html", {})
