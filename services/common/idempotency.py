"""``Idempotency-Key`` for writes a county system may retry: the same key and body give the
first answer once more and create nothing; the same key with another body is a 409.

A route takes ``IdempotentWriteDep``: it reads the caller, the key and the request's method and
path, so the service function only hands over the parsed body and the work to do::

    def register(session, caller, body, write: IdempotentWrite) -> Written:
        return write.run(session, body, lambda: _create(...))

The dependency runs before FastAPI validates the body; when the key was already used it flags the
request, so that an invalid body under a used key answers 409 (it is "another body"), not 422.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from services.common import clock
from services.common.auth import CallerDep
from services.common.errors import KEY_REUSED_FLAG, Conflict, InvalidInput, key_reused
from services.common.kernel_tables import MAX_KEY_LENGTH
from services.common.kernel_tables import idempotency_table as idempotency_table


def request_hash(method: str, path: str, body: Any) -> str:
    """Fingerprint of what was asked: method, path and the body as parsed (key order ignored)."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude_unset=True)
    canonical = orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class Written:
    """What a write gives back: the record, and whether it was created (201) or not (200)."""

    body: dict[str, Any]
    created: bool = False

    @property
    def status_code(self) -> int:
        return 201 if self.created else 200


class Idempotency:
    """One service's store of keys and first answers (its ``idempotency_record`` table)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def find(self, session: Session, scope: str, key: str) -> Any:
        t = self.table
        return session.execute(select(t).where(t.c.scope == scope, t.c.key == key)).first()

    @staticmethod
    def _replay(row: Any, fingerprint: str) -> Written:
        if row.request_hash != fingerprint:
            raise key_reused()
        return Written(row.response, created=row.status_code == 201)

    def run(
        self, session: Session, *, scope: str, key: str | None, fingerprint: str, action: Callable[[], Written]
    ) -> Written:
        """Run ``action`` once per (scope, key) in the caller's transaction and keep its answer."""
        if key is None:
            return action()
        existing = self.find(session, scope, key)
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
            existing = self.find(session, scope, key)
            if existing is None:  # pragma: no cover - the twin rolled back; let the client retry
                raise Conflict("相同 Idempotency-Key 的请求正在处理，请稍后重试") from None
            return self._replay(existing, fingerprint)
        written = action()
        session.execute(
            update(t)
            .where(t.c.scope == scope, t.c.key == key)
            .values(status_code=written.status_code, response=written.body)
        )
        return written


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="重试时使用同一个键：相同的键和内容只执行一次并返回第一次的结果；相同的键、不同的内容返回 409",
        examples=["nc-2026-03-01-0001"],
        # Declared here, checked in ``idempotent_write`` (one Chinese sentence for every case):
        # 1 to MAX_KEY_LENGTH characters, not only blanks.
        json_schema_extra={"minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"},
    ),
]


@dataclass(frozen=True, slots=True)
class IdempotentWrite:
    """One request's idempotency: who asks (scope), the key if any, what was asked (method, path)."""

    store: Idempotency | None
    scope: str
    key: str | None
    method: str
    path: str

    def run(self, session: Session, body: Any, action: Callable[[], Written]) -> Written:
        """``action`` once for this key and ``body`` (a parsed model or plain data); a replay otherwise."""
        if self.store is None or self.key is None:
            return action()
        fingerprint = request_hash(self.method, self.path, body)
        return self.store.run(session, scope=self.scope, key=self.key, fingerprint=fingerprint, action=action)


async def idempotent_write(
    request: Request, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> IdempotentWrite:
    store: Idempotency | None = getattr(request.app.state, "idempotency", None)
    key = idempotency_key.strip() if idempotency_key is not None else None
    if key is not None and (not key or len(key) > MAX_KEY_LENGTH):
        raise InvalidInput.field("Idempotency-Key", f"长度应为 1 到 {MAX_KEY_LENGTH} 个字符")
    write = IdempotentWrite(store, caller.sub, key, request.method, request.url.path)
    if key is not None and store is not None:

        def used() -> bool:
            with Session(request.app.state.read_engine) as session:
                return store.find(session, caller.sub, key) is not None

        if await run_in_threadpool(used):
            setattr(request.state, KEY_REUSED_FLAG, True)
    return write


IdempotentWriteDep = Annotated[IdempotentWrite, Depends(idempotent_write)]
