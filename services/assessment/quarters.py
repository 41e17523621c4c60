"""Quarters: opening on a published catalogue (the 责任清单 as tasks), due dates, states, the board."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from sqlmodel import Session

from services.assessment import catalogues, errors, readcache, repository
from services.assessment.catalogue_io import COLUMNS_BY_KEY as CATALOGUE_COLUMNS
from services.assessment.config import Settings
from services.assessment.models import Quarter, QuarterItem, Task, outbox
from services.assessment.ports import CalendarPort, RegistryPort
from services.assessment.workflow import QUARTER_STATES, STATE_LABELS
from services.common import clock
from services.common.auth import Caller, require_role
from services.common.columns import values_of
from services.common.errors import Conflict, InvalidInput
from services.common.tabular import Column, stream_xlsx

QUARTER_RE = re.compile(r"(\d{4})Q([1-4])")
STATE_ORDER = ("collecting", "reviewing", "locked")


def parse_quarter(quarter_id: str) -> tuple[int, int]:
    m = QUARTER_RE.fullmatch(quarter_id)
    if not m:
        raise InvalidInput.field("quarter", "季度格式应为 2026Q4", quarter_id)
    return int(m.group(1)), int(m.group(2))


def quarter_end(quarter_id: str) -> date:
    year, q = parse_quarter(quarter_id)
    month = q * 3
    return date(year, month, 31 if month in (3, 12) else 30)


def default_due(quarter_id: str, settings: Settings) -> date:
    year, q = parse_quarter(quarter_id)
    return date(year, q * 3, min(settings.due_day, 28 if q * 3 == 2 else 30))


def due_warning(calendar: CalendarPort, due: date) -> str | None:
    """A Chinese sentence when the due date is not a working day (shown when it is set)."""
    unknown = getattr(calendar, "warning", None)
    if unknown is not None and (text := unknown(due)):
        return str(text)
    try:
        if calendar.is_workday(due):
            return None
    except Exception:  # a year the calendar does not know yet
        return f"{due.year} 年的节假日安排尚未录入，无法判断 {due.isoformat()} 是否为工作日"
    nxt = calendar.add_workdays(due, 1)
    return f"截止日期 {due.isoformat()} 不是工作日，顺延可设为 {nxt.isoformat()}"


def public(q: Quarter) -> dict[str, Any]:
    return (
        values_of(q, "id", "catalogue_id", "state")
        | {"state_label": QUARTER_STATES.get(q.state, q.state)}
        | values_of(q, "default_due", "opened_at", "opened_by", "locked_at")
    )


def get(session: Session, quarter_id: str) -> Quarter:
    return repository.found(session, Quarter, quarter_id, errors.quarter_not_found)


def listing(session: Session) -> dict[str, Any]:
    return {"items": [public(q) for q in repository.quarters(session)]}


def open_quarter(
    session: Session,
    caller: Caller,
    settings: Settings,
    registry: RegistryPort,
    calendar: CalendarPort,
    quarter_id: str,
    catalogue_id: int,
    due: date | None = None,
) -> dict[str, Any]:
    """Open a quarter: one task per (item evidence x responsible unit), due on the default date."""
    require_role(caller, "admin", "office")
    parse_quarter(quarter_id)
    if repository.row(session, Quarter, quarter_id) is not None:
        raise Conflict(f"季度 {quarter_id} 已开启", code="quarter_exists")
    cat = catalogues.get(session, catalogue_id)
    if cat.status != "published":
        raise Conflict(f"评估细则版本 {catalogue_id} 还是草稿，发布后才能开启季度", code="catalogue_draft")
    due = due or default_due(quarter_id, settings)
    warning = due_warning(calendar, due)
    now = clock.now()
    quarter = Quarter(
        id=quarter_id,
        catalogue_id=catalogue_id,
        state="collecting",
        default_due=due,
        opened_at=now,
        opened_by=caller.name or caller.sub,
    )
    session.add(quarter)
    units = catalogues.directory(session, registry)
    count = 0
    for item in repository.catalogue_items(session, catalogue_id):
        responsible = [item.lead_unit, *item.co_units]
        share = round(item.points / (len(item.evidence) * len(responsible)), 4)
        for ev in item.evidence:
            for unit_code in responsible:
                session.add(
                    Task(
                        quarter_id=quarter_id,
                        item_code=item.code,
                        category=item.category,
                        evidence_code=ev["code"],
                        evidence_title=ev["title"][:255],
                        unit_code=unit_code,
                        county_code=units.county_of(unit_code),
                        lead=unit_code == item.lead_unit,
                        state="pending",
                        due_date=due,
                        due_warning=warning,
                        points=share,
                        created_at=now,
                        updated_at=now,
                    )
                )
                count += 1
    session.flush()
    outbox.emit(
        session, "quarter", "opened", quarter_id, {"quarter": quarter_id, "catalogue_id": catalogue_id, "tasks": count}
    )
    return public(quarter) | {"tasks": count, "due_warning": warning}


def set_state(
    session: Session, caller: Caller, quarter_id: str, state: str, snapshot: dict[str, Any] | None
) -> dict[str, Any]:
    """collecting -> reviewing -> locked (and reviewing back to collecting); locked is final."""
    require_role(caller, "admin", "office")
    quarter = get(session, quarter_id)
    if state not in STATE_ORDER:
        raise InvalidInput.field("state", "状态应为 collecting、reviewing 或 locked", state)
    if quarter.state == "locked":
        raise errors.quarter_locked(quarter_id)
    if state == quarter.state:
        return public(quarter)
    quarter.state = state
    if state == "locked":
        quarter.locked_at = clock.now()
        quarter.forecast_snapshot = snapshot
    session.add(quarter)
    outbox.emit(session, "quarter", state, quarter_id, {"quarter": quarter_id, "state": state})
    return public(quarter)


def set_item_due(
    session: Session, caller: Caller, calendar: CalendarPort, quarter_id: str, item_code: str, due: date
) -> dict[str, Any]:
    """Move the due date of every not yet approved task of one item (and remember it for the item)."""
    require_role(caller, "admin", "office")
    quarter = get(session, quarter_id)
    if quarter.state == "locked":
        raise errors.quarter_locked(quarter_id)
    row = repository.quarter_items(session, quarter_id).get(item_code) or QuarterItem(
        quarter_id=quarter_id, item_code=item_code
    )
    row.due_date = due
    session.add(row)
    warning = due_warning(calendar, due)
    changed = 0
    for task in repository.quarter_tasks(session, quarter_id):
        if task.item_code == item_code and task.state != "approved":
            task.due_date, task.due_warning, task.updated_at = due, warning, clock.now()
            session.add(task)
            changed += 1
    if not changed and item_code not in {t.item_code for t in repository.quarter_tasks(session, quarter_id)}:
        raise errors.not_found("评估项目", item_code, "item_not_found")
    outbox.emit(
        session,
        "quarter",
        "due_changed",
        quarter_id,
        {"quarter": quarter_id, "item_code": item_code, "due_date": due.isoformat()},
    )
    return {"quarter": quarter_id, "item_code": item_code, "due_date": due, "tasks": changed, "due_warning": warning}


def set_judgement(
    session: Session,
    caller: Caller,
    quarter_id: str,
    item_code: str,
    inputs: dict[str, Any] | None,
    lost_points: float | None,
    note: str | None,
) -> dict[str, Any]:
    """The office's scoring inputs for one item (cases found, value reached, alternative achieved)."""
    require_role(caller, "admin", "office")
    quarter = get(session, quarter_id)
    if quarter.state == "locked":
        raise errors.quarter_locked(quarter_id)
    if repository.catalogue_item(session, quarter.catalogue_id, item_code) is None:
        raise errors.not_found("评估项目", item_code, "item_not_found")
    row = repository.quarter_items(session, quarter_id).get(item_code) or QuarterItem(
        quarter_id=quarter_id, item_code=item_code
    )
    row.inputs, row.lost_points, row.note = inputs, lost_points, note
    session.add(row)
    outbox.emit(
        session,
        "quarter",
        "judged",
        quarter_id,
        {"quarter": quarter_id, "item_code": item_code, "inputs": inputs, "lost_points": lost_points},
    )
    return {"quarter": quarter_id, "item_code": item_code, "inputs": inputs, "lost_points": lost_points, "note": note}


