"""The facility map: a Leaflet page (``static/js/map.js``) and the JSON of its points, scoped and
filtered like the facility list, from the registry's compact ``/facilities/points``; and the
county outlines drawn when there is no tile service (the convex hull of each county's facilities),
which the map and the record forms' point picker share."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gateway.clients import RegistryMeta
from gateway.deps import PageUser, ServicesDep, settings_of
from gateway.registry_pages.common import counties, own_county
from gateway.render import SECURITY_HEADERS, render

router = APIRouter()

MAX_POINTS = 20000


def map_filters(request: Request, county_role: str | None, meta: RegistryMeta) -> dict[str, str]:
    params = request.query_params
    county = params.get("county", "").strip()
    category = params.get("category", "")
    kind = params.get("kind", "")
    status = params.get("status", "active")
    return {
        "county": county_role or (county if county.isdigit() and len(county) == 6 else ""),
        "category": category if category in meta.facility_categories else "",
        "kind": kind if kind in meta.facility_kinds else "",
        # the registry's points default to active ones; there is no "all" on the map
        "status": status if status in meta.statuses else "active",
    }


@router.get("/registry/map")
async def map_page(request: Request, user: PageUser, services: ServicesDep) -> Response:
    settings = settings_of(request)
    meta = await services.registry.meta()
    names, colors = meta.categories, meta.category_colors
    legend = [(key, names.get(key, key), colors.get(key, "")) for key in meta.facility_categories]
    return render(
        request,
        "registry/map.html",
        {
            "filters": map_filters(request, own_county(user), meta),
            "counties": await counties(services, user),
            "show_county_filter": own_county(user) is None,
            "categories": [(k, names.get(k, k)) for k in meta.facility_categories],
            "kinds": list(meta.facility_kinds.items()),
            "statuses": list(meta.statuses.items()),
            "legend": legend,
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "labels": {"category": names, "kind": meta.facility_kinds, "color": colors},
        },
    )


@router.get("/registry/map/points")
async def map_points(request: Request, user: PageUser, services: ServicesDep) -> Response:
    """``{"items": [[code, lat, lng, category, kind, name], ...], "total", "truncated"}``."""
    filters = map_filters(request, own_county(user), await services.registry.meta())
    points = await services.registry.facility_points({**filters, "limit": MAX_POINTS})
    return JSONResponse(points.model_dump(), headers={**SECURITY_HEADERS, "Vary": "HX-Request"})


Point = tuple[float, float]


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points: list[Point]) -> list[Point]:
    """The convex outline of ``points`` (Andrew's monotone chain), counter-clockwise, without the
    points on its edges; fewer than three distinct points come back as they are (sorted)."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts
    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


@router.get("/registry/map/outlines")
async def map_outlines(request: Request, user: PageUser, services: ServicesDep) -> Response:
    """``{"items": [{"code", "name", "ring": [[lat, lng], ...]}]}``: each county the user sees,
    outlined by the convex hull of its active facilities (a facility code starts with its county)."""
    mine = own_county(user)
    points = await services.registry.facility_points({"county": mine, "status": "active", "limit": MAX_POINTS})
    by_county: dict[str, list[Point]] = defaultdict(list)
    for code, lat, lng, *_rest in points.items:
        by_county[code.split("-", 1)[0]].append((lng, lat))
    names = {c.code: c.name for c in await counties(services, user)}
    items = [
        {"code": county, "name": names.get(county, county), "ring": [[lat, lng] for lng, lat in convex_hull(pts)]}
        for county, pts in sorted(by_county.items())
    ]
    return JSONResponse({"items": items}, headers={**SECURITY_HEADERS, "Vary": "HX-Request"})
