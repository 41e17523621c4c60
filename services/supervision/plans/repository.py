"""Every query of teams, checklists, plans and plan targets (SQLAlchemy Core, rows as dicts)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, insert, select, update

from services.common.pagination import rows_page
from services.supervision.models import checklist_t, inspection_t, plan_t, target_t, team_t
from services.supervision.repository import Db, by_id, insert_id, one, rows, update_id

# --- teams ------------------------------------------------------------------------------------


def team(db: Db, code: str) -> dict[str, Any] | None:
    return one(db, select(team_t).where(team_t.c.code == code))


def teams(db: Db) -> list[dict[str, Any]]:
    return rows(db, select(team_t).order_by(team_t.c.code))


def insert_team(db: Db, values: dict[str, Any]) -> None:
    db.execute(insert(team_t).values(**values))


def update_team(db: Db, code: str, values: dict[str, Any]) -> None:
    db.execute(update(team_t).where(team_t.c.code == code).values(**values))


# --- checklists -------------------------------------------------------------------------------


def checklist(db: Db, checklist_id: int) -> dict[str, Any] | None:
    return by_id(db, checklist_t, checklist_id)


def checklists(db: Db, target_kind: str | None, state: str | None) -> list[dict[str, Any]]:
    stmt = select(checklist_t).order_by(checklist_t.c.code, checklist_t.c.version)
    if target_kind:
        stmt = stmt.where(checklist_t.c.target_kind == target_kind)
    if state:
        stmt = stmt.where(checklist_t.c.state == state)
    return rows(db, stmt)


def latest_version(db: Db, code: str) -> int:
    value = db.execute(select(func.max(checklist_t.c.version)).where(checklist_t.c.code == code)).scalar()
    return int(value or 0)


def insert_checklist(db: Db, values: dict[str, Any]) -> int:
    return insert_id(db, checklist_t, values)


def update_checklist(db: Db, checklist_id: int, values: dict[str, Any]) -> None:
    update_id(db, checklist_t, checklist_id, values)


# --- plans ------------------------------------------------------------------------------------


def plan(db: Db, plan_id: int) -> dict[str, Any] | None:
    return by_id(db, plan_t, plan_id)


def plan_ids(team_condition: ColumnElement[bool]) -> Select[Any]:
    """The ids of the plans whose team meets ``team_condition`` (on ``plan_t.c.team_code``), as a subquery."""
    return select(plan_t.c.id).where(team_condition)


def plans(
    db: Db, condition: Any, team_code: str | None, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    stmt = select(plan_t).where(condition)
    if team_code:
        stmt = stmt.where(plan_t.c.team_code == team_code)
    return rows_page(db, stmt, plan_t.c.id, cursor=cursor, limit=limit, descending=True)


def insert_plan(db: Db, values: dict[str, Any]) -> int:
    return insert_id(db, plan_t, values)


def update_plan(db: Db, plan_id: int, values: dict[str, Any]) -> None:
    update_id(db, plan_t, plan_id, values)


def insert_targets(db: Db, rows: list[dict[str, Any]]) -> None:
    if rows:
        db.execute(insert(target_t), rows)


def target_counts(db: Db, plan_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(targets, targets with a submitted inspection) per plan."""
    if not plan_ids:
        return {}
    totals: dict[int, int] = {
        r[0]: r[1]
        for r in db.execute(
            select(target_t.c.plan_id, func.count())
            .where(target_t.c.plan_id.in_(plan_ids))
            .group_by(target_t.c.plan_id)
        ).all()
    }
    done: dict[int, int] = {
        r[0]: r[1]
        for r in db.execute(
            select(inspection_t.c.plan_id, func.count(func.distinct(inspection_t.c.target_code)))
            .where(inspection_t.c.plan_id.in_(plan_ids), inspection_t.c.state == "submitted")
            .group_by(inspection_t.c.plan_id)
        ).all()
    }
    return {pid: (int(totals.get(pid, 0)), int(done.get(pid, 0))) for pid in plan_ids}


# Built once, values bound per call (see ``repository.by_id``): each inspection's PUT and submit look it up.
_TARGET = select(target_t).where(
    target_t.c.plan_id == bindparam("plan_id"), target_t.c.target_code == bindparam("target_code")
)


def target(db: Db, plan_id: int, target_code: str) -> dict[str, Any] | None:
    return one(db, _TARGET, {"plan_id": plan_id, "target_code": target_code})


def targets(
    db: Db,
    plan_id: int,
    *,
    inspector: str | None,
    day: date | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    stmt = select(target_t).where(target_t.c.plan_id == plan_id)
    if inspector:
        stmt = stmt.where(target_t.c.inspector == inspector)
    if day:
        stmt = stmt.where(target_t.c.scheduled_on == day)
    return rows_page(db, stmt, target_t.c.id, cursor=cursor, limit=limit)


def day_list(db: Db, inspector: str, day: date) -> list[dict[str, Any]]:
    stmt = (
        select(target_t)
        .join(plan_t, plan_t.c.id == target_t.c.plan_id)
        .where(target_t.c.inspector == inspector, target_t.c.scheduled_on == day, plan_t.c.state != "finished")
        .order_by(target_t.c.id)
    )
    return rows(db, stmt)


def submitted_inspections(db: Db, plan_id: int, codes: list[str]) -> dict[str, str]:
    """target code -> client_id of its latest submitted inspection."""
    if not codes:
        return {}
    rows = db.execute(
        select(inspection_t.c.target_code, inspection_t.c.client_id)
        .where(
            inspection_t.c.plan_id == plan_id,
            inspection_t.c.target_code.in_(codes),
            inspection_t.c.state == "submitted",
            inspection_t.c.replaced_by.is_(None),
        )
        .order_by(inspection_t.c.id)
    ).all()
    return {code: client for code, client in rows}
