"""Every query of the bulk import: the import job and its row errors, the look-ups of the row checks,
the values seen so far in the file (a temporary SQLite file), the number blocks and the bulk inserts
of the write pass (and of the demo seeding)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Table, Text, bindparam, cast, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.common import clock
from services.registry.models import (
    counter_t,
    division_t,
    history_t,
    import_error_t,
    import_job_t,
    jobs,
    site_t,
    vehicle_t,
)

Conn = Connection | Session
LOOKUP_CHUNK = 500


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + LOOKUP_CHUNK] for i in range(0, len(values), LOOKUP_CHUNK)]


def _dialect(conn: Conn) -> str:
    return (conn.get_bind() if isinstance(conn, Session) else conn).dialect.name


# --- the import job -----------------------------------------------------------------------------


def load_job(conn: Conn, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(import_job_t).where(import_job_t.c.id == job_id)).first()
    return dict(row._mapping) if row is not None else None


def insert_job(conn: Conn, job: dict[str, Any]) -> None:
    conn.execute(import_job_t.insert().values(**job))


def set_job(conn: Conn, job_id: str, *, only_if_status: Sequence[str] = (), **values: Any) -> int:
    """Update the job (``updated_at`` now); with ``only_if_status``, only while in one of those."""
    values.setdefault("updated_at", clock.now())
    stmt = update(import_job_t).where(import_job_t.c.id == job_id)
    if only_if_status:
        stmt = stmt.where(import_job_t.c.status.in_(list(only_if_status)))
    return int(conn.execute(stmt.values(**values)).rowcount)  # type: ignore[attr-defined]


def list_jobs(conn: Conn, *, county: str | None, kind: str | None, limit: int) -> list[dict[str, Any]]:
    t = import_job_t.c
    stmt = select(import_job_t)
    if county is not None:
        stmt = stmt.where(t.county_code == county)
    if kind:
        stmt = stmt.where(t.kind == kind)
    stmt = stmt.order_by(t.created_at.desc(), t.id.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt).all()]


def running_jobs(conn: Conn, statuses: Sequence[str]) -> list[Any]:
    t = import_job_t.c
    return list(conn.execute(select(t.id, t.runner, t.updated_at).where(t.status.in_(list(statuses)))).all())


def pending_kernel_jobs(conn: Conn, dedupe_keys: Sequence[str]) -> set[str]:
    """Which of these kernel jobs (by dedupe key) are still queued or running."""
    if not dedupe_keys:
        return set()
    j = jobs.job.c
    stmt = select(j.dedupe_key).where(j.dedupe_key.in_(list(dedupe_keys)), j.state.in_(["queued", "running"]))
    return {str(k) for k in conn.execute(stmt).scalars()}


def add_errors(conn: Conn, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(import_error_t), rows)


def errors(conn: Conn, job_id: str, limit: int | None) -> list[tuple[int, str, str | None, str]]:
    e = import_error_t.c
    stmt = select(e.row, e.column, e.value, e.message).where(e.job_id == job_id).order_by(e.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(r.row, r.column, r.value, r.message) for r in conn.execute(stmt).all()]


# --- the row checks -------------------------------------------------------------------------------


def division_levels(conn: Conn) -> dict[str, str]:
    return {code: level for code, level in conn.execute(select(division_t.c.code, division_t.c.level)).all()}


def owners_of_external_ids(conn: Conn, table: Table, wanted: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """Records already holding these (county, external id): one query per county and 500 ids, on the
    (county_code, external_id) unique index."""
    t = table.c
    found: dict[tuple[str, str], str] = {}
    for county, ids in wanted.items():
        for part in _chunks(sorted(ids)):
            stmt = select(t.external_id, t.code).where(t.county_code == county, t.external_id.in_(part))
            found.update({(county, r.external_id): r.code for r in conn.execute(stmt).all()})
    return found


def owners_of_plates(conn: Conn, plates: set[str]) -> dict[str, str]:
    t = vehicle_t.c
    found: dict[str, str] = {}
    for part in _chunks(sorted(plates)):
        stmt = select(t.plate_number, t.code).where(t.plate_number.in_(part), t.status == "active")
        found.update({r.plate_number: r.code for r in conn.execute(stmt).all()})
    return found


def site_counties(conn: Conn, codes: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in _chunks(sorted(codes)):
        stmt = select(site_t.c.code, site_t.c.county_code).where(site_t.c.code.in_(part))
        found.update({r.code: r.county_code for r in conn.execute(stmt).all()})
    return found


# --- duplicates inside the file -----------------------------------------------------------------


class FirstSeen:
    """Which row of the file first had a value, for duplicates inside the file. Kept in a temporary
    SQLite file rather than a dict, so memory stays flat however many rows the file has."""

    def __init__(self) -> None:
        folder = tempfile.mkdtemp(prefix="sortline-import-")
        self._db = sqlite3.connect(os.path.join(folder, "seen.db"), check_same_thread=False)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4096;"
            "CREATE TABLE seen (kind INTEGER, key TEXT, row INTEGER, PRIMARY KEY (kind, key)) WITHOUT ROWID;"
        )
        weakref.finalize(self, _drop_seen, self._db, folder)

    def first(self, kind: int, key: str, row: int) -> int:
        """``row`` if ``key`` is new, else the row that had it first."""
        if self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (kind, key, row)).rowcount:
            return row
        found = self._db.execute("SELECT row FROM seen WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return int(found[0])


def _drop_seen(db: sqlite3.Connection, folder: str) -> None:
    db.close()
    shutil.rmtree(folder, ignore_errors=True)


# --- the write pass -------------------------------------------------------------------------------


def reserve_blocks(conn: Conn, kind: str, counts: dict[str, int]) -> dict[str, int]:
    """The first number of a block of ``n`` numbers for each county: one counter UPDATE each."""
    first: dict[str, int] = {}
    dialect_insert = postgresql.insert if _dialect(conn) == "postgresql" else sqlite.insert
    for county in sorted(counts):
        n = counts[county]
        if n <= 0:
            continue
        conn.execute(
            dialect_insert(counter_t).values(county_code=county, kind=kind, next_value=1).on_conflict_do_nothing()
        )
        stmt = (
            update(counter_t)
            .where(counter_t.c.county_code == county, counter_t.c.kind == kind)
            .values(next_value=counter_t.c.next_value + n)
            .returning(counter_t.c.next_value)
        )
        after = int(conn.execute(stmt).scalar_one())
        first[county] = after - n
    return first


def insert_records(conn: Conn, table: Table, records: list[dict[str, Any]]) -> None:
    conn.execute(insert(table), records)


def copy_rows(
    conn: Connection, table: Table, rows: Iterable[dict[str, Any]], columns: list[str], *, batch: int
) -> None:
    """Bulk insert of generated rows (demo, benchmarks): ``COPY`` on PostgreSQL, executemany batches of
    ``batch`` rows elsewhere."""
    if conn.dialect.name == "postgresql":
        dbapi = conn.connection.driver_connection
        cols = ", ".join(columns)
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            conn.execute(insert(table), chunk)
            chunk = []
    if chunk:
        conn.execute(insert(table), chunk)


def insert_history(conn: Conn, rows: Iterable[dict[str, Any]]) -> None:
    """History rows whose ``after_json`` is the record's JSON text, serialised once by the caller."""
    param = bindparam("after_json", type_=Text())
    value = cast(param, JSON) if _dialect(conn) == "postgresql" else param
    conn.execute(insert(history_t).values(after=value), list(rows))
