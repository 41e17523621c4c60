"""The registry's rules: who may see and change what, numbering, history and events, coverage.

Decisions (see also the module docstrings of ``numbering`` and ``validation``):
- ``code`` and ``county_code`` never change; ``status`` changes only through decommissioning, which
  is final. A vehicle's category may change and its code (with the old letter) stays.
- A plate may be carried by one *active* vehicle only; a decommissioned vehicle keeps its plate in
  its record, so the plate can be registered again for a new vehicle.
- A change that changes nothing (a retried PATCH or PUT, a second decommission) writes nothing: no
  history row, no event, no new version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import clock
from services.common.auth import Caller, require_permission
from services.common.errors import Conflict, ErrorDetail, Forbidden, InvalidInput, NotFound
from services.common.idempotency import IdempotentWrite, Written
from services.common.pagination import clamp_limit
from services.registry import errors, numbering
from services.registry import repository as repo
from services.registry import stats as counters
from services.registry import validation as v
from services.registry.config import Settings
from services.registry.models import counter_t, facility_t, outbox, site_t, vehicle_t

READ = "registry:read"
WRITE = "registry:write"


@dataclass(frozen=True)
class RecordKind:
    """What differs between sites, facilities and vehicles for the shared rules."""

    name: str  # entity name in events and history: vehicle, facility, site
    label: str  # 车辆
    table: Table
    prefix_search: tuple[str, ...]
    contains_search: tuple[str, ...]

    def matching(self, filters: dict[str, Any], q: str | None) -> repo.Matching:
        """What a list of this kind matches: the filters, and ``q`` searched in this kind's columns."""
        return repo.Matching(
            filters=filters, q=q, prefix_columns=self.prefix_search, contains_columns=self.contains_search
        )


VEHICLES = RecordKind("vehicle", "车辆", vehicle_t, ("code", "plate_number"), ())
FACILITIES = RecordKind("facility", "设施", facility_t, ("code",), ("name",))
SITES = RecordKind("site", "管理对象", site_t, ("code",), ("name",))


# --- scope: the one place that decides ------------------------------------------------------

WRITE_EVERYWHERE = frozenset({"admin", "office"})


def visible_county(caller: Caller, requested: str | None = None) -> str | None:
    """The county a read is limited to (None: city-wide). A county caller sees only its own
    county; asking for another answers 404, as for a record there."""
    require_permission(caller, READ)
    if caller.role != "county":
        return requested
    if not caller.county_code:
        raise Forbidden("此县区账号未绑定县区")
    if requested and requested != caller.county_code:
        raise NotFound(f"县区 {requested} 不存在或不在您的辖区内")
    return caller.county_code


def can_see(caller: Caller, county_code: str) -> bool:
    return caller.role != "county" or caller.county_code == county_code


def can_write(caller: Caller, county_code: str | None) -> None:
    """Admin and office write everywhere, a county in its own county; everyone else reads only."""
    require_permission(caller, WRITE)
    if caller.role in WRITE_EVERYWHERE:
        return
    if caller.role == "county" and caller.county_code and county_code in (None, caller.county_code):
        return
    if caller.role == "county":
        raise Forbidden("只能登记和修改本县区的记录")
    raise Forbidden("此角色只能查看台账，不能修改")


def write_county(caller: Caller, body_county: str | None) -> str:
    """The county a new record belongs to: the caller's own, or the body's for office callers."""
    can_write(caller, body_county)
    if caller.role == "county":
        assert caller.county_code is not None
        return caller.county_code
    if not body_county:
        raise v.field_error("county_code", "必填（市级账号登记时须指明所属县区）")
    return body_county


# --- reads -----------------------------------------------------------------------------------


def get_record(session: Session | Connection, caller: Caller, kind: RecordKind, code: str) -> dict[str, Any]:
    require_permission(caller, READ)
    record = repo.get_public(session, kind.table, code)
    if record is None or not can_see(caller, record["county_code"]):
        raise errors.record_not_found(kind.label, code)
    return record


