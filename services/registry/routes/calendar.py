"""``/calendar``: the office's working-day calendar, the entries that win over the ``chinese_calendar``
package (a year's State Council notice the package does not know yet, local changes). Every caller
may read it (the services compute deadlines with it, see ``services.common.workdays.load_calendar``);
the admin and the office change it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from services.common import clock
from services.common.auth import CallerDep, require_role
from services.common.db import ReadSessionDep, SessionDep
from services.common.errors import NotFound
from services.common.responses import JSONBody
from services.common.workdays import package_knows
from services.registry import calendar_repository as repo
from services.registry.errors import error_docs
from services.registry.models import outbox

router = APIRouter(prefix="/calendar", tags=["calendar"])
DayPath = Annotated[date, Path(description="日期", examples=["2027-01-01"])]


class CalendarEntryIn(BaseModel):
    is_workday: bool = Field(description="true：调休上班日；false：休息日（节假日）")
    note: str = Field(default="", max_length=200, description="说明，如“元旦”“国庆节调休上班”", examples=["元旦"])


class CalendarEntry(CalendarEntryIn):
    date: date
    updated_by: str
    updated_at: datetime


class CalendarList(BaseModel):
    year: int | None
    package_knows_year: bool | None = Field(description="chinese_calendar 软件包是否已有该年的国务院安排")
    items: list[CalendarEntry]


@router.get(
    "", response_model=CalendarList, summary="工作日历：办公室录入的节假日与调休上班日", responses=error_docs(401)
)
def list_calendar(
    _caller: CallerDep,
    session: ReadSessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="年份；不填则返回全部", examples=[2027])] = None,
) -> Response:
    known = package_knows(year) if year is not None else None
    return JSONBody({"year": year, "package_knows_year": known, "items": repo.entries(session, year)})


@router.put(
    "/{day}",
    response_model=CalendarEntry,
    summary="设定某日为休息日或调休上班日（覆盖软件包的安排）",
    responses=error_docs(401, 403, 422),
)
def put_day(day: DayPath, body: CalendarEntryIn, caller: CallerDep, session: SessionDep) -> Response:
    require_role(caller, "admin", "office")
    entry = repo.upsert(
        session,
        day,
        is_workday=body.is_workday,
        note=body.note.strip(),
        updated_by=caller.name or caller.sub,
        at=clock.now(),
    )
    outbox.emit(
        session,
        "calendar",
        "changed",
        day.isoformat(),
        {"date": day.isoformat(), "is_workday": body.is_workday, "note": entry["note"], "action": "set"},
    )
    return JSONBody(entry)


@router.delete(
    "/{day}",
    status_code=204,
    summary="删除某日的录入（恢复软件包或周一至周五的安排）",
    responses=error_docs(401, 403, 404),
)
def delete_day(day: DayPath, caller: CallerDep, session: SessionDep) -> Response:
    require_role(caller, "admin", "office")
    entry = repo.remove(session, day)
    if entry is None:
        raise NotFound(f"工作日历中没有 {day.isoformat()} 的录入", code="calendar_entry_not_found")
    outbox.emit(
        session,
        "calendar",
        "changed",
        day.isoformat(),
        {"date": day.isoformat(), "is_workday": entry["is_workday"], "note": entry["note"], "action": "deleted"},
    )
    return JSONBody(entry)
