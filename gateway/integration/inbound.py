"""Inbound from the OA: documents (a regulation issued, a notice from the province) posted with an
office API key, idempotent by the OA's document id, into a queue where the office attaches one as
evidence to an assessment task (``POST /tasks/{id}/submissions`` of the assessment service); and
read receipts of the to-dos the OA shows."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import date, datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from gateway import repository
from gateway.deps import AdminViewer, ApiCaller, request_id
from gateway.integration import identity_repository, inbound_repository
from gateway.integration.models import InboundDocument, ReadReceipt, fields_of
from gateway.render import render
from gateway.security import Principal
from services.common import clock
from services.common.config import data_dir
from services.common.db import ReadSessionDep, SessionDep, session_scope
from services.common.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from services.common.storage import FileStorage, make_storage

api = APIRouter(prefix="/api/v1/integration", tags=["integration"])
pages = APIRouter(prefix="/integration", include_in_schema=False)


MAX_SIZE = 50 * 1024 * 1024


def routers() -> list[APIRouter]:
    return [api, pages]


def storage_of(request: Request) -> FileStorage:
    storage: FileStorage | None = getattr(request.app.state, "integration_storage", None)
    if storage is None:
        url = request.app.state.integration_settings.storage_url or str(data_dir() / "gateway-files")
        storage = make_storage(url, max_size=MAX_SIZE)
        request.app.state.integration_storage = storage
    return storage


def _require_office(principal: Principal) -> None:
    if principal.role not in {"office", "admin"} or (principal.kind == "key" and principal.role != "office"):
        raise Forbidden("只有分类办（全市）API 密钥或管理员可以推送公文")


def _text(form: Any, name: str, label: str, *, required: bool, max_len: int) -> str:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise InvalidInput.field(name, f"请填写{label}")
    if len(value) > max_len:
        raise InvalidInput.field(name, f"{label}最多 {max_len} 个字符")
    return value


def public(doc: InboundDocument) -> dict[str, Any]:
    names = "id doc_id title issuer doc_number sha256 size content_type original_name state task_id"
    return {**fields_of(doc, names), "received_at": clock.as_utc(doc.received_at).isoformat()}


@api.post(
    "/inbound-documents", status_code=201, summary="OA 推送公文（multipart：doc_id、title、file；按 doc_id 幂等）"
)
async def receive_document(request: Request, principal: ApiCaller) -> Response:
    _require_office(principal)
    form = await request.form(max_files=1, max_fields=20)
    doc_id = _text(form, "doc_id", "公文编号 doc_id", required=True, max_len=128)
    title = _text(form, "title", "标题", required=True, max_len=300)
    issuer = _text(form, "issuer", "发文机关", required=False, max_len=200)
    number = _text(form, "doc_number", "文号", required=False, max_len=100)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput.field("file", "请上传公文文件（字段名 file）")
    storage = storage_of(request)

    def store() -> tuple[InboundDocument, bool]:
        digest = hashlib.sha256()
        with tempfile.TemporaryFile() as tmp:
            size = 0
            while chunk := upload.file.read(1 << 20):
                size += len(chunk)
                if size > MAX_SIZE:
                    raise InvalidInput.field("file", "文件大小超过上限 50 MB")
                digest.update(chunk)
                tmp.write(chunk)
            if size == 0:
                raise InvalidInput.field("file", "文件为空")
            sha = digest.hexdigest()
            with session_scope(request.app.state.engine) as db:
                existing = inbound_repository.document_by_doc_id(db, doc_id)
                if existing is not None:
                    if existing.sha256 != sha or existing.title != title:
                        raise Conflict(f"公文编号 {doc_id} 已收到过内容不同的公文", details=[])
                    return existing, False
                tmp.seek(0)
                stored = storage.put(
                    tmp, original_name=upload.filename or f"{doc_id}", content_type=upload.content_type
                )
                doc = InboundDocument(
                    doc_id=doc_id,
                    title=title,
                    issuer=issuer,
                    doc_number=number,
                    storage_key=stored.key,
                    sha256=stored.sha256,
                    size=stored.size,
                    content_type=stored.content_type,
                    original_name=stored.original_name,
                    received_by=(principal.username or principal.name)[:64],
                    received_at=clock.now(),
                )
                db.add(doc)
                db.flush()
                return doc, True

    doc, created = await run_in_threadpool(store)
    return JSONResponse(public(doc), status_code=201 if created else 200)


class ReceiptIn(BaseModel):
    flowid: str = Field(max_length=128, description="待办的 flowid（即事件的对象，如 assessment:12）")
    oa_login: str = Field(max_length=128)
    read_at: datetime | None = None


@api.post("/read-receipts", status_code=201, summary="OA 回执：某用户已阅读某条待办")
def read_receipt(body: ReceiptIn, principal: ApiCaller, db: SessionDep) -> dict[str, Any]:
    _require_office(principal)
    link = identity_repository.identity_of(db, "oa", body.oa_login)
    row = inbound_repository.receipt_of(db, body.flowid, body.oa_login)
    if row is None:
        row = ReadReceipt(
            subject=body.flowid,
            oa_login=body.oa_login,
            user_id=link.user_id if link else None,
            read_at=clock.as_utc(body.read_at) if body.read_at else clock.now(),
        )
        db.add(row)
        db.flush()
    return {"flowid": row.subject, "oa_login": row.oa_login, "user_id": row.user_id, "read_at": row.read_at.isoformat()}


def receipt_events(engine: Any, service: str, subject: str) -> list[dict[str, Any]]:
    """The OA's read receipts of one to-do (flowid ``service:subject``, as the weaver adapter sends it)
    as entries of a history: who read it (our user's name when the OA login is linked) and when."""
    with Session(engine) as db:
        receipts = inbound_repository.receipts_of(db, f"{service}:{subject}"[:100])
        users = {u.id: u for u in repository.users_by_ids(db, [r.user_id for r in receipts])}
    out = []
    for r in receipts:
        user = users.get(r.user_id) if r.user_id is not None else None
        who = (user.display_name or user.username) if user else r.oa_login
        out.append({"at": clock.as_utc(r.read_at).isoformat(), "action": "oa_read", "label": "OA 已阅", "actor": who,
                    "reason": "", "to_state": ""})  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# The queue page


def _queue(request: Request, db: Session, **extra: Any) -> Response:
    docs = inbound_repository.latest_documents(db, 200)
    receipts = inbound_repository.latest_receipts(db, 50)
    context: dict[str, Any] = {"docs": docs, "receipts": receipts, "errors": {}, "today": clock.today().isoformat()}
    context.update(extra)
    return render(request, "integration/inbound.html", context, block="panel")


@pages.get("/inbound")
def inbound_page(request: Request, _viewer: AdminViewer, db: ReadSessionDep) -> Response:
    return _queue(request, db)


# What the attach form posts.
class AttachForm(BaseModel):
    task_id: str = Field(default="", max_length=20)
    effective_date: str = Field(default="", max_length=10)
    note: str = Field(default="", max_length=500)


AttachPosted = Annotated[AttachForm, Form()]


async def attach_to_task(
    request: Request, principal: Principal, doc: InboundDocument, task_id: int, effective: date, note: str
) -> Any:
    """Submit the stored document to the assessment service as the task's evidence, as the user."""
    storage = storage_of(request)
    content = await run_in_threadpool(storage.open, doc.storage_key)
    built = httpx.Request(
        "POST",
        "http://assessment/",
        files={"files": (doc.original_name or f"{doc.doc_id}", content, doc.content_type)},
        data={"effective_date": effective.isoformat(), "note": note or f"OA 公文：{doc.title}"},
    )
    client = request.app.state.clients.by_name["assessment"]
    try:
        return await client.call(
            "POST",
            f"/tasks/{task_id}/submissions",
            caller=principal.caller(request_id(request)),
            content=built.read(),
            headers={"content-type": built.headers["content-type"], "accept": "application/json"},
        )
    except (NotFound, ServiceUnavailable):
        raise
    except AppError as exc:  # the service's reason, shown beside the task field
        raise InvalidInput.field("task_id", exc.message) from exc


@pages.post("/inbound/{doc_pk}/attach")
async def attach_page(request: Request, doc_pk: int, principal: AdminViewer, form: AttachPosted) -> Response:
    task_id, effective_date = form.task_id, form.effective_date
    engine = request.app.state.engine
    with Session(engine) as db:
        doc = inbound_repository.document_by_id(db, doc_pk)
    if doc is None:
        raise NotFound("公文不存在")
    errors: dict[str, str] = {}
    try:
        if not task_id.strip().isdigit():
            raise InvalidInput.field("task_id", "请填写考核任务编号（数字）")
        try:
            effective = date.fromisoformat(effective_date) if effective_date else clock.today()
        except ValueError as exc:
            raise InvalidInput.field("effective_date", "日期格式应为 2026-12-01") from exc
        await attach_to_task(request, principal, doc, int(task_id), effective, form.note)
    except AppError as exc:
        errors = {f"{doc_pk}": (exc.details[0].message if exc.details else exc.message)}
    if not errors:
        with session_scope(engine) as db:
            row = inbound_repository.document_by_id(db, doc_pk)
            assert row is not None
            row.state, row.task_id = "attached", task_id.strip()
            row.attached_by, row.attached_at = (principal.username or principal.name)[:64], clock.now()
            db.add(row)
    with Session(engine) as db:
        toast = None if errors else (f"已作为任务 {task_id} 的材料提交", "success")
        return _queue(request, db, errors=errors, toast=toast)


@pages.post("/inbound/{doc_pk}/dismiss")
def dismiss_page(request: Request, doc_pk: int, _viewer: AdminViewer, db: SessionDep) -> Response:
    doc = inbound_repository.document_by_id(db, doc_pk)
    if doc is None:
        raise NotFound("公文不存在")
    doc.state = "dismissed"
    db.add(doc)
    db.flush()
    return _queue(request, db, toast=("已从待处理队列移除", "success"))
