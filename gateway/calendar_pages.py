"""``/admin/calendar``: the office's working-day calendar (工作日历). A year as a list of the statutory
holidays and make-up working days the ``chinese_calendar`` package knows and the office's own entries
(which win), a form to enter a day as 休息日 or 调休上班日, delete. A year the package does not know
shows the warning that deadlines are counted Monday to Friday until the office enters the notice.
The entries live in the registry (``/calendar``); every service reads them through
``services.common.workdays.load_calendar``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from gateway.deps import request_id, require_roles
from gateway.render import NavItem, register_nav, render
from gateway.security import Principal
from services.common import clock
from services.common.errors import InvalidInput
from services.common.workdays import WorkCalendar, calendar_from_items

router = APIRouter(prefix="/admin", include_in_schema=False)
ROLES = frozenset({"admin", "office"})
Office = Annotated[Principal, Depends(require_roles(*ROLES))]
WEEKDAYS = "一二三四五六日"
KINDS = {"rest": "休息日（放假）", "work": "调休上班日"}

register_nav(NavItem("/admin/calendar", "工作日历", ROLES), group="系统管理")


async def _registry(request: Request, user: Principal, method: str, path: str, **kw: Any) -> Any:
    """A registry call as the signed-in user; ``payload`` goes as the JSON body."""
    client = request.app.state.clients.registry
    payload = kw.pop("payload", None)
    return await client.call(method, path, caller=user.caller(request_id(request)), json=payload, **kw)


async def _page(
    request: Request,
    user: Principal,
    year: int,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    toast: tuple[str, str] | None = None,
) -> Response:
    body = await _registry(request, user, "GET", "/calendar", params={"year": year})
    office = calendar_from_items(list(body.get("items") or []))
    days = [
        {
            "date": e.day.isoformat(),
            "weekday": "周" + WEEKDAYS[e.day.weekday()],
            "is_workday": e.is_workday,
            "note": e.note,
            "office": e.source == "office",
        }
        for e in WorkCalendar(office.overrides, office.notes).year_days(year)
    ]
    cal = WorkCalendar(office.overrides)
    context = {
        "year": year,
        "days": days,
        "warning": cal.warning(date(year, 1, 1)),
        "form": form or {"date": "", "kind": "rest", "note": ""},
        "kinds": KINDS,
        "errors": errors or {},
        "toast": toast,
    }
    return render(request, "admin/calendar.html", context, block="panel")


def _year(value: int | None) -> int:
    return value if value is not None else clock.today().year


@router.get("/calendar")
async def calendar_page(
    request: Request, user: Office, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> Response:
    return await _page(request, user, _year(year))


@router.post("/calendar")
async def add_day(
    request: Request,
    user: Office,
    day: Annotated[str, Form(alias="date", max_length=32)] = "",
    kind: Annotated[str, Form(max_length=16)] = "rest",
    note: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    form = {"date": day, "kind": kind, "note": note}
    try:
        parsed = date.fromisoformat(day.strip())
    except ValueError:
        return await _page(request, user, clock.today().year, form=form, errors={"date": "请选择日期"})
    if kind not in KINDS:
        return await _page(request, user, parsed.year, form=form, errors={"kind": "请选择休息日或调休上班日"})
    try:
        await _registry(
            request,
            user,
            "PUT",
            f"/calendar/{parsed.isoformat()}",
            payload={"is_workday": kind == "work", "note": note.strip()},
        )
    except InvalidInput as exc:
        errors = {d.field or "form": d.message for d in exc.details} or {"form": exc.message}
        return await _page(request, user, parsed.year, form=form, errors=errors)
    done = f"已将 {parsed.isoformat()} 设为{'调休上班日' if kind == 'work' else '休息日'}"
    return await _page(request, user, parsed.year, toast=(done, "success"))


@router.post("/calendar/{day}/delete")
async def delete_day(request: Request, user: Office, day: date) -> Response:
    await _registry(request, user, "DELETE", f"/calendar/{day.isoformat()}")
    return await _page(request, user, day.year, toast=(f"已删除 {day.isoformat()} 的录入", "success"))
