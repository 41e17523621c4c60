"""The name of a signed-in user's scope (东湖区, 市城管局, 第一督导组) for the bar and the home page,
asked of the registry or the supervision service once and kept for five minutes per process. A
service that does not answer leaves the code showing (``县区 360102``) for half a minute, so a
service that is down does not hold up every page."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

from starlette.requests import Request

from gateway.security import Principal
from services.common.errors import AppError

log = logging.getLogger("sortline.gateway.names")

NAME_TTL = 300.0
RETRY_AFTER = 30.0
_names: dict[tuple[str, str], tuple[float, str]] = {}


def scope_key(principal: Principal) -> tuple[str, str] | None:
    code = {"county": principal.county_code, "unit": principal.unit_code, "inspector": principal.team_code}.get(
        principal.role
    )
    return (principal.role, code) if code else None


def remember(role: str, names: dict[str, str]) -> None:
    """Names already fetched (the admin forms' lists) serve the bar too."""
    now = time.monotonic()
    for code, name in names.items():
        _names[(role, code)] = (now, name)


async def scope_name(request: Request, principal: Principal, rid: str) -> str:
    """The scope as it reads in the bar: ``全市``, or the county / unit / team by name."""
    key = scope_key(principal)
    if key is None:
        return principal.scope_label
    hit = _names.get(key)
    if hit is not None and time.monotonic() - hit[0] < NAME_TTL:
        return hit[1]
    role, code = key
    clients = request.app.state.clients
    caller = principal.caller(rid)
    try:
        if role == "county":
            name = next((d.name for d in await clients.registry.counties(caller) if d.code == code), "")
        elif role == "unit":
            name = (await clients.registry.call("GET", f"/units/{quote(code, safe='')}", caller=caller))["name"]
        else:
            name = (await clients.supervision.call("GET", f"/teams/{quote(code, safe='')}", caller=caller))["name"]
    except (AppError, KeyError, TypeError):
        name = ""
    if not name:
        _names[key] = (time.monotonic() - NAME_TTL + RETRY_AFTER, principal.scope_label)
        return principal.scope_label
    _names[key] = (time.monotonic(), str(name))
    return str(name)


UNIT_NAMES_TTL = 60.0  # seconds: member units change a few times a year


async def unit_names(request: Request, user: Principal) -> dict[str, str]:
    """Every member unit's code -> name from the registry, kept a minute per process (the assessment
    and supervision lists name units; the registry's unit list is the same for every role). Codes
    are shown as they are when the registry does not answer."""
    from gateway.deps import request_id  # gateway.deps imports this module

    cached: tuple[float, dict[str, str]] | None = getattr(request.app.state, "unit_names", None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < UNIT_NAMES_TTL:
        return cached[1]
    try:
        data = await request.app.state.clients.registry.call("GET", "/units", caller=user.caller(request_id(request)))
    except AppError as exc:
        log.warning("unit names unavailable: %s", exc.message)
        return cached[1] if cached else {}
    names = {str(u["code"]): str(u["name"]) for u in data.get("items", [])}
    request.app.state.unit_names = (now, names)
    return names
