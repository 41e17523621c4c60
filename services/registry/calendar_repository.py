"""Every query of the office's working-day calendar (``workday_override``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from services.common import clock
from services.registry.models import workday_override_t

t = workday_override_t.c


def _public(row: Any) -> dict[str, Any]:
    return {
        "date": row.date,
        "is_workday": bool(row.is_workday),
        "note": row.note,
        "updated_by": row.updated_by,
        "updated_at": clock.as_utc(row.updated_at),
    }


def entries(session: Session, year: int | None) -> list[dict[str, Any]]:
    stmt = select(workday_override_t).order_by(t.date)
    if year is not None:
        stmt = stmt.where(t.date >= date(year, 1, 1), t.date <= date(year, 12, 31))
    return [_public(r) for r in session.execute(stmt).all()]


def upsert(
    session: Session, day: date, *, is_workday: bool, note: str, updated_by: str, at: datetime
) -> dict[str, Any]:
    values = {"date": day, "is_workday": is_workday, "note": note, "updated_by": updated_by, "updated_at": at}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(workday_override_t).values(**values)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["date"], set_={k: v for k, v in values.items() if k != "date"})
    )
    row = session.execute(select(workday_override_t).where(t.date == day)).one()
    return _public(row)


def remove(session: Session, day: date) -> dict[str, Any] | None:
    row = session.execute(select(workday_override_t).where(t.date == day)).first()
    if row is None:
        return None
    session.execute(delete(workday_override_t).where(t.date == day))
    return _public(row)
