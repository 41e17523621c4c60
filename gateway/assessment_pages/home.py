"""The home page's to-do block, loaded by htmx after the page: a unit's or county's tasks due, the
office's submissions waiting for review. When the assessment service does not answer, the block
says so in one line and the rest of the home page is unaffected."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.assessment_pages.common import OFFICE_ROLES, RESPONDER_ROLES, SCORE_ROLES, call, log
from gateway.assessment_pages.views import current_quarter, quarter_view, task_row
from gateway.deps import PageUser
from gateway.render import render
from gateway.security import Principal
from services.common.errors import AppError

router = APIRouter()

SHOWN = 6
PAGE = 200


async def todos(request: Request, user: Principal) -> dict[str, Any]:
    data = await call(request, user, "GET", "/quarters")
    qs = [quarter_view(q) for q in (data.get("items", []) if isinstance(data, dict) else data)]
    quarter = current_quarter([q for q in qs if q["state"] != "locked"])
    if quarter is None:
        return {"quarter": None}
    if user.role in RESPONDER_ROLES:
        page = await call(request, user, "GET", "/tasks", params={"quarter": quarter, "limit": PAGE})
        rows = [task_row(t, {}) for t in page.get("items", [])]
        open_rows = sorted(
            (r for r in rows if r["state"] in ("pending", "returned")), key=lambda r: (str(r["due_date"]), r["id"])
        )
        return {
            "quarter": quarter,
            "kind": "unit",
            "rows": open_rows[:SHOWN],
            "open": len(open_rows),
            "overdue": sum(1 for r in open_rows if r["overdue"]),
            "returned": sum(1 for r in open_rows if r["state"] == "returned"),
            "more": bool(page.get("next_cursor")),
        }
    if user.role in OFFICE_ROLES:
        page = await call(
            request, user, "GET", "/tasks", params={"quarter": quarter, "state": "submitted", "limit": PAGE}
        )
        rows = sorted((task_row(t, {}) for t in page.get("items", [])), key=lambda r: str(r["submitted_at"] or ""))
        return {
            "quarter": quarter,
            "kind": "office",
            "rows": rows[:SHOWN],
            "waiting": len(rows),
            "more": bool(page.get("next_cursor")),
        }
    if user.role in SCORE_ROLES:
        f = await call(request, user, "GET", f"/quarters/{quarter}/forecast")
        return {"quarter": quarter, "kind": "leader", "forecast": f}
    return {"quarter": None}


@router.get("/assessment/todos")
async def todo_block(request: Request, user: PageUser) -> Response:
    if user.role not in RESPONDER_ROLES | SCORE_ROLES:
        return render(request, "assessment/todos.html", {"t": None, "hidden": True})
    try:
        t = await todos(request, user)
        failed = False
    except AppError as exc:
        log.warning("home to-dos unavailable: %s", exc.message)
        t, failed = None, True
    return render(request, "assessment/todos.html", {"t": t, "failed": failed})
