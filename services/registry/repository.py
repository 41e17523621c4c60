"""Every query of the registry, in SQLAlchemy Core: rows come back as plain dicts, never ORM objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypedDict, Unpack

import orjson
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.common import clock
from services.common.pagination import keyset, split_page
from services.registry.models import (
    counter_t,
    division_t,
    facility_t,
    history_t,
    record_count_t,
    site_t,
    unit_t,
    vehicle_t,
)

_TIMESTAMPS = ("created_at", "updated_at", "decommissioned_at")


def public_columns(table: Table) -> list[Any]:
    return [c for c in table.c if c.name != "id"]


def to_public(row: Mapping[str, Any] | Row[Any]) -> dict[str, Any]:
    """A record as the API shows it (timestamps as aware UTC: SQLite gives them back naive)."""
    data = dict(row._mapping if isinstance(row, Row) else row)
    data.pop("id", None)
    for name in _TIMESTAMPS:
        value = data.get(name)
        if isinstance(value, datetime):
            data[name] = clock.as_utc(value)
    return data


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Dates and times as ISO strings, for JSON columns (history, outbox, idempotency)."""
    result: dict[str, Any] = orjson.loads(orjson.dumps(data))
    return result


# --- records (sites, facilities, vehicles) ----------------------------------------------------


