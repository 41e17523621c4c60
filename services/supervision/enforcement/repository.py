"""Every query of enforcement records."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from services.common.pagination import rows_page
from services.supervision.models import enforcement_t
from services.supervision.repository import Db, by_id, insert_id, update_id


def record(db: Db, record_id: int) -> dict[str, Any] | None:
    return by_id(db, enforcement_t, record_id)


def insert_record(db: Db, values: dict[str, Any]) -> int:
    return insert_id(db, enforcement_t, values)


def update_record(db: Db, record_id: int, values: dict[str, Any]) -> None:
    update_id(db, enforcement_t, record_id, values)


def delete_record(db: Db, record_id: int) -> None:
    db.execute(enforcement_t.delete().where(enforcement_t.c.id == record_id))


def records(
    db: Db,
    condition: ColumnElement[bool],
    department: str | None,
    between: tuple[date, date] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """Newest first; ``between`` the first and last day of a quarter."""
    stmt = select(enforcement_t).where(condition)
    if department:
        stmt = stmt.where(enforcement_t.c.department == department)
    if between:
        stmt = stmt.where(enforcement_t.c.on_date.between(*between))
    return rows_page(db, stmt, enforcement_t.c.id, cursor=cursor, limit=limit, descending=True)


def department_sums(db: Db, start: date, end: date) -> dict[str, tuple[int, int, int, int, float]]:
    """department -> (records, orders, warnings, fines, fine amount), for the departments with records."""
    t = enforcement_t

    def counted(action: str) -> Any:
        return func.sum(case((t.c.action == action, 1), else_=0))

    rows = db.execute(
        select(
            t.c.department,
            func.count(),
            counted("order"),
            counted("warning"),
            counted("fine"),
            func.coalesce(func.sum(t.c.amount), 0),
        )
        .where(t.c.on_date.between(start, end))
        .group_by(t.c.department)
    ).all()
    return {r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), float(r[5] or 0)) for r in rows}
