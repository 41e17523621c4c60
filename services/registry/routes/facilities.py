"""``/facilities``: the county-facing facility registry (分类设施)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep
from services.common.responses import JSONBody
from services.registry import service
from services.registry.bulk import service as bulk_service
from services.registry.errors import READ_ERRORS
from services.registry.routes.params import (
    CountQuery,
    CountyQuery,
    CursorQuery,
    ImportJobQuery,
    LimitQuery,
    NameSearch,
    RecordSort,
    StatusQuery,
    StreetQuery,
)
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
    county: CountyQuery = None,
    street: StreetQuery = None,
    category: Annotated[FacilityCategory | None, Query(description="垃圾类别")] = None,
    kind: Annotated[FacilityKind | None, Query(description="设施类型")] = None,
    status: StatusQuery = None,
    q: NameSearch = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    sort: RecordSort = "code",
    count: CountQuery = False,
    import_job: ImportJobQuery = None,
) -> Response:
    filters = {"category": category, "kind": kind, "status": status, "street_code": street}
    if import_job:
        filters.update(bulk_service.imported_by(session, caller, "facilities", import_job))
    return JSONBody(service.list_records(session, caller, KIND, county, filters, q, cursor, limit, sort, count))


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
