"""The facility map: a Leaflet page (``static/js/map.js``) and the JSON of its points, scoped and
filtered like the facility list, from the registry's compact ``/facilities/points``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gateway.deps import PageUser, settings_of
from gateway.registry_pages.common import (
    CATEGORY_COLORS,
    CATEGORY_LABELS,
    FACILITY_CATEGORIES,
    FACILITY_KIND_LABELS,
    STATUS_LABELS,
    caller_of,
    counties,
    own_county,
    registry,
)
from gateway.render import SECURITY_HEADERS, render

router = APIRouter()

MAX_POINTS = 20000


def map_filters(request: Request, county_role: str | None) -> dict[str, str]:
    params = request.query_params
    county = params.get("county", "").strip()
    category = params.get("category", "")
    kind = params.get("kind", "")
    status = params.get("status", "active")
    return {
        "county": county_role or (county if county.isdigit() and len(county) == 6 else ""),
        "category": category if category in FACILITY_CATEGORIES else "",
        "kind": kind if kind in FACILITY_KIND_LABELS else "",
        # the registry's points default to active ones; there is no "all" on the map
        "status": status if status in STATUS_LABELS else "active",
    }


@router.get("/registry/map")
async def map_page(request: Request, user: PageUser) -> Response:
    settings = settings_of(request)
    legend = [(key, CATEGORY_LABELS[key], CATEGORY_COLORS[key]) for key in FACILITY_CATEGORIES]
    return render(
        request,
        "registry/map.html",
        {
            "filters": map_filters(request, own_county(user)),
            "counties": await counties(request, user),
            "show_county_filter": own_county(user) is None,
            "categories": [(k, CATEGORY_LABELS[k]) for k in FACILITY_CATEGORIES],
            "kinds": list(FACILITY_KIND_LABELS.items()),
            "statuses": list(STATUS_LABELS.items()),
            "legend": legend,
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
            "labels": {"category": CATEGORY_LABELS, "kind": FACILITY_KIND_LABELS, "color": CATEGORY_COLORS},
        },
    )


@router.get("/registry/map/points")
async def map_points(request: Request, user: PageUser) -> Response:
    """``{"items": [[code, lat, lng, category, kind, name], ...], "total", "truncated"}``."""
    filters = map_filters(request, own_county(user))
    points = await registry(request).facility_points(caller_of(request, user), {**filters, "limit": MAX_POINTS})
    return JSONResponse(points.model_dump(), headers={**SECURITY_HEADERS, "Vary": "HX-Request"})