def item_settings(session: Session, quarter_id: str) -> dict[str, Any]:
    """What the office set per item of a quarter: the item's due date and its judgement."""
    get(session, quarter_id)
    rows = sorted(repository.quarter_items(session, quarter_id).values(), key=lambda r: r.item_code)
    items = [
        {
            "item_code": r.item_code,
            "due_date": r.due_date,
            "inputs": r.inputs,
            "lost_points": r.lost_points,
            "note": r.note,
        }
        for r in rows
    ]
    return {"quarter": quarter_id, "items": items}


BOARD_ORDERS = ("unit", "weakest")
COUNT_KEYS = ("total", "approved", "submitted", "overdue")


def board(
    session: Session,
    caller: Caller,
    registry: RegistryPort,
    quarter_id: str,
    *,
    order: str = "unit",
    offset: int = 0,
    limit: int | None = None,
) -> dict[str, Any]:
    """The heat map: units x categories, each cell the share of approved tasks (and the counts).

    Counted in the database (one row per unit and category); the categories in the order their
    first task was made. Each row also carries its unit's counts and share; ``totals`` sums every
    unit and ``units`` counts them. ``order="weakest"`` lists the units lowest share approved first
    (then most overdue, then code), ``offset``/``limit`` cut one page of rows. Kept per data version
    (see readcache)."""
    get(session, quarter_id)
    if order not in BOARD_ORDERS:
        raise InvalidInput.field("order", "排序应为 unit 或 weakest", order)
    today = clock.today()
    scope = (caller.role, caller.unit_code, caller.county_code, bool(caller.is_city_wide))
    full = readcache.cached(
        session, ("board", quarter_id, today, scope), lambda: _board(session, caller, registry, quarter_id, today)
    )
    rows = full["weakest"] if order == "weakest" else full["rows"]
    end = None if limit is None else offset + limit
    return {
        "quarter": quarter_id,
        "categories": full["categories"],
        "rows": rows[offset:end] if offset or end is not None else rows,
        "units": len(rows),
        "totals": full["totals"],
    }


