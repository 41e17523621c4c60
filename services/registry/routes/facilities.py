"""``/facilities``: the county-facing facility registry (分类设施)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep
from services.common.responses import JSONBody
from services.registry import service
from services.registry.errors import READ_ERRORS
from services.registry.routes.params import RecordSort
from services.registry.routes.records import add_record_routes
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


@router.get("", response_model=FacilityPage, summary="设施列表（游标分页）", responses=READ_ERRORS)
def list_facilities(
    caller: CallerDep,
    session: ReadSessionDep,
    county: Annotated[str | None, Query(description="县区代码", examples=["360102"])] = None,
    category: Annotated[FacilityCategory | None, Query(description="垃圾类别")] = None,
    kind: Annotated[FacilityKind | None, Query(description="设施类型")] = None,
    status: Annotated[str | None, Query(pattern="^(active|decommissioned)$", description="状态")] = None,
    q: Annotated[str | None, Query(max_length=64, description="统一编号的开头，或名称中的文字")] = None,
    cursor: Annotated[str | None, Query(description="上一页返回的 next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: RecordSort = "code",
) -> Response:
    page = service.list_records(
        session,
        caller,
        KIND,
        county=county,
        filters={"category": category, "kind": kind, "status": status},
        q=q,
        cursor=cursor,
        limit=limit,
        sort=sort,
    )
    return JSONBody(page)


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
