"""Every query of inspections (by the tablet's ``client_id``), with what they need of their plan
and findings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, insert, select, update

from services.common.pagination import rows_page
from services.supervision.models import finding_t, inspection_t, plan_t
from services.supervision.repository import Db, one, update_id

# The queries of the tablet's calls (the inspection's PUT, each photo's PUT, the submit) are built
# once, their values bound per call (see ``repository.by_id``).
_INSPECTION = select(inspection_t).where(inspection_t.c.client_id == bindparam("client_id"))
_PHOTO_OWNER = (
    select(inspection_t.c.id, inspection_t.c.state, plan_t.c.team_code)
    .join(plan_t, plan_t.c.id == inspection_t.c.plan_id)
    .where(inspection_t.c.client_id == bindparam("client_id"))
)
_FINDING_IDS = (
    select(finding_t.c.id).where(finding_t.c.inspection_id == bindparam("inspection_id")).order_by(finding_t.c.id)
)


def inspection(db: Db, client_id: str) -> dict[str, Any] | None:
    return one(db, _INSPECTION, {"client_id": client_id})


def photo_owner(db: Db, client_id: str) -> dict[str, Any] | None:
    """What a photo's PUT needs of its inspection: id, state and the plan's team (one query)."""
    return one(db, _PHOTO_OWNER, {"client_id": client_id})


def team_of(db: Db, inspection_id: int) -> str | None:
    """The team of the inspection's plan."""
    stmt = (
        select(plan_t.c.team_code)
        .join(inspection_t, inspection_t.c.plan_id == plan_t.c.id)
        .where(inspection_t.c.id == inspection_id)
    )
    return db.execute(stmt).scalar()


def finding_ids(db: Db, inspection_id: int) -> list[int]:
    return list(db.execute(_FINDING_IDS, {"inspection_id": inspection_id}).scalars())


# The values as parameters: one cached compiled insert (``.values(**values)`` built a statement and its
# cache key from every value, per inspection).
_INSERT = insert(inspection_t).returning(*inspection_t.c)


def insert_inspection(db: Db, values: dict[str, Any]) -> dict[str, Any]:
    """Insert the row; the whole row as stored."""
    return dict(db.execute(_INSERT, values).one()._mapping)


def update_inspection(db: Db, inspection_id: int, values: dict[str, Any]) -> None:
    update_id(db, inspection_t, inspection_id, values)


def mark_replaced(db: Db, client_id: str, replaced_by: str) -> None:
    db.execute(update(inspection_t).where(inspection_t.c.client_id == client_id).values(replaced_by=replaced_by))


def inspections(
    db: Db,
    team_condition: ColumnElement[bool],
    plan_id: int | None,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """Newest first, of the plans whose team meets ``team_condition`` (on ``plan_t.c.team_code``)."""
    stmt = select(inspection_t).join(plan_t, plan_t.c.id == inspection_t.c.plan_id).where(team_condition)
    if plan_id is not None:
        stmt = stmt.where(inspection_t.c.plan_id == plan_id)
    if state:
        stmt = stmt.where(inspection_t.c.state == state)
    return rows_page(db, stmt, inspection_t.c.id, cursor=cursor, limit=limit, descending=True)