def _board(session: Session, caller: Caller, registry: RegistryPort, quarter_id: str, today: date) -> dict[str, Any]:
    cells: dict[tuple[str, str], dict[str, int]] = {}
    first_id: dict[str, int] = {}
    for unit_code, category, total, approved, submitted, overdue, first in repository.board_counts(
        session, quarter_id, caller, today
    ):
        if category not in first_id or first < first_id[category]:
            first_id[category] = first
        cells[(unit_code, category)] = {
            "total": total,
            "approved": int(approved),
            "submitted": int(submitted),
            "overdue": int(overdue),
        }
    categories = sorted(first_id, key=first_id.__getitem__)
    names = {u["code"]: u["name"] for u in registry.units()}
    rows = []
    totals = dict.fromkeys(COUNT_KEYS, 0)
    for code in sorted({u for u, _ in cells}):
        row_cells = []
        counts = dict.fromkeys(COUNT_KEYS, 0)
        for category in categories:
            c = cells.get((code, category))
            if c is not None:
                for k in COUNT_KEYS:
                    counts[k] += c[k]
            row_cells.append(None if c is None else c | {"share": round(c["approved"] / c["total"], 4)})
        for k in COUNT_KEYS:
            totals[k] += counts[k]
        share = round(counts["approved"] / counts["total"], 4) if counts["total"] else None
        rows.append(
            {"unit_code": code, "unit_name": names.get(code, code), "cells": row_cells, **counts, "share": share}
        )
    weakest = sorted(rows, key=lambda r: (r["share"] or 0.0, -r["overdue"], r["unit_code"]))
    share = round(totals["approved"] / totals["total"], 4) if totals["total"] else None
    return {"categories": categories, "rows": rows, "weakest": weakest, "totals": {**totals, "share": share}}


def _catalogue_column(key: str, as_key: str, **changes: Any) -> Column:
    """The catalogue file's column ``key`` (its header) as the responsibility list's ``as_key``."""
    return replace(CATALOGUE_COLUMNS[key], key=as_key, **changes)


RESPONSIBILITY_COLUMNS = [
    _catalogue_column("code", "item_code"),
    _catalogue_column("category", "category"),
    _catalogue_column("item", "item_name"),
    _catalogue_column("evidence", "evidence", width=36),
    _catalogue_column("units", "unit_name", width=20),
    Column("role", "牵头/配合", width=10),
    Column("due_date", "截止日期", date=True),
    Column("state", "状态", width=10),
    _catalogue_column("points", "points"),
]


def responsibility_rows(
    session: Session, caller: Caller, registry: RegistryPort, quarter_id: str
) -> list[dict[str, Any]]:
    quarter = get(session, quarter_id)
    items = {i.code: i for i in repository.catalogue_items(session, quarter.catalogue_id)}
    units = catalogues.directory(session, registry)
    rows = []
    for task in repository.quarter_tasks(session, quarter_id, caller):
        item = items.get(task.item_code)
        rows.append(
            {
                "task_id": task.id,
                "item_code": task.item_code,
                "category": task.category,
                "item_name": item.name if item else task.item_code,
                "evidence": task.evidence_title,
                "unit_code": task.unit_code,
                "unit_name": units.name(task.unit_code),
                "role": "牵头" if task.lead else "配合",
                "due_date": task.due_date,
                "state": STATE_LABELS[task.state],
                "points": task.points,
            }
        )
    return rows


def responsibility_xlsx(rows: list[dict[str, Any]]) -> Iterator[bytes]:
    return stream_xlsx(RESPONSIBILITY_COLUMNS, rows, sheet_title="责任清单")
