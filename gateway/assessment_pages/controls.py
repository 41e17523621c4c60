"""The office's controls on the assessment pages: due dates per item and per task (the service's
warning when a date is not a working day), the office's judgement of points lost on an item (from
the forecast), the leaders' qualitative ratings (from the ranking), catalogue editing (a draft from
a published version, an item of a draft, unit aliases: ``catalogue_controls``), the quarter's archive (start, progress,
download streamed through the gateway) and the auto-evidence of a metric item.

Every call goes through the assessment client bound to the signed-in caller (``ServicesDep``); the
service decides roles, states and values again. Forms post with the CSRF token; htmx swaps the
control's own fragment (errors in Chinese beside the field), a plain post gets a 303 or the page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.assessment_pages.common import (
    ITEM_FIELD_LABELS,
    OFFICE_ROLES,
    SCORE_ROLES,
    fmt_points,
    require,
    seg,
)
from gateway.deps import PageUser, ServicesDep
from gateway.proxy import streamed
from gateway.render import SECURITY_HEADERS, is_htmx, redirect, render
from gateway.security import Principal
from gateway.services import Services
from services.common.errors import AppError, ErrorDetail, InvalidInput

router = APIRouter()

# Who may rate units (成员单位考核的定性部分): the office and the leaders, as the service allows.
RATING_ROLES = SCORE_ROLES
TEMPLATES = "assessment/controls/"
# Which errors a form shows in place; anything else (401, 403, 5xx) is the error page.
FORM_STATUSES = (404, 409, 413, 415, 422)
FIELD_LABELS = {
    "due_date": "截止日期",
    "lost_points": "认定失分",
    "note": "说明",
    "item_code": "评估项目",
    "score": "定性评分",
    "comment": "评语",
    "alias": "别名",
    "unit_code": "成员单位",
    "code": "序号",
    "name": "评估项目名称",
    **ITEM_FIELD_LABELS,
}
# The catalogue checks name a row and a column (``第1行 item``); the form's field for each column.
COLUMN_FIELDS = {"item": "name", "units": "lead_unit", "source": "data_source"}


def form_errors(exc: AppError) -> dict[str, str]:
    """An error answer as field -> Chinese sentence; the message without a field under ``""``."""
    out: dict[str, str] = {}
    for d in exc.details or []:
        name = re.sub(r"^第\d+行\s*", "", str(getattr(d, "field", "") or ""))
        name = name.removeprefix("body.").split(".")[0]
        name = COLUMN_FIELDS.get(name, name)
        out.setdefault(name if name in FIELD_LABELS else "", str(getattr(d, "message", "") or exc.message))
    if not out:
        out[""] = exc.message
    return out


async def refused(call: Awaitable[Any]) -> AppError | None:
    """An office action's call: ``None`` once done, or the refusal its control shows in place
    (``FORM_STATUSES``); any other error goes on to the error page."""
    try:
        await call
    except AppError as exc:
        if exc.status_code not in FORM_STATUSES:
            raise
        return exc
    return None


def form_data(form: Any) -> dict[str, str]:
    return {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}


def show(
    request: Request,
    partial: str,
    context: dict[str, Any],
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
    *,
    title: str,
    back: str = "",
) -> Response:
    """A control's fragment for htmx (always 200, so htmx swaps the errors in), else the fragment
    on a page of its own (with the error's status). ``extra`` (what was posted and its errors, a
    message) goes over the control's ``context``; ``form`` and ``errors`` are empty by default."""
    context = {"form": {}, "errors": {}, **context, **(extra or {})}
    if is_htmx(request):
        return render(request, TEMPLATES + partial, context)
    page = {**context, "inner": TEMPLATES + partial, "page_title": title, "back": back}
    return render(request, TEMPLATES + "page.html", page, status_code=status_code)