def list_records(
    session: Session,
    caller: Caller,
    kind: RecordKind,
    county: str | None,
    filters: dict[str, Any],
    q: str | None,
    cursor: str | None,
    limit: int,
    sort: str = "code",
    count: bool = False,
) -> dict[str, Any]:
    county = visible_county(caller, county)
    limit = clamp_limit(limit)
    where = {"county_code": county, **filters}
    text = (q or "").strip() or None
    match = kind.matching(where, text)
    items, next_cursor = repo.list_records(session, kind.table, cursor=cursor, limit=limit, sort=sort, **match)
    page: dict[str, Any] = {"items": items, "next_cursor": next_cursor}
    if count:
        page["total"], page["total_estimated"] = repo.count_records(session, kind.table, **match)
    return page


def history(
    session: Session, caller: Caller, kind: RecordKind, code: str, *, cursor: str | None, limit: int
) -> dict[str, Any]:
    get_record(session, caller, kind, code)
    items, next_cursor = repo.history_page(session, kind.name, code, cursor=cursor, limit=clamp_limit(limit))
    return {"items": items, "next_cursor": next_cursor}


# --- checks against the database -------------------------------------------------------------


def division_problem(state: dict[str, Any], level_of: Callable[[str], str | None]) -> tuple[str, str, str, bool] | None:
    """The first thing wrong with a record's divisions: county registered; street under the county;
    community under the street (a community without a street fills it in). As (field, sentence, value,
    unregistered): an unregistered code's sentence is bare, one from ``check_under`` names the field.
    ``level_of(code)``: the registered level of a division code (None: not registered). The import's
    row checks share it."""
    county = state["county_code"]
    if level_of(county) != "county":
        return "county_code", f"{county} 不是已登记的县区", county, True
    street, community = state.get("street_code"), state.get("community_code")
    if community and not street:
        street = state["street_code"] = community[:9]
    for level, code, parent in (("street", street, county), ("community", community, street)):
        if not code or not parent:
            continue
        field = v.LEVEL_FIELD[level]
        try:
            v.check_under(code, level, parent)
        except ValueError as exc:
            return field, str(exc), code, False
        if level_of(code) != level:
            return field, f"{code} 不是已登记的{'街道（乡镇）' if level == 'street' else '社区（村）'}", code, True
    return None


def _check_divisions(session: Session, state: dict[str, Any]) -> None:
    problem = division_problem(state, lambda code: repo.division_level(session, code))
    if problem is None:
        return
    field, text, value, unregistered = problem
    if unregistered:
        raise v.field_error(field, text, value)
    raise InvalidInput(text, details=[ErrorDetail(field=field, message=text, value=value)])


def _check_unique(session: Session, kind: RecordKind, state: dict[str, Any], record_id: int | None) -> None:
    """The external id and (vehicles) the plate are nobody else's; a 409 naming field, value and owner."""
    external_id = state.get("external_id")
    if external_id:
        owner = repo.external_id_owner(session, kind.table, state["county_code"], external_id, record_id)
        if owner:
            raise errors.duplicate("external_id", f"县区系统编号 {external_id} 已由 {owner} 使用", external_id)
    if kind is VEHICLES:
        owner = repo.active_plate_owner(session, state["plate_number"], record_id)
        if owner:
            plate = state["plate_number"]
            raise errors.duplicate("plate_number", f"车牌号 {plate} 已登记为车辆 {owner}", plate)


def _check_state(session: Session, kind: RecordKind, state: dict[str, Any], record_id: int | None) -> None:
    """Every rule a record must satisfy, checked on the state it would have after the write."""
    _check_divisions(session, state)
    _check_unique(session, kind, state, record_id)
    if kind is FACILITIES:
        try:
            state["category"] = v.facility_category(state["kind"], state.get("category"))
        except ValueError as exc:
            raise InvalidInput(str(exc), details=[ErrorDetail(field="category", message=str(exc))]) from None
        site_code = state.get("site_code")
        if site_code and repo.site_county(session, site_code) != state["county_code"]:
            raise v.field_error("site_code", f"{site_code} 不是本县区已登记的管理对象", site_code)
    elif kind is SITES and state.get("covered") and not state.get("covered_since"):
        state["covered_since"] = clock.today()


