"""One ``render()`` for every page: the whole page, or one block of it for an htmx request.

A page and its fragments live in one template; the route names the block htmx swaps. Responses
always carry ``Vary: HX-Request`` so a cache never serves a fragment for a full page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.security import ROLE_LABELS, Principal
from services.common import clock

TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    "Vary": "HX-Request",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    roles: frozenset[str]


# The navigation, by role. Other areas (registry, assessment, ...) append their entries here.
NAV_ITEMS: list[NavItem] = [
    NavItem("/", "首页", frozenset({"admin", "office", "leader", "unit", "county", "inspector"})),
    NavItem("/admin/users", "用户管理", frozenset({"admin", "office"})),
    NavItem("/admin/apikeys", "API 密钥", frozenset({"admin", "office"})),
    NavItem("/api/docs", "接口文档", frozenset({"admin", "office", "county"})),
    NavItem("/registry/divisions", "行政区划", frozenset({"admin", "office", "leader", "unit", "county", "inspector"})),
    NavItem("/registry/units", "成员单位", frozenset({"admin", "office", "leader", "unit", "county", "inspector"})),
    NavItem("/registry/sites", "管理对象", frozenset({"admin", "office", "leader", "unit", "county", "inspector"})),
    NavItem("/registry/facilities", "设施", frozenset({"admin", "office", "leader", "unit", "county", "inspector"})),
    NavItem("/registry/vehicles", "车辆", frozenset({"admin", "office", "leader", "unit", "county", "inspector"})),
    NavItem("/registry/map", "设施地图", frozenset({"admin", "office", "leader", "unit", "county", "inspector"})),
    NavItem("/registry/imports", "批量导入", frozenset({"admin", "office", "county"})),
]


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [item for item in NAV_ITEMS if principal.role in item.roles]


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return clock.local(value).strftime(fmt)


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["localtime"] = localtime
env.globals["ROLE_LABELS"] = ROLE_LABELS
env.globals["PLATFORM_NAME"] = "生活垃圾分类工作管理平台"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def render_html(request: Request, template: str, context: dict[str, Any], block: str | None = None) -> str:
    principal: Principal | None = getattr(request.state, "principal", None)
    ctx = {
        "request": request,
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "nav": nav_for(principal),
        "current_path": request.url.path,
        **context,
    }
    tmpl = env.get_template(template)
    if block is None:
        return tmpl.render(ctx)
    return "".join(tmpl.blocks[block](tmpl.new_context(ctx)))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The whole page, or ``block`` of it when htmx asks (``HX-Request: true``, not boosted)."""
    html = render_html(request, template, context or {}, block if block and is_htmx(request) else None)
    return HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})


def toast(message: str, kind: str = "success") -> str:
    """An out-of-band toast to append to an htmx fragment."""
    return env.get_template("components/toast.html").render(message=message, kind=kind)
