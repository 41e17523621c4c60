"""What every supervision repository builds on (rows as dicts, SQLAlchemy Core): ``Db`` (a
session or a connection), one row or all rows of a statement, a row by id, an insert returning
the new id, an update by id, a table's row count. Each sub-domain's ``repository.py`` keeps its
own queries; the service modules keep the rules and query nothing themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

Db = Session | Connection


def one(db: Db, stmt: Any, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The first row of ``stmt`` (``params``: the values of its ``bindparam``s)."""
    row = db.execute(stmt, params).first()
    return dict(row._mapping) if row is not None else None


def rows(db: Db, stmt: Any, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in db.execute(stmt, params)]


# Queries run on every request of the hot paths are built once, with their values as bound
# parameters: SQLAlchemy then reuses the statement's cache key and compiled form instead of
# building both again from every value (a tenth of a millisecond or more per query).
_BY_ID: dict[Table, Select[Any]] = {}


def by_id(db: Db, table: Table, row_id: int) -> dict[str, Any] | None:
    stmt = _BY_ID.get(table)
    if stmt is None:
        stmt = _BY_ID[table] = select(table).where(table.c.id == bindparam("row_id"))
    return one(db, stmt, {"row_id": row_id})


def insert_id(db: Db, table: Table, values: dict[str, Any]) -> int:
    """Insert one row; its new id."""
    return int(db.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def update_id(db: Db, table: Table, row_id: int, values: dict[str, Any]) -> None:
    db.execute(update(table).where(table.c.id == row_id).values(**values))


def count(db: Db, table: Table) -> int:
    return int(db.execute(select(func.count()).select_from(table)).scalar_one())


def registry_demo_sites(conn: Connection) -> list[dict[str, Any]]:
    """The demo only: the active sites in a throw-away database the registry's demo generator filled
    (the supervision demo's targets; no service reads another's database)."""
    from services.registry.models import site_t

    cols = [site_t.c.code, site_t.c.kind, site_t.c.name, site_t.c.county_code, site_t.c.lat, site_t.c.lng]
    return rows(conn, select(*cols).where(site_t.c.status == "active").order_by(site_t.c.code))
