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
from starlette.responses import HTMLResponse, RedirectResponse, Response

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
    # Where the entry stands in the bar: lower first; equal ones in the order they registered.
    order: int = 100


ALL_ROLES = frozenset({"admin", "office", "leader", "unit", "county", "inspector"})


@dataclass(frozen=True)
class NavEntry:
    item: NavItem
    group: str | None
    seq: int


# The navigation: each area registers its own entries when its module is imported.
_NAV: dict[str, NavEntry] = {}


def register_nav(item: NavItem, group: str | None = None) -> NavItem:
    """Add ``item`` to the navigation (under ``group``, a heading the bar may gather entries by).
    Registering the same ``href`` again replaces the entry. Returns ``item``."""
    old = _NAV.get(item.href)
    _NAV[item.href] = NavEntry(item, group, old.seq if old else len(_NAV))
    return item


def nav_entries() -> list[NavEntry]:
    """Every registered entry, in bar order."""
    return sorted(_NAV.values(), key=lambda e: (e.item.order, e.seq))


def nav_for(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [e.item for e in nav_entries() if principal.role in e.item.roles]


# Groups the bar folds into one menu at its end: the work leads, administration follows.
MENU_GROUPS = ("系统管理",)


@dataclass(frozen=True)
class NavSection:
    """A run of the bar: plain entries (``label`` None) or a folded group (a menu named ``label``)."""

    label: str | None
    items: tuple[NavItem, ...]

    def holds(self, path: str) -> bool:
        return any(is_current(item.href, path) for item in self.items)


def is_current(href: str, path: str) -> bool:
    return path == href or (href != "/" and path.startswith(href))


def nav_sections(principal: Principal | None) -> list[NavSection]:
    """The bar as it is drawn: the entries in bar order, then each group of ``MENU_GROUPS`` the
    user has entries in, folded into one menu."""
    if principal is None:
        return []
    plain: list[NavItem] = []
    menus: dict[str, list[NavItem]] = {group: [] for group in MENU_GROUPS}
    for entry in nav_entries():
        if principal.role not in entry.item.roles:
            continue
        if entry.group in menus:
            menus[entry.group].append(entry.item)
        else:
            plain.append(entry.item)
    sections = [NavSection(None, tuple(plain))] if plain else []
    return sections + [NavSection(group, tuple(items)) for group, items in menus.items() if items]


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
env.globals["is_current"] = is_current
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
        "nav_sections": nav_sections(principal),
        "scope_name": getattr(request.state, "scope_name", None) or (principal.scope_label if principal else ""),
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


def redirect(request: Request, url: str) -> Response:
    """Go to ``url`` after a form: ``HX-Redirect`` (a full page load) for an htmx request, a
    303 otherwise; ``Vary: HX-Request`` either way."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url, "Vary": "HX-Request"})
    return RedirectResponse(url, status_code=303, headers={"Vary": "HX-Request"})


def toast(message: str, kind: str = "success") -> str:
    """An out-of-band toast to append to an htmx fragment."""
    return env.get_template("components/toast.html").render(message=message, kind=kind)
