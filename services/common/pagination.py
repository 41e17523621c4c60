"""Keyset pagination: ``WHERE (sort_key, id) > (:k, :id) ORDER BY sort_key, id LIMIT n``.

Stable under concurrent inserts; needs an index on (sort_key, id) behind every sort offered.
A list with several sorts passes ``tag`` (the sort's name): the cursor then carries it first, and a
cursor made under another sort is refused like any other broken cursor.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.sql.elements import KeyedColumnElement

from services.common.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any], tag: str | None = None) -> str:
    payload = [tag, *values] if tag is not None else values
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


def decode_cursor(cursor: str, columns: Sequence[KeyedColumnElement[Any]], tag: str | None = None) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list):
            raise ValueError
        if tag is not None:
            if not values or values[0] != tag:
                raise ValueError  # made under another sort (or none)
            values = values[1:]
        if len(values) != len(columns):
            raise ValueError
        out = []
        for value, column in zip(values, columns, strict=True):
            try:
                kind = column.type.python_type
            except NotImplementedError:  # e.g. sqlmodel's AutoString: a string column
                kind = str
            if value is not None and kind is datetime:
                value = datetime.fromisoformat(value)
            elif value is not None and kind is date:
                value = date.fromisoformat(value)
            out.append(value)
        return out
    except Exception as exc:
        raise InvalidInput.field("cursor", "游标无效，请从第一页重新开始") from exc


def keyset(
    stmt: Select[Any],
    columns: Sequence[KeyedColumnElement[Any]],
    *,
    cursor: str | None,
    limit: int,
    descending: bool = False,
    tag: str | None = None,
) -> Select[Any]:
    """Add the keyset condition, order and limit (one more row than asked, to see if more follow).
    All columns go one direction; ``tag`` must match the one the cursor was made with."""
    if cursor:
        values = decode_cursor(cursor, columns, tag)
        key: ColumnElement[Any] = tuple_(*columns) if len(columns) > 1 else columns[0]
        typed = [literal(v, c.type) for v, c in zip(values, columns, strict=True)]
        bound = tuple_(*typed) if len(columns) > 1 else typed[0]
        stmt = stmt.where(key < bound if descending else key > bound)
    order = [c.desc() for c in columns] if descending else list(columns)
    return stmt.order_by(*order).limit(limit + 1)


def clamp_limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def split_page(rows: list[Any], limit: int, key_of: Any, tag: str | None = None) -> tuple[list[Any], str | None]:
    """Cut the extra row; the cursor names the last row shown (and the sort, given ``tag``)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key_of(rows[-1]), tag)
    return rows, None


def rows_page(
    db: Any,
    stmt: Select[Any],
    id_column: KeyedColumnElement[Any],
    *,
    cursor: str | None,
    limit: int,
    descending: bool = False,
    tag: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``stmt`` ordered by its id column (``keyset`` then ``split_page``): the rows as
    dicts, and the cursor of the next page (``None`` on the last)."""
    rows = db.execute(keyset(stmt, [id_column], cursor=cursor, limit=limit, descending=descending, tag=tag)).all()
    return split_page([dict(r._mapping) for r in rows], limit, lambda r: [r[id_column.key]], tag)
