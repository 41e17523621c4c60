"""The registry's HTTP API, served at the service root (the gateway mounts it at /api/v1/registry/).

The routes live in ``routes/`` by sub-domain; this module only lists them.
"""

from fastapi import APIRouter

from services.registry.routes import facilities, reference, sites, vehicles

routers: list[APIRouter] = [
    vehicles.router,
    facilities.router,
    sites.router,
    reference.divisions_router,
    reference.units_router,
    reference.figures_router,
]
