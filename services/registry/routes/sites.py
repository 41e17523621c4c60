"""``/sites``: the county-facing registry of sites under management (分类管理对象)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep, run_read
from services.common.responses import JSONBody
from services.registry import service
from services.registry.routes.common import (
    READ_ERRORS,
    WRITE_ERRORS,
    IdempotencyKey,
    RecordSort,
    SettingsDep,
)
from services.registry.schemas import (
    SITE_EXAMPLE,
    DecommissionRequest,
    HistoryPage,
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


@router.post(
    "",
    status_code=201,
    response_model=SitePublic,
    summary="登记管理对象（分配统一编号）",
    responses=WRITE_ERRORS,
)
def register_site(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[SiteCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.register(
        session, settings, caller, KIND, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


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


@router.get("/{code}", response_model=SitePublic, summary="查看管理对象", responses=READ_ERRORS)
async def get_site(code: str, request: Request, caller: CallerDep) -> Response:
    return JSONBody(await run_read(request, lambda conn: service.get_record(conn, caller, KIND, code)))


@router.patch("/{code}", response_model=SitePublic, summary="修改管理对象（只改提交的字段）", responses=WRITE_ERRORS)
def update_site(
    code: str,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[
        SiteUpdate,
        Body(
            openapi_examples={
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
        ),
    ],
) -> Response:
    status, payload = service.update(session, caller, KIND, code, body)
    return JSONBody(payload, status_code=status)


@router.put(
    "/by-external-id/{external_id}",
    response_model=SitePublic,
    summary="按县区系统编号登记或更新管理对象（新建 201，更新 200）",
    responses={201: {"description": "新登记", "model": SitePublic}, **WRITE_ERRORS},
)
def upsert_site(
    external_id: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[SiteCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.upsert(
        session, settings, caller, KIND, external_id, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


@router.post(
    "/{code}/decommission",
    response_model=SitePublic,
    summary="注销管理对象（重复注销无副作用）",
    responses=WRITE_ERRORS,
)
def decommission_site(
    code: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[
        DecommissionRequest | None,
        Body(openapi_examples={"scrapped": {"summary": "报废", "value": {"reason": "管理对象报废"}}}),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.decommission(
        session, caller, KIND, code, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


@router.get("/{code}/history", response_model=HistoryPage, summary="管理对象变更记录", responses=READ_ERRORS)
def site_history(
    code: str,
    caller: CallerDep,
    session: ReadSessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return JSONBody(service.history(session, caller, KIND, code, cursor=cursor, limit=limit))
