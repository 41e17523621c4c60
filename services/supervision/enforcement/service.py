"""The rules of enforcement records: the office records for any department, a member unit only
its own (stamped with its unit code, seen only by itself and the city); counts and sums per
department per quarter for the assessment service's unit ranking."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import true
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import clock
from services.common.auth import Caller
from services.common.errors import Forbidden
from services.common.pagination import clamp_limit
from services.supervision import photo_repository as photo_repo
from services.supervision import photos as photo_store
from services.supervision.deps import utc
from services.supervision.enforcement import repository as repo
from services.supervision.enforcement.schemas import EnforcementIn
from services.supervision.errors import conflict, invalid, not_found
from services.supervision.models import enforcement_t, outbox
from services.supervision.vocab import DEPARTMENT_NAMES, ENFORCEMENT_ACTION_NAMES

OWNER = "enforcement"


def quarter_range(quarter: str) -> tuple[date, date]:
    """``2026Q4`` -> (2026-10-01, 2026-12-31)."""
    try:
        year, q = int(quarter[:4]), int(quarter[5:])
        if quarter[4] not in "Qq" or not 1 <= q <= 4 or len(quarter) != 6:
            raise ValueError
    except (ValueError, IndexError):
        raise invalid("quarter", "季度格式应为 2026Q4", quarter) from None
    start = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def _writer(caller: Caller) -> None:
    if caller.role not in ("admin", "office", "unit"):
        raise Forbidden("只有分类办或执法部门可以录入执法记录")


def _condition(caller: Caller) -> Any:
    if caller.is_city_wide:
        return true()
    if caller.role == "unit" and caller.unit_code:
        return enforcement_t.c.unit_code == caller.unit_code
    raise Forbidden("没有权限查看执法记录")


def public(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "department", "on_date", "site_code", "business_name", "county_code", "finding", "action")
    return {k: row[k] for k in keys} | {
        "department_name": DEPARTMENT_NAMES.get(row["department"], row["department"]),
        "action_name": ENFORCEMENT_ACTION_NAMES[row["action"]],
        "amount": float(row["amount"]) if row["amount"] is not None else None,
        "case_number": row["case_number"],
        "unit_code": row["unit_code"],
        "photos": [photo_store.photo_public(p) for p in photo_repo.photos_of(session, OWNER, row["id"])],
        "created_by": row["created_by"],
        "created_at": utc(row["created_at"]),
        "updated_at": utc(row["updated_at"]),
    }


def visible(session: Session, caller: Caller, record_id: int) -> dict[str, Any]:
    _condition(caller)  # 403 for callers who see no enforcement records at all
    row = repo.record(session, record_id)
    if row is None or (not caller.is_city_wide and row["unit_code"] != caller.unit_code):
        raise not_found("执法记录", record_id)
    return row


def create(session: Session, caller: Caller, body: EnforcementIn) -> dict[str, Any]:
    _writer(caller)
    now = clock.now()
    values = body.model_dump() | {
        "unit_code": caller.unit_code if caller.role == "unit" else None,
        "created_by": caller.name or caller.sub,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with session.begin_nested():
            new_id = repo.insert_record(session, values)
    except IntegrityError:
        raise conflict(
            f"案件编号 {body.case_number} 已登记", code="duplicate_case_number", field="case_number"
        ) from None
    outbox.emit(
        session,
        "enforcement",
        "created",
        str(new_id),
        {"id": new_id, "department": body.department, "action": body.action, "on_date": body.on_date.isoformat()},
    )
    row = repo.record(session, new_id)
    assert row is not None
    return public(session, row)


def change(session: Session, caller: Caller, record_id: int, body: EnforcementIn) -> dict[str, Any]:
    _writer(caller)
    visible(session, caller, record_id)
    try:
        with session.begin_nested():
            repo.update_record(session, record_id, body.model_dump() | {"updated_at": clock.now()})
    except IntegrityError:
        raise conflict(
            f"案件编号 {body.case_number} 已登记", code="duplicate_case_number", field="case_number"
        ) from None
    outbox.emit(session, "enforcement", "updated", str(record_id), {"id": record_id})
    row = repo.record(session, record_id)
    assert row is not None
    return public(session, row)


def delete(session: Session, caller: Caller, record_id: int) -> None:
    _writer(caller)
    visible(session, caller, record_id)
    repo.delete_record(session, record_id)
    outbox.emit(session, "enforcement", "deleted", str(record_id), {"id": record_id})


def list_records(
    session: Session, caller: Caller, department: str | None, quarter: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    limit = clamp_limit(limit)
    condition = _condition(caller)
    between = quarter_range(quarter) if quarter else None
    items, next_cursor = repo.records(session, condition, department, between, cursor, limit)
    return {"items": [public(session, r) for r in items], "next_cursor": next_cursor}


def summary(session: Session, caller: Caller, quarter: str) -> dict[str, Any]:
    """Counts and fine sums per department in a quarter (every department listed, zeros too)."""
    if not caller.is_city_wide:
        raise Forbidden("只有市级账号可以查看执法汇总")
    start, end = quarter_range(quarter)
    sums = repo.department_sums(session, start, end)
    keys = ("records", "orders", "warnings", "fines", "fine_amount")
    departments = [
        {"department": code, "department_name": name} | dict(zip(keys, sums.get(code, (0, 0, 0, 0, 0.0)), strict=True))
        for code, name in DEPARTMENT_NAMES.items()
    ]
    return {"quarter": quarter.upper(), "starts_on": start, "ends_on": end, "departments": departments}