async def quarter_items(services: Services, quarter_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The quarter and the items of the catalogue version it opened with."""
    quarter = await services.assessment.call("GET", f"/quarters/{seg(quarter_id)}")
    cat = await services.assessment.call("GET", f"/catalogues/{int(quarter['catalogue_id'])}")
    return quarter, list(cat.get("items", []))


# --- due dates per item of a quarter ----------------------------------------------------------------


def due_rows(quarter: dict[str, Any], items: list[dict[str, Any]], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per item: the due date set for it, else the quarter's default (a task's own date,
    set on the task page, is not shown here)."""
    dues = {str(i["item_code"]): i.get("due_date") for i in settings.get("items", []) if i.get("due_date")}
    default = str(quarter.get("default_due") or "")
    return [
        {
            "code": str(item.get("code")),
            "name": item.get("name", ""),
            "category": item.get("category", ""),
            "due": str(dues.get(str(item.get("code")), default) or "")[:10],
            "own": str(item.get("code")) in dues,
        }
        for item in items
    ]


async def due_context(services: Services, quarter_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (quarter, items), settings = await asyncio.gather(
        quarter_items(services, quarter_id), services.assessment.call("GET", f"/quarters/{seg(quarter_id)}/items")
    )
    return quarter, due_rows(quarter, items, settings)


def row_id(code: str) -> str:
    return "due-" + re.sub(r"[^0-9A-Za-z_-]", "-", code)


@router.get("/assessment/quarters/{quarter_id}/due")
async def due_page(request: Request, quarter_id: str, user: PageUser, services: ServicesDep) -> Response:
    require(user, OFFICE_ROLES)
    quarter, rows = await due_context(services, quarter_id)
    context = {"quarter": quarter, "rows": rows, "row_id": row_id}
    return render(request, TEMPLATES + "due.html", context)


@router.post("/assessment/quarters/{quarter_id}/items/{item_code}/due")
async def set_item_due(
    request: Request, quarter_id: str, item_code: str, user: PageUser, services: ServicesDep
) -> Response:
    """``PUT /quarters/{id}/items/{code}/due``: every open task of the item moves; the answer's
    ``due_warning`` (not a working day) is shown on the row."""
    require(user, OFFICE_ROLES)
    form = form_data(await request.form())
    path = f"/quarters/{seg(quarter_id)}/items/{seg(item_code)}/due"
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    try:
        result = await services.assessment.call("PUT", path, json={"due_date": form.get("due_date", "")})
    except AppError as exc:
        if exc.status_code not in FORM_STATUSES:
            raise
        errors = form_errors(exc)
    if not is_htmx(request) and not errors:
        return redirect(request, f"/assessment/quarters/{seg(quarter_id)}/due")
    quarter, rows = await due_context(services, quarter_id)
    row = next((r for r in rows if r["code"] == item_code), None)
    if row is None:
        row = {"code": item_code, "name": item_code, "category": "", "due": "", "own": False}
    row.update({"due": form.get("due_date", "") if errors else row["due"], "errors": errors})
    if result:
        row["saved"] = f"已保存：{result.get('tasks', 0)} 个未通过的任务截止日期改为 {result.get('due_date')}"
        row["warning"] = result.get("due_warning") or ""
    context = {"quarter": quarter, "r": row, "row_id": row_id}
    if is_htmx(request):
        return render(request, TEMPLATES + "due_row.html", context)
    return render(
        request,
        TEMPLATES + "due.html",
        {"quarter": quarter, "rows": [row], "row_id": row_id},
        status_code=422 if errors else 200,
    )


# --- the task page: due date per task, auto-evidence -------------------------------------------------


async def _task_controls(
    request: Request, services: Services, task_id: int, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    task = await services.assessment.call("GET", f"/tasks/{task_id}")
    metric = (task.get("data_source") or "manual") != "manual"
    context = {"task": task, "locked": task.get("quarter_state") == "locked", "metric": metric}
    back = f"/assessment/tasks/{task_id}"
    return show(request, "task_controls.html", context, extra, status_code, title="任务操作", back=back)


@router.post("/assessment/tasks/{task_id:int}/due")
async def set_task_due(request: Request, task_id: int, user: PageUser, services: ServicesDep) -> Response:
    """``PATCH /tasks/{id}``: one task's due date; the task page shows the date and its warning."""
    require(user, OFFICE_ROLES)
    form = form_data(await request.form())
    try:
        task = await services.assessment.call("PATCH", f"/tasks/{task_id}", json={"due_date": form.get("due_date", "")})
    except AppError as exc:
        if exc.status_code not in FORM_STATUSES:
            raise
        extra = {"form": form, "errors": form_errors(exc)}
        return await _task_controls(request, services, task_id, extra, status_code=exc.status_code)
    saved = f"截止日期已改为 {task.get('due_date')}"
    return await _task_controls(request, services, task_id, {"saved": saved, "warning": task.get("due_warning") or ""})


@router.post("/assessment/tasks/{task_id:int}/auto-evidence")
async def auto_evidence(request: Request, task_id: int, user: PageUser, services: ServicesDep) -> Response:
    """``POST /tasks/{id}/auto-evidence``: the registry figures as a PDF, a system submission."""
    require(user, OFFICE_ROLES)
    error = await refused(services.assessment.call("POST", f"/tasks/{task_id}/auto-evidence"))
    if error:
        return await _task_controls(request, services, task_id, {"auto_error": error.message}, error.status_code)
    return redirect(request, f"/assessment/tasks/{task_id}")


# --- the office's judgement of points lost (forecast page) -----------------------------------------


async def _judgement(
    request: Request,
    services: Services,
    quarter_id: str,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    (quarter, items), settings = await asyncio.gather(
        quarter_items(services, quarter_id),
        services.assessment.call("GET", f"/quarters/{seg(quarter_id)}/items"),
    )
    names = {str(i.get("code")): i for i in items}
    judged = [
        {
            **s,
            "name": names.get(str(s["item_code"]), {}).get("name", ""),
            "points": names.get(str(s["item_code"]), {}).get("points"),
        }
        for s in settings.get("items", [])
        if s.get("lost_points") is not None or s.get("inputs") or s.get("note")
    ]
    context = {"quarter": quarter, "items": items, "judged": judged, "fmt_points": fmt_points}
    title, back = f"{quarter_id} 认定失分", f"/assessment/forecast?quarter={seg(quarter_id)}"
    return show(request, "judgement.html", context, extra, status_code, title=title, back=back)


@router.post("/assessment/forecast/{quarter_id}/judgement")
async def judgement(request: Request, quarter_id: str, user: PageUser, services: ServicesDep) -> Response:
    """``PUT /quarters/{id}/items/{code}/judgement``: the points the office judges lost on an item
    (empty: no judgement, the evidence decides)."""
    require(user, OFFICE_ROLES)
    form = form_data(await request.form())
    code = form.get("item_code", "")
    lost: Any = form.get("lost_points", "") or None
    try:
        _quarter, items = await quarter_items(services, quarter_id)
        item = next((i for i in items if str(i.get("code")) == code), None)
        if item is None:
            raise invalid("item_code", "请选择本季度评估细则中的评估项目")
        if lost is not None:
            try:
                value = float(lost)
            except ValueError:
                raise invalid("lost_points", "请填写数字，如 0.5") from None
            top = float(item.get("points") or 0)
            if value > top:
                raise invalid("lost_points", f"不能超过该项分值 {fmt_points(top)} 分")
        body = {"lost_points": lost, "note": form.get("note") or None}
        path = f"/quarters/{seg(quarter_id)}/items/{seg(code)}/judgement"
        await services.assessment.call("PUT", path, json=body)
    except AppError as exc:
        if exc.status_code not in FORM_STATUSES:
            raise
        return await _judgement(
            request, services, quarter_id, {"form": form, "errors": form_errors(exc)}, status_code=exc.status_code
        )
    if not is_htmx(request):
        return redirect(request, f"/assessment/forecast?quarter={seg(quarter_id)}")
    words = "已清除认定失分" if lost is None else f"已认定 {code} 失分 {fmt_points(lost)} 分"
    return await _judgement(request, services, quarter_id, {"saved": words})


def invalid(field: str, message: str) -> InvalidInput:
    """A form value refused here before the service sees it, shown on its field."""
    summary = f"{FIELD_LABELS.get(field, field)}：{message}"
    return InvalidInput(summary, details=[ErrorDetail(field=field, message=message)])


# --- leaders' qualitative ratings (ranking page) ------------------------------------------------------


async def _ratings(
    request: Request,
    user: Principal,
    services: Services,
    period: str,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    data = await services.assessment.call("GET", "/rankings", params={"period": period})
    rows = [
        {
            "code": str(r.get("unit_code")),
            "unit": r.get("unit_name") or r.get("unit_code"),
            "score": r.get("qualitative"),
            "comment": r.get("qualitative_comment") or "",
        }
        for r in sorted(data.get("items", []), key=lambda r: str(r.get("unit_code")))
    ]
    context = {"period": period, "rows": rows, "row_errors": {}, "saved": {}, "form": {}, **(extra or {})}
    row = next((r for r in rows if r["code"] == context.get("unit")), None)
    if is_htmx(request) and row is not None:
        return render(request, TEMPLATES + "rating_row.html", {**context, "r": row})
    return render(request, TEMPLATES + "ratings.html", context, status_code=status_code)


def _period(value: str) -> str:
    return value if re.fullmatch(r"\d{4}(Q[1-4])?", value or "") else ""


@router.get("/assessment/rankings/ratings")
async def ratings_page(request: Request, user: PageUser, services: ServicesDep, period: str = "") -> Response:
    require(user, RATING_ROLES)
    if not _period(period):
        return redirect(request, "/assessment/rankings")
    return await _ratings(request, user, services, period)


@router.post("/assessment/rankings/{period}/ratings/{unit_code}")
async def rate(request: Request, period: str, unit_code: str, user: PageUser, services: ServicesDep) -> Response:
    """``PUT /rankings/{period}/ratings/{unit_code}``: a score 0-100 and a comment."""
    require(user, RATING_ROLES)
    form = form_data(await request.form())
    body = {"score": form.get("score", ""), "comment": form.get("comment") or None}
    path = f"/rankings/{seg(period)}/ratings/{seg(unit_code)}"
    try:
        await services.assessment.call("PUT", path, json=body)
    except AppError as exc:
        if exc.status_code not in FORM_STATUSES:
            raise
        extra = {"unit": unit_code, "row_errors": {unit_code: form_errors(exc)}, "form": {unit_code: form}}
        return await _ratings(request, user, services, period, extra, status_code=exc.status_code)
    if not is_htmx(request):
        return redirect(request, f"/assessment/rankings/ratings?period={seg(period)}")
    return await _ratings(request, user, services, period, {"unit": unit_code, "saved": {unit_code: "已保存"}})


# --- the quarter's archive -----------------------------------------------------------------------------


ARCHIVE_STATE_LABELS = {"queued": "排队中", "running": "正在生成", "done": "已生成", "failed": "生成失败"}


async def _archive(
    request: Request, services: Services, quarter_id: str, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    status: dict[str, Any] | None = None
    try:
        status = await services.assessment.call("GET", f"/quarters/{seg(quarter_id)}/archive/status")
    except AppError as exc:
        if exc.status_code != 409:  # 409: never built
            raise
    if status is not None:
        status["state_label"] = ARCHIVE_STATE_LABELS.get(status.get("state", ""), status.get("state", ""))
        status["size_label"] = _size(status.get("size"))
    title, back = f"{quarter_id} 档案包", f"/assessment/quarters/{seg(quarter_id)}/board"
    context = {"quarter_id": quarter_id, "archive": status}
    return show(request, "archive.html", context, extra, status_code, title=title, back=back)


def _size(size: Any) -> str:
    if not size:
        return ""
    n = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


@router.post("/assessment/quarters/{quarter_id}/archive")
async def start_archive(request: Request, quarter_id: str, user: PageUser, services: ServicesDep) -> Response:
    """``POST /quarters/{id}/archive``: the service's job builds the ZIP (the same job while one runs)."""
    require(user, OFFICE_ROLES)
    error = await refused(services.assessment.call("POST", f"/quarters/{seg(quarter_id)}/archive"))
    if error:
        return await _archive(request, services, quarter_id, {"error": error.message}, error.status_code)
    if not is_htmx(request):
        return redirect(request, f"/assessment/quarters/{seg(quarter_id)}/archive/panel")
    return await _archive(request, services, quarter_id)


@router.get("/assessment/quarters/{quarter_id}/archive.zip")
async def download_archive(request: Request, quarter_id: str, user: PageUser, services: ServicesDep) -> Response:
    """The ZIP streamed from the service as it is read (Range passed on: a broken download resumes)."""
    require(user, OFFICE_ROLES)
    headers = {k: v for k, v in request.headers.items() if k in ("range", "if-range")}
    upstream = await services.assessment.stream("GET", f"/quarters/{seg(quarter_id)}/archive", headers=headers)
    return streamed(upstream, dict(SECURITY_HEADERS))


# --- the controls on a page of their own (GET), for the office ------------------------------------------


def _office_view(show_control: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    async def view(request: Request, user: PageUser, services: ServicesDep) -> Response:
        require(user, OFFICE_ROLES)
        return await show_control(request, services, **request.path_params)

    return view


for _path, _control in (
    ("/assessment/tasks/{task_id:int}/controls", _task_controls),
    ("/assessment/forecast/{quarter_id}/judgement", _judgement),
    ("/assessment/quarters/{quarter_id}/archive/panel", _archive),  # htmx polls it while the job runs
):
    router.add_api_route(_path, _office_view(_control), methods=["GET"])
