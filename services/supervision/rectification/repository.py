"""Every query of findings, rectification orders, their events and 督办 records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict, Unpack

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlmodel import Session

from services.common.pagination import keyset, rows_page, split_page
from services.supervision.models import escalation_t, finding_t, outbox, rect_event_t, rect_t
from services.supervision.repository import Db, by_id, insert_id, one, rows
from services.supervision.vocab import CATEGORY_NAMES


def finding(db: Db, finding_id: int) -> dict[str, Any] | None:
    return by_id(db, finding_t, finding_id)


def open_duplicate(db: Db, target_code: str, category: str) -> dict[str, Any] | None:
    """An open finding of the same target and category (the likely duplicate)."""
    return one(
        db,
        select(finding_t)
        .where(finding_t.c.target_code == target_code, finding_t.c.category == category, finding_t.c.state == "open")
        .order_by(finding_t.c.id),
    )


def insert_finding(db: Db, values: dict[str, Any]) -> int:
    return insert_id(db, finding_t, values)


def findings(
    db: Db, condition: ColumnElement[bool], filters: dict[str, Any], cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    stmt = select(finding_t).where(condition)
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(finding_t.c[name] == value)
    return rows_page(db, stmt, finding_t.c.id, cursor=cursor, limit=limit, descending=True)


def points(db: Db, condition: ColumnElement[bool], filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    cols = [finding_t.c[n] for n in ("id", "latitude", "longitude", "category", "severity", "state", "target_code")]
    stmt = select(*cols).where(condition, finding_t.c.latitude.is_not(None))
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(finding_t.c[name] == value)
    return rows(db, stmt.order_by(finding_t.c.id.desc()).limit(limit))


def set_finding_state(db: Db, finding_id: int, state: str) -> None:
    db.execute(update(finding_t).where(finding_t.c.id == finding_id).values(state=state))


def order(db: Db, order_id: int) -> dict[str, Any] | None:
    return by_id(db, rect_t, order_id)


def order_of_finding(db: Db, finding_id: int) -> dict[str, Any] | None:
    return one(db, select(rect_t).where(rect_t.c.finding_id == finding_id))


def orders_of_findings(db: Db, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.execute(select(rect_t.c.finding_id, rect_t.c.id).where(rect_t.c.finding_id.in_(ids))).all()
    return {f: o for f, o in rows}


def insert_order(db: Db, values: dict[str, Any]) -> int:
    return insert_id(db, rect_t, values)


def update_order(db: Db, order_id: int, values: dict[str, Any], *, where: dict[str, Any] | None = None) -> int:
    """Update, optionally only while the row still has ``where``'s values; returns the rows changed."""
    stmt = update(rect_t).where(rect_t.c.id == order_id)
    for name, value in (where or {}).items():
        stmt = stmt.where(rect_t.c[name] == value)
    return int(db.execute(stmt.values(**values)).rowcount)  # type: ignore[attr-defined]


def insert_event(db: Db, values: dict[str, Any]) -> None:
    db.execute(insert(rect_event_t).values(**values))


def events(db: Db, order_id: int) -> list[dict[str, Any]]:
    stmt = select(rect_event_t).where(rect_event_t.c.rectification_id == order_id).order_by(rect_event_t.c.id)
    return rows(db, stmt)


def escalations(db: Db, order_id: int) -> list[dict[str, Any]]:
    stmt = select(escalation_t).where(escalation_t.c.rectification_id == order_id).order_by(escalation_t.c.level)
    return rows(db, stmt)


def insert_escalation(db: Db, values: dict[str, Any]) -> None:
    db.execute(insert(escalation_t).values(**values))


class OrderFilters(TypedDict):
    """``GET /rectifications``' filters as the service and the repository pass them on (``None``: not given)."""

    state: str | None
    overdue: bool | None
    party: str | None
    plan_id: int | None


def orders(
    db: Db,
    condition: ColumnElement[bool],
    *,
    today: date,
    cursor: str | None,
    limit: int,
    **filters: Unpack[OrderFilters],
) -> tuple[list[Any], str | None]:
    """Newest first; the overdue board walks (is_open, deadline, id), most overdue first."""
    state, overdue, party, plan_id = (filters[name] for name in ("state", "overdue", "party", "plan_id"))
    stmt = select(rect_t).where(condition)
    if state:
        stmt = stmt.where(rect_t.c.state == state)
    if party:
        stmt = stmt.where(rect_t.c.party_code == party)
    if plan_id is not None:
        stmt = stmt.where(rect_t.c.plan_id == plan_id)
    if overdue:
        stmt = stmt.where(rect_t.c.is_open.is_(True), rect_t.c.deadline < today)
        cols = [rect_t.c.deadline, rect_t.c.id]
        page = rows(db, keyset(stmt, cols, cursor=cursor, limit=limit, tag="overdue"))
        return split_page(page, limit, lambda r: [r["deadline"], r["id"]], "overdue")
    if overdue is False:
        stmt = stmt.where((rect_t.c.is_open.is_(False)) | (rect_t.c.deadline >= today))
    return rows_page(db, stmt, rect_t.c.id, cursor=cursor, limit=limit, descending=True, tag="id")


def orders_of_plan(db: Db, plan_id: int) -> list[dict[str, Any]]:
    return rows(db, select(rect_t).where(rect_t.c.plan_id == plan_id).order_by(rect_t.c.id))


def board_counts(db: Db, condition: ColumnElement[bool], today: date) -> tuple[dict[str, int], int, int]:
    """(orders by state, open and overdue, open and escalated) among the orders meeting ``condition``."""
    grouped = db.execute(select(rect_t.c.state, func.count()).where(condition).group_by(rect_t.c.state)).all()
    open_ = [condition, rect_t.c.is_open.is_(True)]
    overdue = db.execute(select(func.count()).where(*open_, rect_t.c.deadline < today)).scalar_one()
    escalated = db.execute(select(func.count()).where(*open_, rect_t.c.escalation_level > 0)).scalar_one()
    return {r[0]: int(r[1]) for r in grouped}, int(overdue), int(escalated)


def finding_photos_of_inspection(db: Db, condition: ColumnElement[bool], inspection_id: int) -> list[list[int]]:
    """The photo lists of the inspection's findings whose order meets ``condition``."""
    stmt = (
        select(finding_t.c.photos)
        .join(rect_t, finding_t.c.id == rect_t.c.finding_id)
        .where(condition, finding_t.c.inspection_id == inspection_id)
    )
    return [photos or [] for photos in db.execute(stmt).scalars()]


def due_for_daily(db: Db, today: date) -> list[dict[str, Any]]:
    """Open orders past their deadline (the daily reminder and escalation pass)."""
    stmt = (
        select(rect_t)
        .where(rect_t.c.is_open.is_(True), rect_t.c.deadline < today)
        .order_by(rect_t.c.deadline, rect_t.c.id)
    )
    return rows(db, stmt)


def emit_order(session: Session, verb: str, order: Mapping[str, Any], **data: Any) -> None:
    """The order's outbox event ``sortline.supervision.rectification.<verb>``: its id, a title a person
    reads in the inbox and the OA (the problem and where: "满溢 · 滨江花园"), who answers for it (whom the
    gateway tells) and the team that checks it, then ``data``."""
    category = CATEGORY_NAMES.get(order["category"], order["category"])
    title = f"{category} · {order.get('target_name') or order['target_code']}"
    who = {"party_kind": order["party_kind"], "party_code": order["party_code"], "team_code": order.get("team_code")}
    outbox.emit(session, "rectification", verb, str(order["id"]), {"id": order["id"], "title": title, **who, **data})
