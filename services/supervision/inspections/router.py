"""``/inspections`` (the tablet's idempotent PUTs, submission) and ``/photos/{id}`` downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path, Query, Request
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.common.auth import Caller, CallerDep
from services.common.db import ReadSessionDep, SessionDep, run_read, session_scope
from services.common.responses import JSONBody
from services.supervision import photo_repository as photo_repo
from services.supervision import photos as photo_store
from services.supervision import scope
from services.supervision.deps import (
    Cursor,
    LazyCalendar,
    Limit,
    SettingsDep,
    routes,
    storage_of,
)
from services.supervision.errors import conflict, not_found
from services.supervision.inspections import service
from services.supervision.inspections.schemas import (
    INSPECTION_EXAMPLE,
    InspectionIn,
    InspectionPage,
    InspectionPublic,
)
from services.supervision.photo_routes import PhotoPlace, put_photo_route, store_photo

router, api = routes(tags=["inspections"])
ClientId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="平板生成的检查编号（如 UUID）")]
PhotoId = Annotated[str, Path(pattern=photo_store.PHOTO_ID_PATTERN, description="平板生成的照片编号")]


@api.get("/inspections", "检查列表（督导员只看本组）", InspectionPage)
def list_inspections(
    caller: CallerDep,
    session: ReadSessionDep,
    plan: Annotated[int | None, Query(description="督导计划")] = None,
    state: Annotated[str | None, Query(pattern="^(draft|submitted)$")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    return JSONBody(service.list_inspections(session, caller, plan, state, cursor, limit))


@api.put(
    "/inspections/{client_id}",
    "上传检查（首次 201；相同内容重发 200；同一编号不同内容 409）",
    InspectionPublic,
    created="首次收到",
)
def put_inspection(
    client_id: ClientId,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[
        InspectionIn, Body(openapi_examples={"tablet": {"summary": "平板提交", "value": INSPECTION_EXAMPLE}})
    ],
) -> Response:
    status, payload = service.put(session, caller, client_id, body)
    return JSONBody(payload, status_code=status)


@api.get("/inspections/{client_id}", "查看检查", InspectionPublic)
def get_inspection(client_id: ClientId, caller: CallerDep, session: ReadSessionDep) -> Response:
    row, _ = service.visible(session, caller, client_id)
    return JSONBody(service.public(session, row))


def _photo_owner(db: Connection, caller: Caller, client_id: str, photo_id: str) -> int:
    """The inspection's row id — 404/409 before any bytes (a new photo on a submitted inspection).

    One narrow query (id, state, the plan's team) rather than the whole row and its plan: this
    runs before every photo's body is read."""
    scope.require_inspector(caller)
    row = service.photo_owner(db, client_id)
    if row is None or not scope.sees_team(caller, row["team_code"]):
        raise not_found("检查", client_id)
    if row["state"] == "submitted" and photo_repo.photo(db, service.OWNER, row["id"], photo_id) is None:
        raise conflict("检查已提交，不能再添加照片；如需更正请提交新版本", code="inspection_submitted")
    return int(row["id"])


@put_photo_route(
    router,
    "/inspections/{client_id}/photos/{photo_id}",
    "上传检查照片（请求体为图片本身；首次 201，相同内容重发 200，不同内容 409）",
)
async def put_photo(
    client_id: ClientId, photo_id: PhotoId, request: Request, caller: CallerDep, place: PhotoPlace
) -> Response:
    owner_id = await run_read(request, lambda db: _photo_owner(db, caller, client_id, photo_id))
    # Answered without waiting for the disk: the tablet keeps every photo until the submit has answered,
    # and the submit is the barrier (``service.secure_photos``); each photo's sync starts as it is
    # stored and runs while the next one arrives.
    return await store_photo(request, caller, service.OWNER, owner_id, photo_id, place, sync=False)


@api.post(
    "/inspections/{client_id}/submit",
    "提交检查（有照片未上传时 409；提交后不合格项生成问题和整改通知）",
    InspectionPublic,
)
def submit(
    client_id: ClientId, request: Request, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    photos_on_disk = service.secure_photos(request.app.state.engine, storage_of(request.app.state), caller, client_id)
    submitted = service.submit(session, settings, LazyCalendar(request.app.state), caller, client_id)
    photos_on_disk()  # before the session commits (after this returns): no submit of photos a crash can lose
    return JSONBody(submitted)


def _photo_row(request: Request, caller: Caller, photo_row_id: int) -> dict[str, object]:
    with session_scope(request.app.state.read_engine) as session:
        row = photo_store.visible_photo(session, caller, photo_row_id)
    if row is None:
        raise not_found("照片", photo_row_id)
    return row


@api.get("/photos/{photo_row_id}", "下载照片", response_class=Response)
async def get_photo(photo_row_id: int, request: Request, caller: CallerDep) -> Response:
    from services.common.downloads import file_response

    row = await run_in_threadpool(_photo_row, request, caller, photo_row_id)
    name = f"照片-{row['photo_id']}.jpg" if row["content_type"] == "image/jpeg" else f"照片-{row['photo_id']}"
    return file_response(
        request, storage_of(request.app.state), str(row["key"]), filename=name, content_type=str(row["content_type"])
    )


@api.get("/photos/{photo_row_id}/thumbnail", "照片缩略图", response_class=Response)
async def get_thumbnail(photo_row_id: int, request: Request, caller: CallerDep) -> Response:
    from services.common.downloads import file_response

    row = await run_in_threadpool(_photo_row, request, caller, photo_row_id)
    if not row["thumb_key"]:
        raise not_found("缩略图", photo_row_id)
    return file_response(
        request, storage_of(request.app.state), str(row["thumb_key"]), filename="缩略图.jpg", content_type="image/jpeg"
    )
