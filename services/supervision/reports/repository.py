"""Every query of reports and circulars, and what a report's figures read of a plan's round."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, func, select

from services.common.pagination import rows_page
from services.supervision.models import circular_t, finding_t, inspection_t, report_t, target_t
from services.supervision.repository import Db, by_id, insert_id, rows, update_id

# --- reports and circulars --------------------------------------------------------------------


def report(db: Db, report_id: int) -> dict[str, Any] | None:
    return by_id(db, report_t, report_id)


def circular(db: Db, circular_id: int) -> dict[str, Any] | None:
    return by_id(db, circular_t, circular_id)


def insert_report(db: Db, values: dict[str, Any]) -> int:
    return insert_id(db, report_t, values)


def insert_circular(db: Db, values: dict[str, Any]) -> int:
    return insert_id(db, circular_t, values)


def update_report(db: Db, report_id: int, values: dict[str, Any]) -> None:
    update_id(db, report_t, report_id, values)


def update_circular(db: Db, circular_id: int, values: dict[str, Any]) -> None:
    update_id(db, circular_t, circular_id, values)


def page(
    db: Db, table: Table, conditions: list[ColumnElement[bool]], cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Reports or circulars (``table``) meeting every one of ``conditions``, newest first."""
    return rows_page(db, select(table).where(*conditions), table.c.id, cursor=cursor, limit=limit, descending=True)


def numbers_taken(db: Db, prefix: str) -> int:
    """How many circulars have a number starting with ``prefix``."""
    return int(db.execute(select(func.count()).where(circular_t.c.number.like(f"{prefix}%"))).scalar_one())


# --- what a report's figures read ----------------------------------------------------------------


def plan_targets(db: Db, plan_id: int) -> list[dict[str, Any]]:
    cols = [target_t.c.target_code, target_t.c.kind, target_t.c.county_code]
    return rows(db, select(*cols).where(target_t.c.plan_id == plan_id))


def latest_results(db: Db, plan_id: int) -> list[dict[str, Any]]:
    """The plan's submitted inspections that no correction replaced."""
    i = inspection_t
    return rows(
        db,
        select(i.c.target_code, i.c.county_code, i.c.passed, i.c.score).where(
            i.c.plan_id == plan_id, i.c.state == "submitted", i.c.replaced_by.is_(None)
        ),
    )


def category_counts(db: Db, plan_id: int) -> dict[str, int]:
    stmt = (
        select(finding_t.c.category, func.count()).where(finding_t.c.plan_id == plan_id).group_by(finding_t.c.category)
    )
    return {r[0]: int(r[1]) for r in db.execute(stmt).all()}
