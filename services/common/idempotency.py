"""``Idempotency-Key`` for writes a county system may retry: the same key and body give the
first answer once more and create nothing; the same key with another body is a 409."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import clock
from services.common.errors import Conflict, InvalidInput

IDEMPOTENCY_TABLE = "idempotency_record"
MAX_KEY_LENGTH = 200


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        IDEMPOTENCY_TABLE,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("scope", String(128), nullable=False),
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", JSON, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("scope", "key"),
    )


def request_hash(method: str, path: str, body: Any) -> str:
    """Fingerprint of what was asked: method, path and the body as parsed (key order ignored)."""
    canonical = orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


Result = tuple[int, dict[str, Any]]


class Idempotency:
    def __init__(self, table: Table) -> None:
        self.table = table

    def _find(self, session: Session, scope: str, key: str) -> Any:
        t = self.table
        return session.execute(select(t).where(t.c.scope == scope, t.c.key == key)).first()

    @staticmethod
    def _replay(row: Any, fingerprint: str) -> Result:
        if row.request_hash != fingerprint:
            raise Conflict("该 Idempotency-Key 已用于内容不同的请求", code="idempotency_key_reused")
        return row.status_code, row.response

    def is_used(self, session: Session, scope: str, key: str) -> bool:
        return self._find(session, scope, key.strip()) is not None

    def run(
        self,
        session: Session,
        *,
        scope: str,
        key: str | None,
        fingerprint: str,
        action: Callable[[], Result],
    ) -> Result:
        """Run ``action`` once per (scope, key) in the caller's transaction and keep its answer."""
        if key is None:
            return action()
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidInput.field("Idempotency-Key", f"长度应为 1 到 {MAX_KEY_LENGTH} 个字符")
        existing = self._find(session, scope, key)
        if existing is not None:
            return self._replay(existing, fingerprint)
        t = self.table
        try:
            # Claim the key first: a concurrent twin waits on the unique index, then replays.
            with session.begin_nested():
                session.execute(
                    insert(t).values(
                        scope=scope, key=key, request_hash=fingerprint, status_code=0, created_at=clock.now()
                    )
                )
        except IntegrityError:
            existing = self._find(session, scope, key)
            if existing is None:  # pragma: no cover - the twin rolled back; let the client retry
                raise Conflict("相同 Idempotency-Key 的请求正在处理，请稍后重试") from None
            return self._replay(existing, fingerprint)
        status, body = action()
        session.execute(update(t).where(t.c.scope == scope, t.c.key == key).values(status_code=status, response=body))
        return status, body
