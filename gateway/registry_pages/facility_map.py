"""The facility map: a Leaflet page (``static/js/map.js``) and the JSON of its points, scoped and
filtered like the facility list, from the registry's compact ``/facilities/points``."""

from __future__ import annotations

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