def _write(
    session: Session,
    kind: RecordKind,
    state: dict[str, Any],
    record_id: int | None,
    action: Callable[[], None],
) -> None:
    """Run a write in a savepoint; the unique indexes are the last word on duplicates. A concurrent
    writer that got there first has committed by the time the index says so: its record is named."""
    try:
        with session.begin_nested():
            action()
    except IntegrityError as exc:
        text = str(exc.orig)
        if "plate_number" not in text and "external_id" not in text:
            raise
        _check_unique(session, kind, state, record_id)  # raises the 409 naming the owner
        field = "plate_number" if "plate_number" in text else "external_id"
        value = str(state.get(field) or "")
        what = "车牌号已被在用车辆使用" if field == "plate_number" else "县区系统编号已被使用"
        raise errors.duplicate(field, f"{what}：{value}" if value else what, value) from None


def _record_change(
    session: Session,
    caller: Caller,
    kind: RecordKind,
    verb: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """One history row and one event, in the transaction of the change."""
    row = repo.history_row(kind.name, after, action, (caller.sub, caller.name), clock.now())
    repo.add_history(session, row, before, after)
    changed = sorted(k for k in after if before is not None and before.get(k) != after.get(k))
    data = {"code": after["code"], "county_code": after["county_code"], "record": after}
    if before is not None:
        data["changed"] = [k for k in changed if k not in {"version", "updated_at"}]
    outbox.emit(session, kind.name, verb, after["code"], data)
    counters.apply_change(session, kind.name, before, after)


# --- writes ----------------------------------------------------------------------------------


def _legacy_residual(session: Session, kind: RecordKind, state: dict[str, Any]) -> bool:
    """Only a residual-waste vehicle's number depends on it (``numbering``): ask only then."""
    return kind.name == "vehicle" and state.get("category") == "residual" and repo.legacy_residual_numbers(session)


def _create(
    session: Session,
    settings: Settings,
    caller: Caller,
    kind: RecordKind,
    county: str,
    body: BaseModel,
    external_id: str | None = None,
) -> Written:
    state = body.model_dump()
    state["county_code"] = county
    if external_id is not None:
        state["external_id"] = external_id
    _check_state(session, kind, state, None)
    seq = repo.take_number(session, counter_t, county, kind.name)
    code = numbering.render(
        settings.code_template(kind.name, legacy_residual=_legacy_residual(session, kind, state)),
        county_code=county,
        seq=seq,
        kind=state.get("kind", kind.name),
        category=state.get("category"),
    )
    now = clock.now()
    values = {**state, "code": code, "status": "active", "created_at": now, "updated_at": now, "version": 1}
    _write(session, kind, values, None, lambda: repo.insert_record(session, kind.table, values))
    after = repo.jsonable(repo.get_public(session, kind.table, code) or {})
    _record_change(session, caller, kind, "registered", "created", None, after)
    return Written(after, created=True)


def _update(
    session: Session, caller: Caller, kind: RecordKind, record: dict[str, Any], changes: dict[str, Any]
) -> Written:
    if record["status"] != "active":
        raise errors.decommissioned(kind.label, record["code"])
    state = {**record, **changes}
    _check_state(session, kind, state, record["id"])
    diff = {k: val for k, val in state.items() if record.get(k) != val}
    before = repo.jsonable(repo.to_public(record))
    if not diff:
        return Written(before)
    values = {**diff, "version": record["version"] + 1, "updated_at": clock.now()}
    _write(session, kind, state, record["id"], lambda: repo.update_record(session, kind.table, record["id"], values))
    after = repo.jsonable(repo.get_public(session, kind.table, record["code"]) or {})
    _record_change(session, caller, kind, "updated", "updated", before, after)
    return Written(after)


def _writable(session: Session, caller: Caller, kind: RecordKind, code: str) -> dict[str, Any]:
    """The record, locked for the write; 404 outside the caller's county, 403 for readers."""
    require_permission(caller, WRITE)
    record = repo.get_by_code(session, kind.table, code, for_update=True)
    if record is None or not can_see(caller, record["county_code"]):
        raise errors.record_not_found(kind.label, code)
    can_write(caller, record["county_code"])
    return record


def register(
    session: Session,
    settings: Settings,
    caller: Caller,
    kind: RecordKind,
    body: BaseModel,
    write: IdempotentWrite,
) -> Written:
    """``POST /<kind>s``: a new record with its unified number (created)."""
    county = write_county(caller, getattr(body, "county_code", None))
    return write.run(session, body, lambda: _create(session, settings, caller, kind, county, body))


def update(session: Session, caller: Caller, kind: RecordKind, code: str, body: BaseModel) -> Written:
    """``PATCH /<kind>s/{code}``: only the fields sent change."""
    record = _writable(session, caller, kind, code)
    return _update(session, caller, kind, record, body.model_dump(exclude_unset=True))


def upsert(
    session: Session,
    settings: Settings,
    caller: Caller,
    kind: RecordKind,
    external_id: str,
    body: BaseModel,
    write: IdempotentWrite,
) -> Written:
    """``PUT /<kind>s/by-external-id/{external_id}``: create or replace the county's record."""
    county = write_county(caller, getattr(body, "county_code", None))
    body_external = getattr(body, "external_id", None)
    if body_external is not None and body_external != external_id:
        raise v.field_error("external_id", "与地址中的县区系统编号不一致", body_external)

    def action() -> Written:
        record = repo.get_by_external_id(session, kind.table, county, external_id, for_update=True)
        if record is None:
            try:
                with session.begin_nested():  # a lost race leaves no trace (not even a number taken)
                    return _create(session, settings, caller, kind, county, body, external_id=external_id)
            except Conflict as exc:
                if not exc.code.startswith("duplicate_"):
                    raise
                # A concurrent twin created it since we looked (PostgreSQL: its insert has committed):
                # answer as the write after it would, an update of that record (200 if nothing differs).
                record = repo.get_by_external_id(session, kind.table, county, external_id, for_update=True)
                if record is None:
                    raise  # a real conflict: the plate belongs to another record
        replacement = body.model_dump(exclude={"county_code"})
        replacement["external_id"] = external_id
        return _update(session, caller, kind, record, replacement)

    return write.run(session, body, action)


def decommission(
    session: Session,
    caller: Caller,
    kind: RecordKind,
    code: str,
    body: BaseModel | None,
    write: IdempotentWrite,
) -> Written:
    """``POST /<kind>s/{code}/decommission``: final; a second call answers the same and writes nothing."""
    record = _writable(session, caller, kind, code)

    def action() -> Written:
        before = repo.jsonable(repo.to_public(record))
        if record["status"] == "decommissioned":
            return Written(before)
        now = clock.now()
        values = {"status": "decommissioned", "decommissioned_at": now, "updated_at": now}
        values["version"] = record["version"] + 1
        repo.update_record(session, kind.table, record["id"], values)
        after = repo.jsonable(repo.get_public(session, kind.table, code) or {})
        reason = getattr(body, "reason", None)
        logged = {**after, "reason": reason} if reason else after
        _record_change(session, caller, kind, "decommissioned", "decommissioned", before, logged)
        return Written(after)

    return write.run(session, body, action)


# --- divisions and units ---------------------------------------------------------------------


def divisions(
    session: Session, *, level: str | None, parent: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    items, next_cursor = repo.divisions_page(
        session, level=level, parent=parent, cursor=cursor, limit=clamp_limit(limit)
    )
    return {"items": items, "next_cursor": next_cursor}


def unit(session: Session, code: str) -> dict[str, Any]:
    found = repo.unit(session, code)
    if found is None:
        raise NotFound(f"成员单位 {code} 不存在", code="unit_not_found")
    return found


# --- coverage and statistics -----------------------------------------------------------------


def _rate(covered: int, total: int) -> dict[str, Any]:
    return {"covered": covered, "total": total, "rate": round(covered / total, 4) if total else None}


def _block(counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    by_kind = {k: _rate(*counts.get(k, (0, 0))) for k in v.SITE_KINDS}
    return {"residential": by_kind["residential"], "by_kind": by_kind}


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in the city, as UTC."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=clock.SHANGHAI).astimezone(UTC)


def coverage(session: Session, caller: Caller, *, as_of: date | None, county: str | None) -> dict[str, Any]:
    """Coverage (覆盖率) per site kind, per county and in total, as of the end of a day.

    residential rate = residential sites with sorted drop-off, collection and transport since
    ``as_of`` or earlier ÷ residential sites existing at the end of ``as_of``. ``city`` is the sum
    over the counties answered (the whole city unless one county is asked for or visible).
    """
    county = visible_county(caller, county)
    as_of = as_of or clock.today()
    rows = repo.coverage_counts(session, as_of=as_of, boundary=end_of_day(as_of), county=county)
    per_county: dict[str, dict[str, tuple[int, int]]] = {}
    city: dict[str, tuple[int, int]] = {}
    for county_code, kind, total, covered in rows:
        per_county.setdefault(county_code, {})[kind] = (covered, total)
        c, t = city.get(kind, (0, 0))
        city[kind] = (c + covered, t + total)
    counties = [
        {"county_code": code, "county_name": name, **_block(per_county.get(code, {}))}
        for code, name in repo.county_names(session, county)
    ]
    return {"as_of": as_of.isoformat(), "city": _block(city), "counties": counties}


def stats(session: Session | Connection, caller: Caller, *, county: str | None) -> dict[str, Any]:
    """Active facilities, vehicles and sites by category, kind and county (home dashboard), read
    from the ``record_count`` counters: the same cost at 10,000 and at 1,000,000 facilities."""
    county = visible_county(caller, county)
    return counters.report(session, county)


ACTION_NAMES = {"created": "登记", "updated": "修改", "decommissioned": "注销"}
KIND_LABELS = {"vehicle": "车辆", "facility": "设施", "site": "管理对象"}


def _summary(row: dict[str, Any]) -> str:
    after = row.get("after") or {}
    before = row.get("before") or {}
    label = KIND_LABELS.get(row["kind"], row["kind"])
    text = f"{ACTION_NAMES.get(row['action'], row['action'])}{label} {row['code']}"
    name = after.get("plate_number") if row["kind"] == "vehicle" else after.get("name")
    if name:
        text += f"（{name}）"
    if row["action"] == "updated" and before:
        changed = [
            v.LABELS.get(k, k)
            for k in sorted(after)
            if k not in {"version", "updated_at"} and before.get(k) != after.get(k)
        ]
        if changed:
            text += "：" + "、".join(changed[:5]) + ("等" if len(changed) > 5 else "")
    elif row["action"] == "decommissioned" and after.get("reason"):
        text += f"：{after['reason']}"
    return text


def changes(session: Session | Connection, caller: Caller, *, since: datetime | None, limit: int) -> dict[str, Any]:
    """``GET /changes``: the latest changes across sites, facilities and vehicles, newest first."""
    county = visible_county(caller, None)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows = repo.recent_changes(session, county=county, since=since, limit=max(1, min(limit, 200)))
    items = [
        {
            "kind": r["kind"],
            "code": r["code"],
            "action": r["action"],
            "actor_name": r["actor_name"],
            "at": clock.as_utc(r["at"]),
            "summary": _summary(r),
        }
        for r in rows
    ]
    return {"items": items}


MAX_POINTS = 50_000


def facility_points(
    session: Session | Connection,
    caller: Caller,
    *,
    county: str | None,
    category: str | None,
    kind: str | None,
    status: str | None,
    limit: int,
) -> dict[str, Any]:
    """``GET /facilities/points``: compact [code, lat, lng, category, kind, name] rows for the map.

    ``total`` comes from the dashboard counters (the filters are exactly their dimensions), so the
    answer costs ``limit`` index rows however many facilities match."""
    county = visible_county(caller, county)
    limit = max(1, min(limit, MAX_POINTS))
    filters = {"county_code": county, "category": category, "kind": kind, "status": status}
    points = repo.facility_points(session, filters=filters, limit=limit + 1)
    truncated = len(points) > limit
    total = 0
    for row_kind, county_code, row_category, sub_kind, row_status, n in repo.counts(session, county):
        if row_kind != "facility" or (category and row_category != category) or (kind and sub_kind != kind):
            continue
        if (status and row_status != status) or (county and county_code != county):
            continue
        total += int(n)
    return {"items": [list(p) for p in points[:limit]], "total": total, "truncated": truncated}
