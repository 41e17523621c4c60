"""``/facilities``: the county-facing facility registry (分类设施)."""

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
    FACILITY_EXAMPLE,
    DecommissionRequest,
    FacilityCreate,
    FacilityPage,
    FacilityPublic,
    FacilityUpdate,
    HistoryPage,
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


@router.post(
    "",
    status_code=201,
    response_model=FacilityPublic,
    summary="登记设施（分配统一编号）",
    responses=WRITE_ERRORS,
)
def register_facility(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[FacilityCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.register(
        session, settings, caller, KIND, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


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


@router.get("/{code}", response_model=FacilityPublic, summary="查看设施", responses=READ_ERRORS)
async def get_facility(code: str, request: Request, caller: CallerDep) -> Response:
    return JSONBody(await run_read(request, lambda conn: service.get_record(conn, caller, KIND, code)))


@router.patch("/{code}", response_model=FacilityPublic, summary="修改设施（只改提交的字段）", responses=WRITE_ERRORS)
def update_facility(
    code: str,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[
        FacilityUpdate,
        Body(openapi_examples={"rename": {"summary": "改名称", "value": {"name": "公园街道有害垃圾暂存点（改造）"}}}),
    ],
) -> Response:
    status, payload = service.update(session, caller, KIND, code, body)
    return JSONBody(payload, status_code=status)


@router.put(
    "/by-external-id/{external_id}",
    response_model=FacilityPublic,
    summary="按县区系统编号登记或更新设施（新建 201，更新 200）",
    responses={201: {"description": "新登记", "model": FacilityPublic}, **WRITE_ERRORS},
)
def upsert_facility(
    external_id: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[FacilityCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.upsert(
        session, settings, caller, KIND, external_id, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


@router.post(
    "/{code}/decommission",
    response_model=FacilityPublic,
    summary="注销设施（重复注销无副作用）",
    responses=WRITE_ERRORS,
)
def decommission_facility(
    code: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[
        DecommissionRequest | None,
        Body(openapi_examples={"scrapped": {"summary": "报废", "value": {"reason": "设施报废"}}}),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.decommission(
        session, caller, KIND, code, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


@router.get("/{code}/history", response_model=HistoryPage, summary="设施变更记录", responses=READ_ERRORS)
def facility_history(
    code: str,
    caller: CallerDep,
    session: ReadSessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return JSONBody(service.history(session, caller, KIND, code, cursor=cursor, limit=limit))
