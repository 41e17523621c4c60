"""Outbox, idempotency and keyset pagination against a real migrated database."""

import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from services.assessment.models import idempotency, outbox
from services.common.db import session_scope
from services.common.errors import Conflict, InvalidInput
from services.common.idempotency import Written, request_hash
from services.common.pagination import keyset, split_page

T = outbox.table


def emit_many(engine: Any, n: int, kind: str = "task") -> None:
    with session_scope(engine) as session:
        for i in range(n):
            outbox.emit(session, kind, "created", f"{kind}-{i}", {"i": i})


def test_event_written_with_the_change_or_not_at_all(make_db) -> None:
    engine = make_db("assessment")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        outbox.emit(session, "task", "created", "t-1", {"x": 1})
        raise RuntimeError("the change failed")
    emit_many(engine, 1)
    with Session(engine) as session:
        page = outbox.page(session, 0, 10)
    assert [e.subject for e in page.items] == ["task-0"]
    event = page.items[0]
    assert event.type == "sortline.assessment.task.created"
    assert event.source == "/sortline/assessment" and event.specversion == "1.0"
    assert event.time.tzinfo is not None


def test_event_feed_pages_in_order_without_gaps(make_db) -> None:
    engine = make_db("assessment")
    emit_many(engine, 25)
    seen, cursor = [], 0
    with Session(engine) as session:
        while True:
            page = outbox.page(session, cursor, 10)
            if not page.items:
                break
            seen += [e.data["i"] for e in page.items]
            assert page.next_cursor is not None
            cursor = int(page.next_cursor)
        again = outbox.page(session, 0, 100)
    assert seen == list(range(25))
    assert [e.id for e in again.items][:3] == [e.id for e in outbox.page(Session(engine), 0, 3).items]


def test_keyset_pages_are_complete_and_stable_under_inserts(make_db) -> None:
    engine = make_db("assessment")
    emit_many(engine, 7, "b")
    emit_many(engine, 7, "a")
    cols = [T.c.type, T.c.seq]
    got: list[tuple[str, int]] = []
    cursor = None
    while True:
        with Session(engine) as session:
            rows = list(session.execute(keyset(select(T.c.type, T.c.seq), cols, cursor=cursor, limit=4)).all())
        rows, cursor = split_page(rows, 4, lambda r: [r.type, r.seq])
        got += [(r.type, r.seq) for r in rows]
        if len(got) == 4:
            emit_many(engine, 2, "0-before-everything")  # sorts before the cursor: must not appear
        if cursor is None:
            break
    types = [t for t, _ in got]
    assert types == ["sortline.assessment.a.created"] * 7 + ["sortline.assessment.b.created"] * 7
    assert len(set(got)) == 14


def test_bad_cursor_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput) as err:
        keyset(select(T.c.seq), [T.c.seq], cursor="not-a-cursor", limit=5)
    assert err.value.details[0].field == "cursor"


def _create(engine: Any, key: str | None, body: dict[str, Any], calls: list[int]) -> Written:
    with session_scope(engine) as session:

        def action() -> Written:
            calls.append(1)
            outbox.emit(session, "thing", "created", body["name"], body)
            return Written({"name": body["name"], "n": len(calls)}, created=True)

        return idempotency.run(
            session,
            scope="key:1",
            key=key,
            fingerprint=request_hash("POST", "/things", body),
            action=action,
        )


def test_same_key_same_body_replays_without_a_second_write(make_db) -> None:
    engine = make_db("assessment")
    calls: list[int] = []
    first = _create(engine, "k-1", {"name": "x"}, calls)
    again = _create(engine, "k-1", {"name": "x"}, calls)
    assert first == again == Written({"name": "x", "n": 1}, created=True)
    assert again.status_code == 201
    assert len(calls) == 1
    with pytest.raises(Conflict):
        _create(engine, "k-1", {"name": "y"}, calls)
    _create(engine, None, {"name": "z"}, calls)
    with Session(engine) as session:
        assert len(outbox.page(session, 0, 10).items) == 2


def test_concurrent_retries_with_one_key_write_once(make_db) -> None:
    engine = make_db("assessment")
    calls: list[int] = []
    results: list[Written] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(_create(engine, "same", {"name": "c"}, calls))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.body["n"] for r in results}) == 1
    with Session(engine) as session:
        assert len(outbox.page(session, 0, 50).items) == 1
