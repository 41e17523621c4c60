"""``/sites``: the county-facing registry of sites under management (分类管理对象)."""

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
    SITE_EXAMPLE,
    SiteCreate,
    SitePage,
    SitePublic,
    SiteUpdate,
)
from services.registry.validation import SiteKind

router = APIRouter(prefix="/sites", tags=["sites"])
KIND = service.SITES

CREATE_EXAMPLES = {
    "residential": {"summary": "已覆盖的居民小区（县区密钥）", "value": SITE_EXAMPLE},
    "school": {
        "summary": "市级账号登记学校（须指明 county_code）",
        "value": {"kind": "education", "name": "示例小学", "county_code": "360102", "street_code": "360102001"},
    },
}


@router.get("", response_model=SitePage, summary="管理对象列表（游标分页）", responses=READ_ERRORS)
def list_sites(
    caller: CallerDep,
    session: ReadSessionDep,
    county: CountyQuery = None,
    street: StreetQuery = None,
    kind: Annotated[SiteKind | None, Query(description="管理对象类型")] = None,
    status: StatusQuery = None,
    q: NameSearch = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    sort: RecordSort = "code",
    count: CountQuery = False,
    import_job: ImportJobQuery = None,
) -> Response:
    filters = {"kind": kind, "status": status, "street_code": street}
    if import_job:
        filters.update(bulk_service.imported_by(session, caller, "sites", import_job))
    return JSONBody(service.list_records(session, caller, KIND, county, filters, q, cursor, limit, sort, count))


UPDATE_EXAMPLES = {
    "covered": {
        "summary": "开始分类",
        "value": {
            "covered": True,
            "covered_since": "2024-01-01",
            "sorted_collection": True,
            "sorted_transport": True,
        },
    }
}

add_record_routes(
    router,
    kind=KIND,
    name="site",
    create=SiteCreate,
    update=SiteUpdate,
    public=SitePublic,
    create_examples=CREATE_EXAMPLES,
    update_examples=UPDATE_EXAMPLES,
    decommission_reason="管理对象报废",
)
