"""Each optional filter of ``GET /tasks`` and ``GET /review-queue`` keeps exactly the tasks with that
value (checked against the unfiltered list), alone and combined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from services.assessment.models import Task
from services.common.db import session_scope
from services.common.storage import LocalStorage
from tests.assessment.test_workflow import PDF, _submit

FIELDS = {"quarter": "quarter", "unit": "unit_code", "state": "state", "category": "category", "item": "item_code"}
# A value of each filter that no task has.
ABSENT = {"quarter": "2020Q1", "unit": "U99", "state": "returned", "category": "没有这个类别", "item": "9.9"}


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in rows]


def test_each_filter_keeps_exactly_its_tasks(
    client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, storage: LocalStorage, quarter: str
) -> None:
    with session_scope(engine) as session:
        u05 = session.execute(select(Task.id).where(Task.unit_code == "U05")).scalars().one()
    _submit(engine, storage, "unit_u05", u05, (PDF, "a.pdf"))
    every = client.get("/tasks?limit=500", headers=as_("office")).json()["items"]
    assert len(every) == 7
    for param, field in FIELDS.items():
        values = {t[field] for t in every}
        assert values, param
        for value in values:
            got = client.get("/tasks", params={param: value, "limit": 500}, headers=as_("office")).json()["items"]
            assert _ids(got) == [t["id"] for t in every if t[field] == value], (param, value)
        none = client.get("/tasks", params={param: ABSENT[param], "limit": 500}, headers=as_("office")).json()["items"]
        assert none == [], param
    first = every[0]
    both = {"unit": first["unit_code"], "category": first["category"], "item": first["item_code"]}
    got = client.get("/tasks", params=both, headers=as_("office")).json()["items"]
    key = ("unit_code", "category", "item_code")
    assert _ids(got) == [t["id"] for t in every if [t[k] for k in key] == [first[k] for k in key]]
    submitted = [t for t in every if t["state"] == "submitted"]
    assert _ids(submitted) == [u05]
    for param, value, expected in (
        ("unit", "U05", [u05]),
        ("unit", "U02", []),
        ("category", submitted[0]["category"], [u05]),
        ("category", "没有这个类别", []),
        ("quarter", quarter, [u05]),
        ("quarter", "2020Q1", []),
    ):
        got = client.get("/review-queue", params={param: value}, headers=as_("office")).json()["items"]
        assert _ids(got) == expected, (param, value)


def test_review_queue_items_are_the_task_list_rows(
    client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, storage: LocalStorage, quarter: str
) -> None:
    """The queue reads core rows, the task list ORM tasks: the same fields and values."""
    with session_scope(engine) as session:
        ids = session.execute(select(Task.id).where(Task.unit_code.in_(["U05", "U02"]))).scalars().all()  # type: ignore[attr-defined]
    for tid in ids:
        with session_scope(engine) as session:
            unit = session.get(Task, tid).unit_code  # type: ignore[union-attr]
        _submit(engine, storage, "unit_u05" if unit == "U05" else "unit", tid, (PDF, "a.pdf"))
    listed = client.get("/tasks", params={"state": "submitted", "limit": 500}, headers=as_("office")).json()["items"]
    queue = client.get("/review-queue", headers=as_("office")).json()["items"]
    assert len(queue) == len(ids) >= 2
    assert sorted(queue, key=lambda t: t["id"]) == sorted(listed, key=lambda t: t["id"])
