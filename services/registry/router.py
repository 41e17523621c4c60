"""The registry's HTTP API, served at the service root (the gateway mounts it at /api/v1/registry/).

The routes live in ``routes/`` by sub-domain; this module only lists them. Fixed paths under a
record prefix (``/facilities/points``, ``/facilities/export``) come before the record routes,
whose ``/{code}`` would otherwise take them.
"""

from fastapi import APIRouter

from services.registry.routes import calendar, exports, facilities, imports, insights, meta, reference, sites, vehicles

routers: list[APIRouter] = [
    insights.router,
    exports.router,
    imports.router,
    vehicles.router,
    facilities.router,
    sites.router,
    reference.divisions_router,
    reference.units_router,
    reference.figures_router,
    calendar.router,
    meta.router,
]
