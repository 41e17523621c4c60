"""``GET /meta``: the registry's labels in Chinese (record kinds, categories and their colours,
site and facility kinds, energy types, states, unit kinds, division levels, history actions).

The gateway's pages show these names and cache this answer for a few minutes, so the registry
is the one place they are written. Any authenticated caller may read it; it is not part of the
county API document (``include_in_schema=False``): it describes the pages' vocabulary.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.responses import JSONBody
from services.registry.validation import (
    CATEGORY_NAMES,
    FACILITY_KIND_NAMES,
    SITE_KIND_NAMES,
    EnergyType,
    FacilityCategory,
    VehicleCategory,
    WasteCategory,
)

router = APIRouter(tags=["meta"])

RECORD_KIND_NAMES = {"sites": "管理对象", "facilities": "设施", "vehicles": "车辆"}
# GB/T 19095-2019 colours; bulky and mixed are outside the standard.
CATEGORY_COLORS = {
    "recyclable": "#1e6fd9",
    "hazardous": "#d9342b",
    "kitchen": "#2e9e4f",
    "residual": "#6b7280",
    "bulky": "#a16207",
    "mixed": "#7c3aed",
}
ENERGY_NAMES = {
    "diesel": "柴油",
    "gasoline": "汽油",
    "electric": "纯电动",
    "hybrid": "混合动力",
    "hydrogen": "氢燃料",
    "lng": "液化天然气（LNG）",
    "cng": "压缩天然气（CNG）",
}
STATUS_NAMES = {"active": "在用", "decommissioned": "已注销"}
UNIT_KIND_NAMES = {
    "municipal_bureau": "市直部门",
    "county_government": "县区政府",
    "street": "街道（乡镇）",
    "other": "其他单位",
}
LEVEL_NAMES = {"city": "市", "county": "县（市、区）", "street": "街道（乡镇）", "community": "社区（村）"}
# What a history entry or a change of the week did ("registered" / "imported" from older events).
ACTION_NAMES = {
    "created": "登记",
    "registered": "登记",
    "updated": "修改",
    "decommissioned": "注销",
    "imported": "批量导入",
}


def _keys(literal: Any) -> list[str]:
    return list(literal.__args__)


def meta() -> dict[str, Any]:
    """The whole answer; built once (it only changes with a release of the registry)."""
    assert set(ENERGY_NAMES) == set(_keys(EnergyType))
    return {
        "record_kinds": RECORD_KIND_NAMES,
        "categories": CATEGORY_NAMES,
        "category_colors": CATEGORY_COLORS,
        "standard_categories": _keys(WasteCategory),
        "vehicle_categories": _keys(VehicleCategory),
        "facility_categories": _keys(FacilityCategory),
        "energy_types": ENERGY_NAMES,
        "site_kinds": SITE_KIND_NAMES,
        "facility_kinds": FACILITY_KIND_NAMES,
        "statuses": STATUS_NAMES,
        "unit_kinds": UNIT_KIND_NAMES,
        "division_levels": LEVEL_NAMES,
        "actions": ACTION_NAMES,
    }


META = meta()


@router.get("/meta", include_in_schema=False)
async def get_meta(_caller: CallerDep) -> Response:
    """The labels above; ``async`` and prebuilt: no thread hop, no database."""
    return JSONBody(META)
