"""Tasks: 我的任务 for a member unit or county (due soonest first), the office's filtered task list
(the board's click-through), the task page with its upload, revisions and history, and the
evidence files passed through from the service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from gateway.assessment_pages.common import (
    OFFICE_ROLES,
    RESPONDER_ROLES,
    TASK_ROLES,
    TASK_STATE_LABELS,
    all_items,
    call,
    forward_multipart,
    open_stream,
    require,
    seg,
    url,
)
from gateway.assessment_pages.views import current_quarter, quarter_view, task_detail, task_row
from gateway.deps import PageUser, check_csrf, session_principal
from gateway.integration.inbound import receipt_events
from gateway.render import SECURITY_HEADERS, render
from gateway.scope_names import unit_names
from gateway.security import Principal
from services.common import clock
from services.common.errors import AppError, InvalidInput, Unauthorized

router = APIRouter()

MAX_LIST = 2000


async def quarters(request: Request, user: Principal) -> list[dict[str, Any]]:
    data = await call(request, user, "GET", "/quarters")
    items = data.get("items", []) if isinstance(data, dict) else data
    return [quarter_view(q) for q in items]


def sort_for_unit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Due soonest first; approved ones last (nothing left to do)."""
    return sorted(rows, key=lambda r: (r["state"] == "approved", str(r["due_date"]), r["id"] or 0))


@router.get("/assessment/tasks")
async def task_list(request: Request, user: PageUser) -> Response:
    require(user, TASK_ROLES)
    params = request.query_params
    qs = await quarters(request, user)
    quarter = current_quarter(qs, params.get("quarter"))
    responder = user.role in RESPONDER_ROLES
    state = params.get("state", "")
    state = state if state in TASK_STATE_LABELS else ""
    unit = "" if responder else params.get("unit", "").strip()[:16]
    category = params.get("category", "").strip()[:64]
    overdue = params.get("overdue") == "1"
    rows: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    if quarter:
        query = {
            "quarter": quarter,
            "unit": unit,
            "state": state,
            "category": category,
            "overdue": "true" if overdue else None,
        }
        tasks, names = await asyncio.gather(
            all_items(request, user, "/tasks", query, cap=MAX_LIST), unit_names(request, user)
        )
        rows = sort_for_unit([task_row(t, names) for t in tasks])
    counts = {
        "open": sum(1 for r in rows if r["state"] in ("pending", "returned")),
        "overdue": sum(1 for r in rows if r["overdue"]),
        "returned": sum(1 for r in rows if r["state"] == "returned"),
    }
    context = {
        "title": "我的任务" if responder else "考核任务",
        "responder": responder,
        "quarters": qs,
        "quarter": quarter,
        "rows": rows,
        "counts": counts,
        "filters": {"state": state, "unit": unit, "category": category, "overdue": overdue},
        "state_labels": TASK_STATE_LABELS,
        "units": sorted(names.items(), key=lambda kv: kv[0]),
        "categories": sorted({r["category"] for r in rows if r["category"]}),
        "clear_url": url("/assessment/tasks", {"quarter": quarter}),
    }
    return render(request, "assessment/tasks.html", context, block="task_table")


async def _task(request: Request, user: Principal, task_id: int) -> dict[str, Any]:
    task, names, receipts = await asyncio.gather(
        call(request, user, "GET", f"/tasks/{task_id}"),
        unit_names(request, user),
        run_in_threadpool(receipt_events, request.app.state.engine, "assessment", str(task_id)),
    )
    detail = task_detail(task, names)
    if receipts:  # the OA's read receipts of this to-do join the history, newest first
        detail["events"] = sorted([*detail["events"], *receipts], key=lambda e: _instant(e["at"]), reverse=True)
    return detail


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return clock.as_utc(value)
    try:
        return clock.as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _task_context(user: Principal, task: dict[str, Any]) -> dict[str, Any]:
    locked = task.get("quarter_state") == "locked"
    return {
        "task": task,
        "can_submit": user.role in RESPONDER_ROLES and task["state"] != "approved" and not locked,
        "can_review": user.role in OFFICE_ROLES and task["state"] == "submitted" and not locked,
        "can_reopen": user.role in OFFICE_ROLES and task["state"] == "approved" and not locked,
    }


@router.get("/assessment/tasks/{task_id:int}")
async def task_page(request: Request, task_id: int, user: PageUser) -> Response:
    require(user, TASK_ROLES)
    task = await _task(request, user, task_id)
    return render(request, "assessment/task.html", _task_context(user, task), block="task_body")


@router.post("/assessment/tasks/{task_id:int}/submissions")
async def submit(request: Request, task_id: int) -> Response:
    """The upload of the task page (XHR with the CSRF header): the multipart body goes on to the
    service as it streams in; the answer is the refreshed revisions block, or the error in Chinese."""
    user = await session_principal(request)
    if user is None:
        raise Unauthorized("登录已过期，请重新登录")
    await check_csrf(request, user, allow_form=False)
    require(user, RESPONDER_ROLES)
    try:
        await forward_multipart(request, user, f"/tasks/{task_id}/submissions")
    except AppError as exc:
        if exc.status_code >= 500 or exc.status_code in (401, 404):
            raise
        return render(
            request,
            "assessment/task.html",
            {"upload_error": exc.message, "upload_details": exc.details},
            block="upload_error",
            status_code=exc.status_code,
        )
    task = await _task(request, user, task_id)
    return render(request, "assessment/task.html", _task_context(user, task), block="task_body")


@router.post("/assessment/tasks/{task_id:int}/reopen")
async def reopen(request: Request, task_id: int, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    form = await request.form()
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise InvalidInput.field("reason", "重新打开必须填写原因")
    await call(request, user, "POST", f"/tasks/{task_id}/review", json={"decision": "reopen", "reason": reason})
    task = await _task(request, user, task_id)
    return render(request, "assessment/task.html", _task_context(user, task), block="task_body")


@router.get("/assessment/files/{file_id}")
async def file(request: Request, file_id: str, user: PageUser, download: int = 0) -> Response:
    """An evidence file shown in the page (PDF, images) or downloaded; the service checks scope
    (another unit's file is a 404)."""
    require(user, TASK_ROLES)
    upstream = await open_stream(request, user, f"/files/{seg(file_id)}")
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "X-Frame-Options"}
    headers["X-Frame-Options"] = "SAMEORIGIN"  # the review page shows PDFs in an iframe
    media_type = upstream.headers.get("content-type", "application/octet-stream")
    if media_type != "application/pdf":  # Chromium's PDF viewer does not run in a sandboxed frame
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    for name in ("content-length", "etag", "last-modified"):
        if name in upstream.headers:
            headers[name] = upstream.headers[name]
    disposition = upstream.headers.get("content-disposition", "")
    if disposition:
        kind = "attachment" if download else "inline"
        headers["content-disposition"] = kind + disposition[disposition.find(";") :] if ";" in disposition else kind
    elif download:
        headers["content-disposition"] = "attachment"
    return StreamingResponse(
        upstream.aiter_raw(),
        media_type=media_type,
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )
