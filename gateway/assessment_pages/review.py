"""审核队列: the office's review queue. Oldest submission first, filtered by unit and category; the
open task shows its newest revision's files in the page (PDF in a frame, images inline, Office
files to download); pass, or return with a reason, in one step, and the next task opens."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.assessment_pages.common import (
    OFFICE_ROLES,
    call,
    require,
    url,
)
from gateway.assessment_pages.tasks import quarters
from gateway.assessment_pages.views import current_quarter, task_detail, task_row
from gateway.deps import PageUser
from gateway.render import render
from gateway.scope_names import unit_names
from gateway.security import Principal
from services.common.errors import AppError

router = APIRouter()

QUEUE_CAP = 50  # shown at once, oldest first: the rest follows as these are reviewed (a reviewer works
# from the top; each row costs the page ~30 µs to render)
REASON_MAX = 1000


def _filters(request: Request, form: dict[str, str] | None = None) -> dict[str, str]:
    source = form if form is not None else request.query_params
    return {
        "quarter": str(source.get("quarter", "")).strip()[:6],
        "unit": str(source.get("unit", "")).strip()[:16],
        "category": str(source.get("category", "")).strip()[:64],
    }


async def queue_context(
    request: Request, user: Principal, filters: dict[str, str], wanted: int | None = None
) -> dict[str, Any]:
    """The queue (oldest first) and the task opened in it: ``wanted`` when it is still waiting,
    else the first one."""
    qs = await quarters(request, user)
    quarter = current_quarter(qs, filters["quarter"])
    names: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    if quarter:
        params = {"quarter": quarter, "unit": filters["unit"], "category": filters["category"], "limit": QUEUE_CAP}
        queue, names = await asyncio.gather(
            call(request, user, "GET", "/review-queue", params=params), unit_names(request, user)
        )
        rows = [task_row(t, names) for t in queue.get("items", [])]  # oldest submission first
    ids = [r["id"] for r in rows]
    current_id = wanted if wanted in ids else (ids[0] if ids else None)
    current = None
    if current_id is not None:
        current = task_detail(await call(request, user, "GET", f"/tasks/{current_id}"), names)
    position = ids.index(current_id) + 1 if current_id in ids else 0
    return {
        "quarters": qs,
        "quarter": quarter,
        "filters": {**filters, "quarter": quarter or ""},
        "rows": rows,
        "capped": len(rows) >= QUEUE_CAP,
        "current": current,
        "latest": current["revisions"][0] if current and current["revisions"] else None,
        "position": position,
        # only the chosen unit: the full list comes from /assessment/review/unit-options when used
        "units": [(filters["unit"], names.get(filters["unit"], filters["unit"]))] if filters["unit"] else [],
        "selected": filters["unit"],
        "categories": sorted({r["category"] for r in rows if r["category"]} | {filters["category"]} - {""}),
        "self_url": url("/assessment/review", {**filters, "quarter": quarter}),
    }


@router.get("/assessment/review")
async def review_queue(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    wanted = request.query_params.get("task", "")
    context = await queue_context(request, user, _filters(request), int(wanted) if wanted.isdigit() else None)
    return render(request, "assessment/review.html", context, block="queue")


@router.get("/assessment/review/unit-options")
async def unit_options(request: Request, user: PageUser) -> Response:
    """The unit filter's options (every unit, the chosen one selected), loaded when the list is
    first used."""
    require(user, OFFICE_ROLES)
    names = await unit_names(request, user)
    context = {"units": sorted(names.items()), "selected": _filters(request)["unit"]}
    return render(request, "assessment/_unit_options.html", context)


@router.post("/assessment/review/{task_id:int}")
async def review(request: Request, task_id: int, user: PageUser) -> Response:
    """Pass or return the task; the answer is the queue with the next task open (or this one
    again, with the error in place)."""
    require(user, OFFICE_ROLES)
    form = {k: str(v) for k, v in (await request.form()).items()}
    filters = _filters(request, form)
    decision = form.get("decision", "")
    reason = form.get("reason", "").strip()
    error = None
    if decision not in ("approve", "return"):
        error = "请选择“通过”或“退回”"
    elif decision == "return" and not reason:
        error = "退回时必须填写原因，告诉责任单位需要怎样修改"
    elif len(reason) > REASON_MAX:
        error = f"原因不能超过 {REASON_MAX} 字"
    if error is None:
        try:
            await call(request, user, "POST", f"/tasks/{task_id}/review", json={"decision": decision, "reason": reason})
        except AppError as exc:
            if exc.status_code not in (409, 422):
                raise
            error = exc.message
    if error is not None:
        context = await queue_context(request, user, filters, task_id)
        context.update({"error": error, "reason": reason})
        return render(request, "assessment/review.html", context, block="queue", status_code=200)
    context = await queue_context(request, user, filters)
    done = "已通过" if decision == "approve" else "已退回"
    context["toast"] = (f"任务 {task_id} {done}", "success")
    response = render(request, "assessment/review.html", context, block="queue")
    current = context["current"]
    response.headers["HX-Push-Url"] = url(
        "/assessment/review", {**context["filters"], "task": current["id"] if current else None}
    )
    return response
