"""Every query of photos (of inspections, rectification orders and enforcement records)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert, select

from services.supervision.models import photo_t
from services.supervision.repository import Db, by_id, one, rows, update_id

# Built once, values bound per call (see ``repository.by_id``): every photo upload and every
# inspection answer runs these.
_OF_OWNER = photo_t.c.owner_kind == bindparam("owner_kind"), photo_t.c.owner_id == bindparam("owner_id")
_PHOTOS_OF = select(photo_t).where(*_OF_OWNER).order_by(photo_t.c.id)
_PHOTO = select(photo_t).where(*_OF_OWNER, photo_t.c.photo_id == bindparam("photo_id"))


def photos_of(db: Db, owner_kind: str, owner_id: int) -> list[dict[str, Any]]:
    return rows(db, _PHOTOS_OF, {"owner_kind": owner_kind, "owner_id": owner_id})


def photo(db: Db, owner_kind: str, owner_id: int, photo_id: str) -> dict[str, Any] | None:
    return one(db, _PHOTO, {"owner_kind": owner_kind, "owner_id": owner_id, "photo_id": photo_id})


def photo_row(db: Db, row_id: int) -> dict[str, Any] | None:
    return by_id(db, photo_t, row_id)


def photos_by_ids(db: Db, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return rows(db, select(photo_t).where(photo_t.c.id.in_(ids)).order_by(photo_t.c.id))


# The row's values go as parameters: the statement is built once and its compiled form cached
# (``insert().values(**values)`` built a new statement and its cache key from every value, per photo).
_INSERT_PHOTO = insert(photo_t).returning(*photo_t.c)


def insert_photo(db: Db, values: dict[str, Any]) -> dict[str, Any]:
    """Insert the row; the whole row as stored."""
    return dict(db.execute(_INSERT_PHOTO, values).one()._mapping)


def set_thumbnail(db: Db, row_id: int, key: str) -> None:
    update_id(db, photo_t, row_id, {"thumb_key": key})


def delete_photos(db: Db, ids: list[int]) -> None:
    if ids:
        db.execute(delete(photo_t).where(photo_t.c.id.in_(ids)))
