"""The name of a signed-in user's scope (东湖区, 市城管局, 第一督导组) for the bar and the home page,
asked of the registry or the supervision service once and kept for five minutes per process. A
service that does not answer leaves the code showing (``县区 360102``) for half a minute, so a
service that is down does not hold up every page."""

from __future__ import annotations

import time
from urllib.parse import quote

from starlette.requests import Request

from gateway.security import Principal
from services.common.errors import AppError

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
