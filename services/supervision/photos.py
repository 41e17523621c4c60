"""Photos of inspections, rectification orders and enforcement records.

A photo arrives as the raw body of ``PUT .../photos/{photo_id}`` and goes through the kernel's
``receive_body`` (streamed to the file storage, its type taken from the content: a PNG named
``.jpg`` is a PNG, a text file named ``.jpg`` is refused). HEIC from iPhones is converted to
JPEG with pillow-heif (refused with a clear message when the converter is missing). The rule for
resends is the tablet's: the same ``photo_id`` with the same bytes (SHA-256) answers 200 and
changes nothing; with other bytes it is a 409. Thumbnails are made by a background job.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common import clock
from services.common.auth import Caller
from services.common.db import read_engine, session_scope
from services.common.storage import FileStorage, StoredFile
from services.supervision import photo_repository as repo
from services.supervision.deps import storage_of, utc
from services.supervision.errors import conflict, invalid

PHOTO_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
HEIC_TYPES = {"image/heic", "image/heif"}


def photo_public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "photo_id": row["photo_id"],
        "sha256": row["sha256"],
        "size": row["size"],
        "content_type": row["content_type"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "accuracy_m": row["accuracy_m"],
        "taken_at": utc(row["taken_at"]),
        "received_at": utc(row["received_at"]),
        "url": f"/photos/{row['id']}",
        "thumbnail_url": f"/photos/{row['id']}/thumbnail" if row["thumb_key"] else None,
    }


@dataclass(frozen=True)
class NewPhoto:
    """Whose photo it is, under which id, who sends it and where it was taken; ``on_insert(session,
    row_id)`` runs in the transaction that keeps the row (enqueue the thumbnail job). ``sync=False``:
    the 201 does not wait for the disk; the owner's barrier does (``make_durable``: an inspection's
    submit, before which the tablet keeps every photo)."""

    owner_kind: str
    owner_id: int
    photo_id: str
    caller: Caller
    position: dict[str, Any]
    on_insert: Any = None
    sync: bool = True


async def store_photo(request: Request, max_size: int, new: NewPhoto) -> tuple[int, dict[str, Any]]:
    """Stream the body into the storage (kernel ``receive_body``), HEIC made JPEG, and keep its row
    (``record_photo``: 201, 200 for a resend, 409 for other bytes under the id).

    The file's commit (fsync) and the row are one worker-thread call (``receive_body(then=...)``):
    a photo costs one thread hop, not three, and the row is inserted while the disk syncs the file,
    then committed once it has (``durable()``). The SHA-256 of the bytes as sent is the idempotency
    fingerprint (a converted HEIC keeps the one of what the tablet sent).
    """
    from services.common.uploads import PHOTO_TYPES, receive_body

    state = request.app.state
    storage = storage_of(state)

    def keep(stored: StoredFile, durable: Callable[[], None]) -> tuple[int, dict[str, Any]]:
        sent_sha = stored.sha256
        if stored.content_type in HEIC_TYPES:
            stored = heic_to_jpeg(storage, stored)  # stored whole (durable) before it returns
        try:
            return record_photo(state.engine, storage, new, stored, sent_sha, durable)
        except BaseException:
            storage.delete(stored.key)  # the converted copy (the kernel deletes what it stored)
            raise

    return await receive_body(
        request,
        storage,
        max_size=max_size,
        accept=PHOTO_TYPES,
        original_name=f"{new.photo_id}.jpg",
        field="photo",
        then=keep,
        sync=new.sync,
    )


def heic_to_jpeg(storage: FileStorage, stored: StoredFile) -> StoredFile:
    """Convert a stored HEIC photo to JPEG (orientation applied), replacing the original."""
    try:
        import pillow_heif
        from PIL import Image, ImageOps
    except ImportError as exc:  # pragma: no cover - pillow-heif is a dependency
        storage.delete(stored.key)
        raise invalid("photo", "服务器不支持 HEIC 照片，请在平板上改用 JPEG 格式拍照") from exc
    try:
        pillow_heif.register_heif_opener()
        with Image.open(io.BytesIO(storage.open(stored.key))) as img:
            out = io.BytesIO()
            ImageOps.exif_transpose(img).convert("RGB").save(out, "JPEG", quality=88)
    except Exception as exc:
        storage.delete(stored.key)
        raise invalid("photo", "HEIC 照片无法读取，请在平板上改用 JPEG 格式重新拍照") from exc
    name = stored.original_name.rsplit(".", 1)[0] + ".jpg"
    converted = storage.put(out.getvalue(), original_name=name, content_type="image/jpeg")
    storage.delete(stored.key)
    return converted


def record_photo(
    engine: Engine,
    storage: FileStorage,
    new: NewPhoto,
    stored: StoredFile,
    sent_sha: str,
    durable: Callable[[], None] = lambda: None,
) -> tuple[int, dict[str, Any]]:
    """Keep the photo row (201), or recognise a resend (200) or another body under the id (409).

    The first upload, the common case, is one transaction of one insert (the unique key on
    owner and photo id catches a resend, even a concurrent one) returning the whole row; it is
    committed only after ``durable()`` (the file's fsync) has returned.
    """
    values = {
        "owner_kind": new.owner_kind,
        "owner_id": new.owner_id,
        "photo_id": new.photo_id,
        "sha256": sent_sha,
        "key": stored.key,
        "size": stored.size,
        "content_type": stored.content_type,
        "original_name": stored.original_name[:200],
        "received_at": clock.now(),
        "uploaded_by": new.caller.name or new.caller.sub,
        **new.position,
    }
    try:
        with engine.begin() as conn:  # a Core connection: no ORM session on the way of every photo
            row = repo.insert_photo(conn, values)
            if new.on_insert is not None:
                new.on_insert(conn, row["id"])
            durable()  # the bytes on disk before the row naming them is committed (``sync=False``: the barrier's)
        return 201, row
    except IntegrityError:
        with session_scope(read_engine(engine)) as session:
            existing = repo.photo(session, new.owner_kind, new.owner_id, new.photo_id)
        if existing is None:  # not the unique key after all
            storage.delete(stored.key)
            raise
    storage.delete(stored.key)
    if existing["sha256"] != sent_sha:
        raise conflict(
            f"照片 {new.photo_id} 已以不同内容上传过；请保留草稿并联系分类办", code="photo_conflict", field="photo"
        )
    return 200, existing


def make_durable_started(
    engine: Engine, storage: FileStorage, owner_kind: str, owner_id: int
) -> tuple[list[str], Callable[[], None]]:
    """The barrier of photos stored with ``sync=False``, started: the photo ids of those a crash lost
    since they were sent (their rows and files removed at once, so they count as not sent and the
    tablet's resend is a first upload), and ``wait()``, which returns when every other photo of the
    owner is on disk: call it before committing what relies on them."""
    with session_scope(read_engine(engine)) as session:
        rows = repo.photos_of(session, owner_kind, owner_id)
    lost_keys, wait = storage.make_durable_started({row["key"]: row["size"] for row in rows})
    gone = set(lost_keys)
    lost = [row for row in rows if row["key"] in gone]
    if lost:
        with session_scope(engine) as session:
            repo.delete_photos(session, [row["id"] for row in lost])
        for row in lost:
            storage.delete(row["key"])
    return [row["photo_id"] for row in lost], wait


def position_of(
    latitude: float | None, longitude: float | None, accuracy_m: float | None, taken_at: datetime | None
) -> dict[str, Any]:
    if (latitude is None) != (longitude is None):
        raise invalid("latitude", "纬度和经度须同时给出")
    if latitude is not None and not -90 <= latitude <= 90:
        raise invalid("latitude", "纬度应在 -90 到 90 之间", latitude)
    if longitude is not None and not -180 <= longitude <= 180:
        raise invalid("longitude", "经度应在 -180 到 180 之间", longitude)
    taken = clock.as_utc(taken_at) if taken_at is not None else None  # SQLite keeps no offset: store UTC
    return {"latitude": latitude, "longitude": longitude, "accuracy_m": accuracy_m, "taken_at": taken}


def make_thumbnail(engine: Engine, storage: FileStorage, photo_row_id: int, size: int) -> str | None:
    """The job: a JPEG thumbnail (EXIF orientation applied), its key kept on the photo row."""
    from PIL import Image, ImageOps

    with session_scope(engine) as session:
        row = repo.photo_row(session, photo_row_id)
        if row is None or row["thumb_key"]:
            return row["thumb_key"] if row is not None else None
        key = row["key"]
    with Image.open(io.BytesIO(storage.open(key))) as original:
        img = ImageOps.exif_transpose(original)
        img.thumbnail((size, size))
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=80)
    thumb = storage.put(out.getvalue(), original_name="thumbnail.jpg", content_type="image/jpeg")
    with session_scope(engine) as session:
        repo.set_thumbnail(session, photo_row_id, thumb.key)
    return thumb.key


def visible_photo(db: Any, caller: Caller, row_id: int) -> dict[str, Any] | None:
    """The photo row if the caller may see it: the office and leaders all; an inspector the
    photos of their team's inspections and orders; a county or unit those of its own orders."""
    from services.supervision import scope
    from services.supervision.inspections import repository as inspections_repo
    from services.supervision.models import rect_t
    from services.supervision.rectification import repository as rectification_repo

    photo_row = repo.photo_row(db, row_id)
    if photo_row is None:
        return None
    if caller.is_city_wide:
        return photo_row
    kind, owner = photo_row["owner_kind"], photo_row["owner_id"]
    if kind == "inspection" and caller.role == "inspector":
        return photo_row if scope.sees_team(caller, inspections_repo.team_of(db, owner)) else None
    if kind == "rectification":
        order = rectification_repo.order(db, owner)
        return photo_row if order is not None and scope.sees_order(caller, order) else None
    if kind == "inspection":  # a county or unit sees the before-photos of its own orders
        own = rectification_repo.finding_photos_of_inspection(db, scope.order_filter(caller, rect_t), owner)
        if any(row_id in (photos or []) for photos in own):
            return photo_row
    return None
