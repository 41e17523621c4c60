"""Every query of the event feeds' tables: the cursor per service, the stored events, the delivery
rows queued for them and the subscriptions the feeds read. Functions take the caller's connection or
session and neither commit nor decide: who gets an event (``feeds.py``), what a replay may queue
(``replay.py``) stay with the rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from gateway.integration.models import Delivery, FeedCursor, FeedEvent, Subscription

event_t = FeedEvent.__table__  # type: ignore[attr-defined]
delivery_t = Delivery.__table__  # type: ignore[attr-defined]
cursor_t = FeedCursor.__table__  # type: ignore[attr-defined]
sub_t = Subscription.__table__  # type: ignore[attr-defined]

Db = Connection | Session

# ---------------------------------------------------------------------------------------------
# Subscriptions


def active_subscription_rows(conn: Connection) -> Sequence[Row[Any]]:
    """(id, types, created_at) of every active subscription."""
    return conn.execute(select(sub_t.c.id, sub_t.c.types, sub_t.c.created_at).where(sub_t.c.status == "active")).all()


def subscription_exists_for_url(conn: Connection, url: str) -> bool:
    return conn.execute(select(sub_t.c.id).where(sub_t.c.url == url)).first() is not None


def insert_subscription(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(sub_t).values(**values))


def subscription_by_name(db: Session, name: str) -> Subscription | None:
    return db.scalars(select(Subscription).where(col(Subscription.name) == name)).first()


# ---------------------------------------------------------------------------------------------
# Cursors


def cursor_after(conn: Connection, service: str, *, for_update: bool = False) -> int | None:
    """How far ``service``'s feed has been read (``None``: never). ``for_update`` locks the row on
    PostgreSQL (SQLite write transactions begin ``IMMEDIATE`` and need no lock)."""
    query = select(cursor_t.c.after).where(cursor_t.c.service == service)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else int(row[0])


def insert_cursor(conn: Connection, service: str, after: int, at: datetime) -> None:
    conn.execute(insert(cursor_t).values(service=service, after=after, updated_at=at))


def update_cursor(conn: Connection, service: str, after: int, at: datetime) -> None:
    conn.execute(update(cursor_t).where(cursor_t.c.service == service).values(after=after, updated_at=at))


# ---------------------------------------------------------------------------------------------
# Events and deliveries


def stored_event_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` already stored."""
    return {r[0] for r in conn.execute(select(event_t.c.id).where(event_t.c.id.in_(list(ids)))).all()}


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Store the events (one bulk insert); returns the ``seq`` each was given, by event id."""
    conn.execute(insert(event_t), rows)
    ids = [r["id"] for r in rows]
    return dict(conn.execute(select(event_t.c.id, event_t.c.seq).where(event_t.c.id.in_(ids))).tuples().all())


def insert_deliveries(db: Db, rows: list[dict[str, Any]]) -> None:
    """Queue deliveries (one bulk insert)."""
    db.execute(insert(delivery_t), rows)


_EVENT_HEAD = (event_t.c.seq, event_t.c.id, event_t.c.service, event_t.c.subject, event_t.c.type)


def event_by_id(db: Session, event_id: str) -> Row[Any] | None:
    """(seq, id, service, subject, type) of a stored event."""
    return db.execute(select(*_EVENT_HEAD).where(event_t.c.id == event_id)).first()


def events_between(db: Session, since: datetime, until: datetime, limit: int) -> Sequence[Row[Any]]:
    """(seq, id, service, subject, type) of the events of ``since <= time < until``, in feed order,
    at most ``limit``."""
    query = select(*_EVENT_HEAD).where(event_t.c.time >= since, event_t.c.time < until)
    return db.execute(query.order_by(event_t.c.seq).limit(limit)).all()
