"""Reference pages: the division tree (counties, then streets and communities loaded on demand),
member units, and the street / community options the record forms load by county."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.deps import PageUser, ServicesDep
from gateway.registry_pages.common import counties, own_county
from gateway.render import render

router = APIRouter()


def _code(value: str, sizes: tuple[int, ...]) -> str:
    value = value.strip()
    return value if value.isdigit() and len(value) in sizes else ""


@router.get("/registry/divisions")
async def divisions_page(request: Request, user: PageUser, services: ServicesDep, parent: str = "") -> Response:
    """The whole tree page, or (htmx, ``?parent=``) the children of one division."""
    parent = _code(parent, (6, 9))
    levels = (await services.registry.meta()).division_levels
    if parent and request.headers.get("hx-request") == "true":
        children = await services.registry.divisions(parent=parent)
        return render(
            request,
            "registry/divisions.html",
            {"children": children, "parent": parent, "levels": levels},
            block="children",
        )
    items = await counties(services, user)
    return render(
        request,
        "registry/divisions.html",
        {"counties": items, "levels": levels, "own_county": own_county(user)},
    )


@router.get("/registry/divisions/options")
async def division_options(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    level: str = "street",
    county_code: str = "",
    street_code: str = "",
) -> Response:
    """``<option>``s for a form's street select (by county) or community select (by street).
    Choosing a county also empties the community select (out of band)."""
    parent = _code(street_code, (9,)) if level == "community" else _code(county_code, (6,))
    mine = own_county(user)
    if level != "community" and mine:
        parent = mine
    options = await services.registry.divisions(parent=parent) if parent else []
    return render(
        request,
        "registry/options.html",
        {"options": options, "level": level, "reset_community": level != "community"},
    )


@router.get("/registry/units")
async def units_page(request: Request, _user: PageUser, services: ServicesDep) -> Response:
    units = await services.registry.units()
    all_counties = await services.registry.divisions(level="county")
    kinds = (await services.registry.meta()).unit_kinds
    return render(
        request,
        "registry/units.html",
        {"units": units, "kinds": kinds, "county_names": {d.code: d.name for d in all_counties}},
    )


@router.get("/registry/units/{code}")
async def unit_page(request: Request, _user: PageUser, services: ServicesDep, code: str) -> Response:
    unit = await services.registry.unit(code)
    county_name = ""
    if unit.county_code:
        names = {d.code: d.name for d in await services.registry.divisions(level="county")}
        county_name = names.get(unit.county_code, "")
    kinds = (await services.registry.meta()).unit_kinds
    return render(request, "registry/unit.html", {"unit": unit, "kinds": kinds, "county_name": county_name})
