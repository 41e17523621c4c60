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


CITY_KEY_FIELD = "x-required-for-city-keys"
COUNTY_CODE_PATTERN = r"^\s*[0-9]{4}(0[1-9]|[1-9][0-9])\s*$"


def for_city_callers(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as a city-wide caller (office, admin) must follow it: the fields marked
    ``x-required-for-city-keys`` (a new record's county, which a county key may leave out) are
    required and never null."""
    out = copy.deepcopy(doc)
    for schema in (out.get("components", {}).get("schemas") or {}).values():
        for name, prop in (schema.get("properties") or {}).items():
            if not prop.get(CITY_KEY_FIELD):
                continue
            kept = [option for option in prop.pop("anyOf", []) if option.get("type") != "null"]
            prop.pop("default", None)
            prop.update(kept[0] if len(kept) == 1 else {"type": "string"})
            prop.setdefault("pattern", COUNTY_CODE_PATTERN)
            required = schema.setdefault("required", [])
            if name not in required:
                required.append(name)
    return out


class OpenApiCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.doc: dict[str, Any] | None = None
        self.city_doc: dict[str, Any] = {}
        self.fetched = 0.0

    async def get(self, clients: ServiceClients, role: str = "county") -> dict[str, Any]:
        """The document for a county caller, or (any other role) for a city-wide one."""
        if self.doc is None or time.monotonic() - self.fetched > self.ttl:
            self.doc = county_openapi(await clients.registry.openapi())
            self.city_doc = for_city_callers(self.doc)
            self.fetched = time.monotonic()
        return self.doc if role == "county" else self.city_doc


@router.get("/api/openapi.json")
async def openapi(request: Request, caller: ApiCaller) -> Response:
    """The document describes the caller's own key: a county key may leave a new record's county
    out (it is the key's), a city-wide key must name it."""
    cache: OpenApiCache = request.app.state.openapi_cache
    return JSONBody(await cache.get(request.app.state.clients, caller.role))


@router.get("/api/docs")
async def docs(request: Request, _caller: ApiCaller) -> Response:
    return render(request, "apidocs.html", {})
