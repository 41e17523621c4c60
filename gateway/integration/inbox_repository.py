"""Every query of the in-app inbox (``inbox_message``). Functions take the caller's connection or
session and neither commit nor decide: who receives a message stays in ``inbox.py``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from gateway.integration.models import InboxMessage

inbox_t = InboxMessage.__table__  # type: ignore[attr-defined]

# ---------------------------------------------------------------------------------------------
# Inbox messages


def stored_message_keys(conn: Connection, event_ids: Iterable[str]) -> set[tuple[int, str]]:
    """(user_id, event_id) of the messages already stored for ``event_ids``."""
    query = select(inbox_t.c.user_id, inbox_t.c.event_id).where(inbox_t.c.event_id.in_(list(event_ids)))
    return {(r[0], r[1]) for r in conn.execute(query).all()}


def insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store messages (one bulk insert)."""
    conn.execute(insert(inbox_t), rows)


def unread_count(db: Session, user_id: int) -> int:
    return int(
        db.execute(
            select(func.count()).select_from(inbox_t).where(inbox_t.c.user_id == user_id, inbox_t.c.read_at.is_(None))
        ).scalar_one()
    )


def messages(db: Session, user_id: int, *, unread_only: bool = False, limit: int = 50) -> list[InboxMessage]:
    """The user's messages, newest first (``unread_only``: those not read yet)."""
    query = select(InboxMessage).where(col(InboxMessage.user_id) == user_id)
    if unread_only:
        query = query.where(col(InboxMessage.read_at).is_(None))
    return list(db.scalars(query.order_by(col(InboxMessage.id).desc()).limit(limit)).all())


def mark_read(db: Session, user_id: int, read_at: datetime, message_id: int | None = None) -> int:
    """Mark the user's unread messages (or only ``message_id``) read; returns how many."""
    query = update(InboxMessage).where(col(InboxMessage.user_id) == user_id, col(InboxMessage.read_at).is_(None))
    if message_id is not None:
        query = query.where(col(InboxMessage.id) == message_id)
    return int(db.execute(query.values(read_at=read_at)).rowcount or 0)  # type: ignore[attr-defined]
