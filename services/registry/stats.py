"""Dashboard counters (``record_count``): how many sites, facilities and vehicles exist per
(kind, county, category, sub-kind, status).

The counters change in the same transaction as the records: ``apply_change`` from the service
layer for every create, change and decommission, ``add_counts`` from the bulk import, ``recompute``
after demo seeding (one ``INSERT ... SELECT ... GROUP BY`` per table). ``GET /stats`` then reads a
few hundred counter rows instead of counting a million facilities.

Key per kind: facilities (category, facility kind), vehicles (category, energy type), sites
("", site kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.registry.models import facility_t, record_count_t, site_t, vehicle_t

CountKey = tuple[str, str, str, str, str]  # kind, county_code, category, sub_kind, status


def key_of(kind: str, record: Mapping[str, Any]) -> CountKey:
    """The counter a record (as stored or as the API shows it) counts in."""
    if kind == "vehicle":
        category, sub_kind = record["category"], record["energy_type"]
    elif kind == "facility":
        category, sub_kind = record["category"], record["kind"]
    else:
        category, sub_kind = "", record["kind"]
    return kind, record["county_code"], category or "", sub_kind or "", record.get("status") or "active"


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


def apply_change(
    session: Session, kind: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> None:
    """Move one record between counters: created (no ``before``), changed, decommissioned."""
    deltas: dict[CountKey, int] = {}
    if before is not None:
        k = key_of(kind, before)
        deltas[k] = deltas.get(k, 0) - 1
    if after is not None:
        k = key_of(kind, after)
        deltas[k] = deltas.get(k, 0) + 1
    add_counts(session, {k: n for k, n in deltas.items() if n})


def recompute(conn: Connection | Session) -> None:
    """Rebuild every counter from the tables (after bulk seeding, or to repair)."""
    conn.execute(delete(record_count_t))
    columns = ["kind", "county_code", "category", "sub_kind", "status", "count"]
    f, v, s = facility_t.c, vehicle_t.c, site_t.c
    selects = [
        select(literal("facility"), f.county_code, f.category, f.kind, f.status, func.count()).group_by(
            f.county_code, f.category, f.kind, f.status
        ),
        select(literal("vehicle"), v.county_code, v.category, v.energy_type, v.status, func.count()).group_by(
            v.county_code, v.category, v.energy_type, v.status
        ),
        select(literal("site"), s.county_code, literal(""), s.kind, s.status, func.count()).group_by(
            s.county_code, s.kind, s.status
        ),
    ]
    for query in selects:
        conn.execute(insert(record_count_t).from_select(columns, query))


def counts(session: Session | Connection, county: str | None) -> list[tuple[str, str, str, str, str, int]]:
    """Every non-zero counter row (of one county), as (kind, county, category, sub_kind, status, n)."""
    c = record_count_t.c
    stmt = select(c.kind, c.county_code, c.category, c.sub_kind, c.status, c.count).where(c.count != 0)
    if county:
        stmt = stmt.where(c.county_code == county)
    return [(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in session.execute(stmt).all()]


def _bump(block: dict[str, int], key: str, n: int) -> None:
    block[key] = block.get(key, 0) + n


def report(session: Session | Connection, county: str | None) -> dict[str, Any]:
    """``GET /stats`` from the counters: active records by category and kind / energy type, the
    same per county (``by_county``), and how many are decommissioned."""
    facilities: dict[str, Any] = {"total": 0, "by_category": {}, "by_kind": {}}
    vehicles: dict[str, Any] = {"total": 0, "by_category": {}, "by_energy_type": {}}
    sites: dict[str, Any] = {"total": 0, "by_kind": {}}
    by_county: dict[str, dict[str, Any]] = {}
    decommissioned = {"facilities": 0, "vehicles": 0, "sites": 0}
    names = {"facility": "facilities", "vehicle": "vehicles", "site": "sites"}
    for kind, county_code, category, sub_kind, status, n in counts(session, county):
        name = names[kind]
        if status != "active":
            decommissioned[name] += n
            continue
        block = {"facilities": facilities, "vehicles": vehicles, "sites": sites}[name]
        local = by_county.setdefault(
            county_code,
            {
                "facilities": {"total": 0, "by_category": {}},
                "vehicles": {"total": 0, "by_category": {}},
                "sites": {"total": 0, "by_kind": {}},
            },
        )[name]
        block["total"] += n
        local["total"] += n
        if kind == "site":
            _bump(block["by_kind"], sub_kind, n)
            _bump(local["by_kind"], sub_kind, n)
            continue
        _bump(block["by_category"], category, n)
        _bump(local["by_category"], category, n)
        _bump(block["by_kind" if kind == "facility" else "by_energy_type"], sub_kind, n)
    return {
        "county_code": county,
        "facilities": facilities,
        "vehicles": vehicles,
        "sites": sites,
        "by_county": dict(sorted(by_county.items())),
        "decommissioned": decommissioned,
    }


def table_counts(session: Session | Connection) -> dict[CountKey, int]:
    """The same counters computed from the tables (for tests and repair checks)."""
    result: dict[CountKey, int] = {}
    f, v, s = facility_t.c, vehicle_t.c, site_t.c
    for kind, query in (
        (
            "facility",
            select(f.county_code, f.category, f.kind, f.status, func.count()).group_by(
                f.county_code, f.category, f.kind, f.status
            ),
        ),
        (
            "vehicle",
            select(v.county_code, v.category, v.energy_type, v.status, func.count()).group_by(
                v.county_code, v.category, v.energy_type, v.status
            ),
        ),
        (
            "site",
            select(s.county_code, literal(""), s.kind, s.status, func.count()).group_by(
                s.county_code, s.kind, s.status
            ),
        ),
    ):
        for county_code, category, sub_kind, status, n in session.execute(query).all():
            result[(kind, county_code, category or "", sub_kind, status)] = int(n)
    return result
