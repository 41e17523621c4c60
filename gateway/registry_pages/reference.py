"""Reference pages: the division tree (counties, then streets and communities loaded on demand),
member units, and the street / community options the record forms load by county."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.deps import PageUser
from gateway.registry_pages.common import (
    LEVEL_LABELS,
    UNIT_KIND_LABELS,
    caller_of,
    counties,
    own_county,
    registry,
)
from gateway.render import render

router = APIRouter()


def _code(value: str, sizes: tuple[int, ...]) -> str:
    value = value.strip()
    return value if value.isdigit() and len(value) in sizes else ""


@router.get("/registry/divisions")
async def divisions_page(request: Request, user: PageUser, parent: str = "") -> Response:
    """The whole tree page, or (htmx, ``?parent=``) the children of one division."""
    parent = _code(parent, (6, 9))
    caller = caller_of(request, user)
    if parent and request.headers.get("hx-request") == "true":
        children = await registry(request).divisions(caller, parent=parent)
        return render(
            request,
            "registry/divisions.html",
            {"children": children, "parent": parent, "levels": LEVEL_LABELS},
            block="children",
        )
    items = await counties(request, user)
    return render(
        request,
        "registry/divisions.html",
        {"counties": items, "levels": LEVEL_LABELS, "own_county": own_county(user)},
    )


@router.get("/registry/divisions/options")
async def division_options(
    request: Request, user: PageUser, level: str = "street", county_code: str = "", street_code: str = ""
) -> Response:
    """``<option>``s for a form's street select (by county) or community select (by street).
    Choosing a county also empties the community select (out of band)."""
    parent = _code(street_code, (9,)) if level == "community" else _code(county_code, (6,))
    mine = own_county(user)
    if level != "community" and mine:
        parent = mine
    options = await registry(request).divisions(caller_of(request, user), parent=parent) if parent else []
    return render(
        request,
        "registry/options.html",
        {"options": options, "level": level, "reset_community": level != "community"},
    )


@router.get("/registry/units")
async def units_page(request: Request, user: PageUser) -> Response:
    caller = caller_of(request, user)
    units = await registry(request).units(caller)
    all_counties = await registry(request).divisions(caller, level="county")
    return render(
        request,
        "registry/units.html",
        {"units": units, "kinds": UNIT_KIND_LABELS, "county_names": {d.code: d.name for d in all_counties}},
    )


@router.get("/registry/units/{code}")
async def unit_page(request: Request, user: PageUser, code: str) -> Response:
    caller = caller_of(request, user)
    unit = await registry(request).unit(caller, code)
    county_name = ""
    if unit.county_code:
        names = {d.code: d.name for d in await registry(request).divisions(caller, level="county")}
        county_name = names.get(unit.county_code, "")
    return render(request, "registry/unit.html", {"unit": unit, "kinds": UNIT_KIND_LABELS, "county_name": county_name})
