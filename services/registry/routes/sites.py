"""``/sites``: the county-facing registry of sites under management (分类管理对象)."""

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
    county: Annotated[str | None, Query(description="县区代码", examples=["360102"])] = None,
    kind: Annotated[SiteKind | None, Query(description="管理对象类型")] = None,
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
        filters={"kind": kind, "status": status},
        q=q,
        cursor=cursor,
        limit=limit,
        sort=sort,
    )
    return JSONBody(page)


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
