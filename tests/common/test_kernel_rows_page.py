"""services.common.pagination.rows_page: pages of a statement by its id column, both directions,
the cursor of the next page (None on the last), and a cursor refused under another tag."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Select, String, Table, create_engine, insert, select
from sqlalchemy.engine import Connection

from services.common.errors import InvalidInput
from services.common.pagination import rows_page


def _walk(conn: Connection, stmt: Select[Any], column: Any, **kw: Any) -> list[list[int]]:
    seen: list[list[int]] = []
    cursor: str | None = None
    while True:
        items, cursor = rows_page(conn, stmt, column, cursor=cursor, limit=2, **kw)
        seen.append([r["id"] for r in items])
        if cursor is None:
            return seen


def test_pages_both_ways_and_the_tag() -> None:
    metadata = MetaData()
    t = Table("thing", metadata, Column("id", Integer, primary_key=True), Column("name", String(10)))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": i, "name": f"n{i}"} for i in range(1, 6)])
        stmt = select(t)
        assert _walk(conn, stmt, t.c.id) == [[1, 2], [3, 4], [5]]
        assert _walk(conn, stmt, t.c.id, descending=True) == [[5, 4], [3, 2], [1]]
        assert _walk(conn, stmt.where(t.c.id > 3), t.c.id) == [[4, 5]]
        items, cursor = rows_page(conn, stmt, t.c.id, cursor=None, limit=2, tag="id")
        assert items == [{"id": 1, "name": "n1"}, {"id": 2, "name": "n2"}] and cursor is not None
        assert [r["id"] for r in rows_page(conn, stmt, t.c.id, cursor=cursor, limit=2, tag="id")[0]] == [3, 4]
        with pytest.raises(InvalidInput):
            rows_page(conn, stmt, t.c.id, cursor=cursor, limit=2, tag="overdue")
