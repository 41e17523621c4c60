"""Every query of photos (of inspections, rectification orders and enforcement records)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from services.supervision.models import photo_t
from services.supervision.repository import Db, by_id, one, rows, update_id


def photos_of(db: Db, owner_kind: str, owner_id: int) -> list[dict[str, Any]]:
    return rows(
        db,
        select(photo_t)
        .where(photo_t.c.owner_kind == owner_kind, photo_t.c.owner_id == owner_id)
        .order_by(photo_t.c.id),
    )


def photo(db: Db, owner_kind: str, owner_id: int, photo_id: str) -> dict[str, Any] | None:
    return one(
        db,
        select(photo_t).where(
            photo_t.c.owner_kind == owner_kind, photo_t.c.owner_id == owner_id, photo_t.c.photo_id == photo_id
        ),
    )


def photo_row(db: Db, row_id: int) -> dict[str, Any] | None:
    return by_id(db, photo_t, row_id)


def photos_by_ids(db: Db, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return rows(db, select(photo_t).where(photo_t.c.id.in_(ids)).order_by(photo_t.c.id))


def insert_photo(db: Db, values: dict[str, Any]) -> dict[str, Any]:
    """Insert the row; the whole row as stored."""
    return dict(db.execute(insert(photo_t).values(**values).returning(*photo_t.c)).one()._mapping)


def set_thumbnail(db: Db, row_id: int, key: str) -> None:
    update_id(db, photo_t, row_id, {"thumb_key": key})
