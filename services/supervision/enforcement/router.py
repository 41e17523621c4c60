"""``/enforcement``: records of the departments with enforcement powers, and the quarterly summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.common.auth import Caller, CallerDep
from services.common.db import ReadSessionDep, SessionDep, session_scope
from services.common.responses import JSONBody
from services.supervision.deps import Cursor, Limit, forward, routes
from services.supervision.enforcement import service
from services.supervision.enforcement.schemas import (
    ENFORCEMENT_EXAMPLE,
    EnforcementIn,
    EnforcementPage,
    EnforcementPublic,
    EnforcementSummary,
)
from services.supervision.photo_routes import PhotoIdPath, PhotoPlace, put_photo_route, store_photo
from services.supervision.vocab import Department

router, api = routes(prefix="/enforcement", tags=["enforcement"])
Quarter = Annotated[str, Query(pattern=r"^\d{4}[Qq][1-4]$", description="季度", examples=["2026Q4"])]
Body_ = Annotated[EnforcementIn, Body(openapi_examples={"fine": {"summary": "罚款", "value": ENFORCEMENT_EXAMPLE}})]


forward(api.get("/summary", "各执法部门季度执法数量与罚款金额", EnforcementSummary), service.summary, quarter=Quarter)


@api.get("", "执法记录列表（成员单位只看本单位录入的）", EnforcementPage)
def list_records(
    caller: CallerDep,
    session: ReadSessionDep,
    department: Annotated[Department | None, Query(description="执法部门")] = None,
    quarter: Annotated[str | None, Query(pattern=r"^\d{4}[Qq][1-4]$", description="季度")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    return JSONBody(service.list_records(session, caller, department, quarter, cursor, limit))


@api.post("", "录入执法记录", EnforcementPublic, status_code=201)
def create(caller: CallerDep, session: SessionDep, body: Body_) -> Response:
    return JSONBody(service.create(session, caller, body), status_code=201)


@api.get("/{record_id}", "查看执法记录", EnforcementPublic)
def get_one(record_id: int, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.public(session, service.visible(session, caller, record_id)))


@api.put("/{record_id}", "修改执法记录", EnforcementPublic)
def change(record_id: int, caller: CallerDep, session: SessionDep, body: Body_) -> Response:
    return JSONBody(service.change(session, caller, record_id, body))


@api.delete("/{record_id}", "删除执法记录", status_code=204)
def delete(record_id: int, caller: CallerDep, session: SessionDep) -> Response:
    service.delete(session, caller, record_id)
    return Response(status_code=204)


def _owner(request: Request, caller: Caller, record_id: int) -> None:
    with session_scope(request.app.state.read_engine) as session:
        service.visible(session, caller, record_id)


@put_photo_route(
    router, "/{record_id}/photos/{photo_id}", "上传执法照片（请求体为图片本身；相同内容重发 200，不同内容 409）"
)
async def put_photo(
    record_id: int, photo_id: PhotoIdPath, request: Request, caller: CallerDep, place: PhotoPlace
) -> Response:
    service._writer(caller)
    await run_in_threadpool(_owner, request, caller, record_id)
    return await store_photo(request, caller, service.OWNER, record_id, photo_id, place)
