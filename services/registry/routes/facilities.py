"""``/facilities``: the county-facing facility registry (分类设施)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.registry import service
from services.registry.routes.params import StreetQuery
from services.registry.routes.records import add_list_route, add_record_routes
from services.registry.schemas import (
    FACILITY_EXAMPLE,
    FacilityCreate,
    FacilityPage,
    FacilityPublic,
    FacilityUpdate,
)
from services.registry.validation import FacilityCategory, FacilityKind

router = APIRouter(prefix="/facilities", tags=["facilities"])
KIND = service.FACILITIES

CREATE_EXAMPLES = {
    "hazardous_store": {"summary": "有害垃圾暂存点（县区密钥）", "value": FACILITY_EXAMPLE},
    "bin_group": {
        "summary": "四分类桶组（类别默认为 mixed）",
        "value": {
            "kind": "bin_group",
            "name": "滨江花园四分类桶组 1 号",
            "street_code": "360102001",
            "community_code": "360102001001",
            "lat": 28.6901,
            "lng": 115.8912,
            "capacity": 960,
            "external_id": "DH-F-0002",
        },
    },
}


add_list_route(
    router,
    kind=KIND,
    plural="facilities",
    page=FacilityPage,
    summary="设施列表（游标分页）",
    filters=[
        ("street", StreetQuery, "street_code"),
        ("category", Annotated[FacilityCategory | None, Query(description="垃圾类别")], "category"),
        ("kind", Annotated[FacilityKind | None, Query(description="设施类型")], "kind"),
    ],
)

UPDATE_EXAMPLES = {"rename": {"summary": "改名称", "value": {"name": "公园街道有害垃圾暂存点（改造）"}}}

add_record_routes(
    router,
    kind=KIND,
    name="facility",
    create=FacilityCreate,
    update=FacilityUpdate,
    public=FacilityPublic,
    create_examples=CREATE_EXAMPLES,
    update_examples=UPDATE_EXAMPLES,
    decommission_reason="设施报废",
)
