"""``/enforcement``: records of the departments with enforcement powers, and the quarterly summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.common.auth import Caller, CallerDep
from services.common.db import ReadSessionDep, SessionDep, session_scope
from services.common.responses import JSONBody
from services.supervision import photos as photo_store
from services.supervision.deps import READ_ERRORS, WRITE_ERRORS, SettingsDep
from services.supervision.enforcement import service
from services.supervision.enforcement.schemas import (
    ENFORCEMENT_EXAMPLE,
    EnforcementIn,
    EnforcementPage,
    EnforcementPublic,
    EnforcementSummary,
)
from services.supervision.inspections.schemas import PhotoPublic
from services.supervision.jobs import enqueue_thumbnail
from services.supervision.vocab import Department

router = APIRouter(prefix="/enforcement", tags=["enforcement"])
Quarter = Annotated[str, Query(pattern=r"^\d{4}[Qq][1-4]$", description="季度", examples=["2026Q4"])]
Body_ = Annotated[EnforcementIn, Body(openapi_examples={"fine": {"summary": "罚款", "value": ENFORCEMENT_EXAMPLE}})]


@router.get(
    "/summary", response_model=EnforcementSummary, summary="各执法部门季度执法数量与罚款金额", responses=READ_ERRORS
)
def summary(quarter: Quarter, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.summary(session, caller, quarter))


@router.get(
    "", response_model=EnforcementPage, summary="执法记录列表（成员单位只看本单位录入的）", responses=READ_ERRORS
)
def list_records(
    caller: CallerDep,
    session: ReadSessionDep,
    department: Annotated[Department | None, Query(description="执法部门")] = None,
    quarter: Annotated[str | None, Query(pattern=r"^\d{4}[Qq][1-4]$", description="季度")] = None,
    cursor: Annotated[str | None, Query(description="上一页返回的 next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return JSONBody(service.list_records(session, caller, department, quarter, cursor, limit))


@router.post("", status_code=201, response_model=EnforcementPublic, summary="录入执法记录", responses=WRITE_ERRORS)
def create(caller: CallerDep, session: SessionDep, body: Body_) -> Response:
    return JSONBody(service.create(session, caller, body), status_code=201)


@router.get("/{record_id}", response_model=EnforcementPublic, summary="查看执法记录", responses=READ_ERRORS)
def get_one(record_id: int, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.public(session, service.visible(session, caller, record_id)))


@router.put("/{record_id}", response_model=EnforcementPublic, summary="修改执法记录", responses=WRITE_ERRORS)
def change(record_id: int, caller: CallerDep, session: SessionDep, body: Body_) -> Response:
    return JSONBody(service.change(session, caller, record_id, body))


@router.delete("/{record_id}", status_code=204, summary="删除执法记录", responses=WRITE_ERRORS)
def delete(record_id: int, caller: CallerDep, session: SessionDep) -> Response:
    service.delete(session, caller, record_id)
    return Response(status_code=204)


def _owner(request: Request, caller: Caller, record_id: int) -> None:
    with session_scope(request.app.state.read_engine) as session:
        service.visible(session, caller, record_id)


@router.put(
    "/{record_id}/photos/{photo_id}",
    response_model=PhotoPublic,
    summary="上传执法照片（请求体为图片本身；相同内容重发 200，不同内容 409）",
    responses={201: {"model": PhotoPublic, "description": "首次收到"}, **WRITE_ERRORS},
    openapi_extra={
        "requestBody": {"required": True, "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def put_photo(
    record_id: int,
    photo_id: Annotated[str, Path(pattern=photo_store.PHOTO_ID_PATTERN)],
    request: Request,
    caller: CallerDep,
    settings: SettingsDep,
    latitude: Annotated[float | None, Query(ge=-90, le=90)] = None,
    longitude: Annotated[float | None, Query(ge=-180, le=180)] = None,
    accuracy_m: Annotated[float | None, Query(ge=0)] = None,
    taken_at: Annotated[datetime | None, Query()] = None,
) -> Response:
    service._writer(caller)
    await run_in_threadpool(_owner, request, caller, record_id)
    position = photo_store.position_of(latitude, longitude, accuracy_m, taken_at)
    state = request.app.state
    status, row = await photo_store.store_photo(
        request,
        settings.max_photo_size,
        owner_kind=service.OWNER,
        owner_id=record_id,
        photo_id=photo_id,
        caller=caller,
        position=position,
        on_insert=lambda session, row_id: enqueue_thumbnail(session, state, row_id),
    )
    return JSONBody(photo_store.photo_public(row), status_code=status)