def get_by_code(
    session: Session | Connection, table: Table, code: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    stmt = select(*table.c).where(table.c.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return dict(row._mapping) if row is not None else None


# One statement per table, built once: SQLAlchemy then finds its compiled form from the memoized
# cache key instead of rebuilding and hashing a 16-column select on every look-up.
_PUBLIC_BY_CODE: dict[str, Select[Any]] = {}


def get_public(session: Session | Connection, table: Table, code: str) -> dict[str, Any] | None:
    """The hot path of ``GET /<kind>/{code}``: one indexed query, columns only."""
    stmt = _PUBLIC_BY_CODE.get(table.name)
    if stmt is None:
        stmt = select(*public_columns(table)).where(table.c.code == bindparam("code"))
        _PUBLIC_BY_CODE[table.name] = stmt
    row = session.execute(stmt, {"code": code}).first()
    return to_public(row) if row is not None else None


def get_by_external_id(
    session: Session, table: Table, county_code: str, external_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    stmt = select(*table.c).where(table.c.county_code == county_code, table.c.external_id == external_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return dict(row._mapping) if row is not None else None


def external_id_owner(
    session: Session, table: Table, county_code: str, external_id: str, exclude_id: int | None
) -> str | None:
    stmt = select(table.c.code).where(table.c.county_code == county_code, table.c.external_id == external_id)
    if exclude_id is not None:
        stmt = stmt.where(table.c.id != exclude_id)
    return session.execute(stmt).scalar()


def active_plate_owner(session: Session, plate: str, exclude_id: int | None) -> str | None:
    stmt = select(vehicle_t.c.code).where(vehicle_t.c.plate_number == plate, vehicle_t.c.status == "active")
    if exclude_id is not None:
        stmt = stmt.where(vehicle_t.c.id != exclude_id)
    return session.execute(stmt).scalar()


def site_county(session: Session, code: str) -> str | None:
    return session.execute(select(site_t.c.county_code).where(site_t.c.code == code)).scalar()


def insert_record(session: Session, table: Table, values: dict[str, Any]) -> None:
    session.execute(insert(table).values(**values))


def update_record(session: Session, table: Table, record_id: int, values: dict[str, Any]) -> None:
    session.execute(update(table).where(table.c.id == record_id).values(**values))


def legacy_residual_numbers(session: Session | Connection) -> bool:
    """Has this installation issued residual-waste vehicle numbers with the earlier default template
    (``360102-O00001``)? Then it keeps that letter (see ``numbering``)."""
    stmt = select(vehicle_t.c.id).where(vehicle_t.c.category == "residual", vehicle_t.c.code.like("%-O%")).limit(1)
    return session.execute(stmt).first() is not None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The list sorts: key columns (``code`` last, the tie-breaker) and direction. Each has indexes
# behind it (see ``models``): ``code`` and ``-code`` walk the (…, code) indexes either way,
# ``-updated_at`` the (county_code, updated_at, code) / (updated_at, code) ones, ``name`` the
# (county_code, name, code) / (name, code) ones.
SORTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "code": (("code",), False),
    "-code": (("code",), True),
    "-updated_at": (("updated_at", "code"), True),
    "name": (("name", "code"), False),
}


class Matching(TypedDict):
    """What a record list matches: equality ``filters`` (column → value, None: any), and the search
    text ``q`` as a prefix of the ``prefix_columns`` or a part of the ``contains_columns``."""

    filters: Mapping[str, Any]
    q: str | None
    prefix_columns: tuple[str, ...]
    contains_columns: tuple[str, ...]


def _filtered(stmt: Select[Any], table: Table, match: Matching) -> Select[Any]:
    """The list's filters: equality on each given column (a street also names its county, so the
    (county_code, …) indexes serve it), and ``q`` as a prefix of the codes or a part of the names."""
    filters, q = match["filters"], match["q"]
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(table.c[name] == value)
    street = filters.get("street_code")
    if street and filters.get("county_code") is None:
        stmt = stmt.where(table.c.county_code == street[:6])
    if q:
        pattern = _escape_like(q)
        conditions: list[ColumnElement[bool]] = [
            table.c[name].like(f"{pattern}%", escape="\\") for name in match["prefix_columns"]
        ]
        conditions += [table.c[name].like(f"%{pattern}%", escape="\\") for name in match["contains_columns"]]
        stmt = stmt.where(or_(*conditions))
    return stmt


ESTIMATE_PAST = 10_000  # lists past this many matches show the planner's estimate (PostgreSQL)


# List filters the dashboard counters (``record_count``) are keyed by: kind and energy type are ``sub_kind``.
_COUNTER_COLUMNS = {
    "county_code": "county_code",
    "status": "status",
    "category": "category",
    "kind": "sub_kind",
    "energy_type": "sub_kind",
}


def _from_counters(session: Session | Connection, kind: str, filters: Mapping[str, Any], q: str | None) -> int | None:
    """The exact number from the counters when they cover the filters (no search, street or import):
    a few rows whatever the size of the table. ``None`` otherwise."""
    if q:
        return None
    c = record_count_t.c
    stmt = select(func.coalesce(func.sum(c.count), 0)).where(c.kind == kind)
    for name, value in filters.items():
        if value is None:
            continue
        column = _COUNTER_COLUMNS.get(name)
        if column is None:
            return None
        stmt = stmt.where(c[column] == value)
    return int(session.execute(stmt).scalar_one())


def count_records(session: Session | Connection, table: Table, **match: Unpack[Matching]) -> tuple[int, bool]:
    """How many records match the list's filters, and whether that is an estimate. Filters the
    dashboard counters cover (county, category, kind, energy type, status) read them: exact, and the
    same cost at any size. Otherwise on PostgreSQL, when the planner expects more than
    ``ESTIMATE_PAST`` rows, its estimate (``EXPLAIN``); below that, and on SQLite, an exact count."""
    counted = _from_counters(session, table.name, match["filters"], match["q"])
    if counted is not None:
        return counted, False
    where = _filtered(select(table.c.id), table, match)
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        compiled = where.compile(dialect=bind.dialect)
        conn = session.connection() if isinstance(session, Session) else session
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}", compiled.params).scalar_one()
        plan = orjson.loads(plan) if isinstance(plan, str | bytes) else plan
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        if estimate > ESTIMATE_PAST:
            return estimate, True
    total = session.execute(select(func.count()).select_from(where.subquery())).scalar_one()
    return int(total), False


def list_records(
    session: Session | Connection,
    table: Table,
    *,
    cursor: str | None,
    limit: int,
    sort: str = "code",
    **match: Unpack[Matching],
) -> tuple[list[dict[str, Any]], str | None]:
    """One page in the order of ``sort`` (a key of ``SORTS``). Equality filters use the
    (county_code, [category|kind,] code) indexes for the code sorts and the (county_code, key, code)
    ones for the others, so a first page and a page deep in the cursor cost the same."""
    stmt = _filtered(select(*public_columns(table)), table, match)
    names, descending = SORTS[sort]
    columns = [table.c[name] for name in names]
    stmt = keyset(stmt, columns, cursor=cursor, limit=limit, descending=descending, tag=sort)
    rows = [to_public(r) for r in session.execute(stmt).all()]
    return split_page(rows, limit, lambda r: [r[name] for name in names], tag=sort)


# --- history ---------------------------------------------------------------------------------


def history_row(
    kind: str, record: Mapping[str, Any], action: str, actor: tuple[str, str], at: datetime
) -> dict[str, Any]:
    """A history row about ``record`` (its code and county) by ``actor`` (sub, name), without its
    before and after: the API, the import and the demo add those as each stores them."""
    return {
        "kind": kind,
        "code": record["code"],
        "county_code": record["county_code"],
        "action": action,
        "actor_sub": actor[0],
        "actor_name": actor[1],
        "at": at,
    }


def add_history(
    session: Session, row: dict[str, Any], before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    session.execute(insert(history_t).values(**row, before=before, after=after))


def history_page(
    session: Session, kind: str, code: str, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    stmt = select(
        history_t.c.id,
        history_t.c.action,
        history_t.c.actor_sub,
        history_t.c.actor_name,
        history_t.c.at,
        history_t.c.before,
        history_t.c.after,
    ).where(history_t.c.kind == kind, history_t.c.code == code)
    stmt = keyset(stmt, [history_t.c.id], cursor=cursor, limit=limit)
    rows = []
    for row in session.execute(stmt).all():
        item = dict(row._mapping)
        item["at"] = clock.as_utc(item["at"])
        rows.append(item)
    return split_page(rows, limit, lambda r: [r["id"]])


# --- divisions and units ---------------------------------------------------------------------


def division(session: Session | Connection, code: str) -> dict[str, Any] | None:
    row = session.execute(select(*division_t.c).where(division_t.c.code == code)).first()
    return dict(row._mapping) if row is not None else None


def division_level(session: Session | Connection, code: str) -> str | None:
    """The level of a registered division (None: no such division)."""
    level: str | None = session.execute(select(division_t.c.level).where(division_t.c.code == code)).scalar()
    return level


def divisions_page(
    session: Session, *, level: str | None, parent: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    stmt = select(*division_t.c)
    if level:
        stmt = stmt.where(division_t.c.level == level)
    if parent:
        stmt = stmt.where(division_t.c.parent_code == parent)
    stmt = keyset(stmt, [division_t.c.code], cursor=cursor, limit=limit)
    rows = [dict(r._mapping) for r in session.execute(stmt).all()]
    return split_page(rows, limit, lambda r: [r["code"]])


def county_names(session: Session, county: str | None) -> list[tuple[str, str]]:
    stmt = select(division_t.c.code, division_t.c.name).where(division_t.c.level == "county")
    if county:
        stmt = stmt.where(division_t.c.code == county)
    return [(r.code, r.name) for r in session.execute(stmt.order_by(division_t.c.code)).all()]


def units(session: Session) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.execute(select(*unit_t.c).order_by(unit_t.c.code)).all()]


def unit(session: Session, code: str) -> dict[str, Any] | None:
    row = session.execute(select(*unit_t.c).where(unit_t.c.code == code)).first()
    return dict(row._mapping) if row is not None else None


# --- coverage and statistics -----------------------------------------------------------------


def coverage_counts(
    session: Session, *, as_of: date, boundary: datetime, county: str | None
) -> list[tuple[str, str, int, int]]:
    """(county, site kind, sites existing at the end of ``as_of``, of them covered) in one GROUP BY.

    A site exists from its registration until its decommissioning; it counts as covered when it has
    sorted drop-off, collection and transport and has been covered since ``as_of`` or earlier.
    """
    s = site_t.c
    covered = case(
        (
            and_(
                s.covered.is_(True),
                s.sorted_collection.is_(True),
                s.sorted_transport.is_(True),
                s.covered_since.is_not(None),
                s.covered_since <= literal(as_of, s.covered_since.type),
            ),
            1,
        ),
        else_=0,
    )
    stmt = (
        select(s.county_code, s.kind, func.count().label("total"), func.sum(covered).label("covered"))
        .where(s.created_at < boundary, or_(s.decommissioned_at.is_(None), s.decommissioned_at >= boundary))
        .group_by(s.county_code, s.kind)
    )
    if county:
        stmt = stmt.where(s.county_code == county)
    return [(r.county_code, r.kind, int(r.total), int(r.covered or 0)) for r in session.execute(stmt).all()]


def count_by(session: Session, table: Table, column: str, county: str | None) -> dict[str, int]:
    """Active records of ``table`` counted by one column, in SQL."""
    col = table.c[column]
    stmt = select(col, func.count()).where(table.c.status == "active").group_by(col)
    if county:
        stmt = stmt.where(table.c.county_code == county)
    return {str(key): int(n) for key, n in session.execute(stmt).all()}


def recent_changes(
    session: Session | Connection, *, county: str | None, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """History rows across kinds, newest first: a backward walk of (at, id) or (county_code, at, id)."""
    h = history_t.c
    stmt = select(h.id, h.kind, h.code, h.action, h.actor_name, h.at, h.before, h.after)
    if county:
        stmt = stmt.where(h.county_code == county)
    if since is not None:
        stmt = stmt.where(h.at >= since)
    stmt = stmt.order_by(h.at.desc(), h.id.desc()).limit(limit)
    return [dict(r._mapping) for r in session.execute(stmt).all()]


POINT_COLUMNS = ("code", "lat", "lng", "category", "kind", "name")


def facility_points(
    session: Session | Connection, *, filters: dict[str, str | None], limit: int
) -> list[tuple[Any, ...]]:
    """Facility map points in code order, at most ``limit``: the (county_code, [category|kind,]
    code) and (category|kind, code) indexes serve each filter combination."""
    f = facility_t.c
    stmt = select(*(f[name] for name in POINT_COLUMNS))
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(f[name] == value)
    stmt = stmt.order_by(f.code).limit(limit)
    return [tuple(r) for r in session.execute(stmt).all()]


# --- numbering counters ----------------------------------------------------------------------


def _insert_counter(dialect: str, table: Table, county_code: str, kind: str) -> Any:
    values = {"county_code": county_code, "kind": kind, "next_value": 1}
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    return sqlite.insert(table).values(**values).on_conflict_do_nothing()


def take_number(session: Session | Connection, table: Table, county_code: str, kind: str) -> int:
    """The next number of (county, kind), taken atomically in the caller's transaction."""
    dialect = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    session.execute(_insert_counter(dialect, table, county_code, kind))
    stmt = (
        update(table)
        .where(table.c.county_code == county_code, table.c.kind == kind)
        .values(next_value=table.c.next_value + 1)
        .returning(table.c.next_value)
    )
    next_value = session.execute(stmt).scalar_one()
    return int(next_value) - 1


def raise_counters(conn: Connection, last: Mapping[tuple[str, str], int]) -> None:
    """After seeding: each (county, kind) counter continues after its ``last`` number (never lowered)."""
    rows = [{"county_code": c, "kind": k, "next_value": n + 1} for (c, k), n in last.items()]
    if not rows:
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(counter_t).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["county_code", "kind"],
        set_={"next_value": func.max(counter_t.c.next_value, stmt.excluded.next_value)}
        if conn.dialect.name == "sqlite"
        else {"next_value": func.greatest(counter_t.c.next_value, stmt.excluded.next_value)},
    )
    conn.execute(stmt)


# --- dashboard counters (services/registry/stats.py keeps the rules) ------------------------

CountKey = tuple[str, str, str, str, str]  # kind, county_code, category, sub_kind, status


def add_counts(session: Session | Connection, deltas: Mapping[CountKey, int]) -> None:
    """Add each delta to its counter (upsert), in the caller's transaction; one statement."""
    rows = [
        {"kind": k[0], "county_code": k[1], "category": k[2], "sub_kind": k[3], "status": k[4], "count": n}
        for k, n in deltas.items()
        if n
    ]
    if not rows:
        return
    bind = session.get_bind() if isinstance(session, Session) else session
    dialect = bind.dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(record_count_t).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "county_code", "category", "sub_kind", "status"],
        set_={"count": record_count_t.c.count + stmt.excluded.count},
    )
    session.execute(stmt)


def _grouped_counts() -> list[tuple[str, tuple[Any, ...], tuple[Any, ...]]]:
    """Per kind: the columns (county, category, sub kind, status) to count by, and the grouping."""
    f, v, s = facility_t.c, vehicle_t.c, site_t.c
    return [
        ("facility", (f.county_code, f.category, f.kind, f.status), (f.county_code, f.category, f.kind, f.status)),
        (
            "vehicle",
            (v.county_code, v.category, v.energy_type, v.status),
            (v.county_code, v.category, v.energy_type, v.status),
        ),
        ("site", (s.county_code, literal(""), s.kind, s.status), (s.county_code, s.kind, s.status)),
    ]


def recompute(conn: Connection | Session) -> None:
    """Rebuild every counter from the tables (after bulk seeding, or to repair)."""
    conn.execute(delete(record_count_t))
    columns = ["kind", "county_code", "category", "sub_kind", "status", "count"]
    for kind, cols, group in _grouped_counts():
        query = select(literal(kind), *cols, func.count()).group_by(*group)
        conn.execute(insert(record_count_t).from_select(columns, query))


def counts(session: Session | Connection, county: str | None) -> list[tuple[str, str, str, str, str, int]]:
    """Every non-zero counter row (of one county), as (kind, county, category, sub_kind, status, n)."""
    c = record_count_t.c
    stmt = select(c.kind, c.county_code, c.category, c.sub_kind, c.status, c.count).where(c.count != 0)
    if county:
        stmt = stmt.where(c.county_code == county)
    return [(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in session.execute(stmt).all()]


def table_counts(session: Session | Connection) -> dict[CountKey, int]:
    """The same counters computed from the tables (for tests and repair checks)."""
    result: dict[CountKey, int] = {}
    for kind, cols, group in _grouped_counts():
        query = select(*cols, func.count()).group_by(*group)
        for county_code, category, sub_kind, status, n in session.execute(query).all():
            result[(kind, county_code, category or "", sub_kind, status)] = int(n)
    return result
