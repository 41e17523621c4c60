"""The registry's pages: divisions, member units, sites, facilities, vehicles and the facility map.
They read and write through the typed ``RegistryClient``; the registry decides scope again."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.registry_pages import facility_map, records, reference
from gateway.render import ALL_ROLES, NavItem, register_nav

for _order, (_href, _label) in enumerate(
    (
        ("/registry/divisions", "行政区划"),
        ("/registry/units", "成员单位"),
        ("/registry/sites", "管理对象"),
        ("/registry/facilities", "设施"),
        ("/registry/vehicles", "车辆"),
        ("/registry/map", "设施地图"),
    ),
    start=30,
):
    register_nav(NavItem(_href, _label, ALL_ROLES, order=_order), group="台账")

router = APIRouter(include_in_schema=False)
# The map and the reference pages first: their fixed paths must win over /registry/<kind>/<code>.
router.include_router(facility_map.router)
router.include_router(reference.router)
router.include_router(records.router)

__all__ = ["router"]
