"""The registry's pages: divisions, member units, sites, facilities, vehicles and the facility map.
They read and write through the typed ``RegistryClient``; the registry decides scope again."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.registry_pages import facility_map, records, reference

router = APIRouter(include_in_schema=False)
# The map and the reference pages first: their fixed paths must win over /registry/<kind>/<code>.
router.include_router(facility_map.router)
router.include_router(reference.router)
router.include_router(records.router)

__all__ = ["router"]
