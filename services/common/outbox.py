"""The transactional outbox: an event row written in the same transaction as the change, served
as an ordered CloudEvents 1.0 feed at ``GET /events?after=<cursor>&limit=N``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import JSON, Table, Text, bindparam, cast, insert, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.common import clock
from services.common.auth import CallerDep, require_role
from services.common.db import ReadSessionDep
from services.common.kernel_tables import outbox_table as outbox_table

# One number per service: PostgreSQL serialises outbox writers on it so that event order in the
# feed is commit order and a reader never skips an event that commits late.
_PG_LOCK_KEY = 0x50_52_54_4C


class CloudEvent(BaseModel):
    specversion: str = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[CloudEvent]
    next_cursor: str | None


class Outbox:
    """Writes and reads one service's events."""

    def __init__(self, table: Table, service: str) -> None:
        self.table = table
        self.service = service
        self.source = f"/sortline/{service}"
        # One event's row goes as parameters of one statement built once (its compiled form cached).
        self._insert = insert(table)

    def emit(self, session: Session, entity: str, verb: str, subject: str, data: dict[str, Any]) -> str:
        """Add ``sortline.<service>.<entity>.<verb>`` to the session's transaction; returns its id."""
        bind = session.get_bind()
        if bind.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        event_id = str(uuid.uuid4())
        session.execute(
            self._insert,
            {
                "id": event_id,
                "source": self.source,
                "type": f"sortline.{self.service}.{entity}.{verb}",
                "subject": subject,
                "time": clock.now(),
                "data": data,
            },
        )
        return event_id

    def emit_many(
        self, session: Session | Connection, events: Iterable[tuple[str, str, str, dict[str, Any]]]
    ) -> list[str]:
        """Add many events ``(entity, verb, subject, data)`` to the transaction: one advisory lock, one
        bulk insert. ``data`` is serialised with orjson (datetimes as ISO 8601; an ``orjson.Fragment``
        is embedded as the JSON it already is, so a record serialised once can go into many events)."""
        now = clock.now()
        rows: list[dict[str, Any]] = [
            {
                "id": str(uuid.uuid4()),
                "source": self.source,
                "type": f"sortline.{self.service}.{entity}.{verb}",
                "subject": subject,
                "time": now,
                "data_json": orjson.dumps(data).decode(),
            }
            for entity, verb, subject, data in events
        ]
        if not rows:
            return []
        is_pg = (session.get_bind() if isinstance(session, Session) else session).dialect.name == "postgresql"
        if is_pg:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        # The JSON text handed over as it is: SQLite stores JSON as text, PostgreSQL casts it.
        param = bindparam("data_json", type_=Text())
        session.execute(insert(self.table).values(data=cast(param, JSON) if is_pg else param), rows)
        return [r["id"] for r in rows]

    def page(self, session: Session, after: int, limit: int) -> EventPage:
        rows = session.execute(
            select(self.table).where(self.table.c.seq > after).order_by(self.table.c.seq).limit(limit)
        ).all()
        items = [
            CloudEvent(
                id=r.id,
                source=r.source,
                type=r.type,
                subject=r.subject,
                time=clock.as_utc(r.time),
                data=r.data,
            )
            for r in rows
        ]
        next_cursor = str(rows[-1].seq) if rows else (str(after) if after else None)
        return EventPage(items=items, next_cursor=next_cursor)

    def router(self) -> APIRouter:
        router = APIRouter(tags=["events"])
        outbox = self

        @router.get("/events", response_model=EventPage, summary="事件流（CloudEvents 1.0）")
        def events(
            caller: CallerDep,
            session: ReadSessionDep,
            after: int = Query(0, ge=0, description="上次读到的游标"),
            limit: int = Query(100, ge=1, le=1000),
        ) -> EventPage:
            require_role(caller, "admin", "office")
            return outbox.page(session, after, limit)

        return router
