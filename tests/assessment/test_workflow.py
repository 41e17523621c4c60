"""The transition table (role x state x action -> new state, 403 or 409), reasons, history, events,
locking, and scope (a unit never sees another unit's task or file)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from services.assessment import quarters, tasks, workflow
from services.assessment.models import Quarter, Task, outbox
from services.common.db import session_scope
from services.common.errors import Conflict, Forbidden, InvalidInput
from services.common.storage import LocalStorage
from tests.assessment.conftest import caller

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64

ROLES = {"office": "office", "responsible": "unit", "other_unit": "unit_u05", "leader": "leader"}
STATES = ["pending", "submitted", "approved", "returned"]
ACTIONS = ["submit", "approve", "return", "reopen"]
# The expected table, written out by hand (not derived from the code under test).
EXPECTED = {
    ("office", "pending", "submit"): "submitted",
    ("office", "returned", "submit"): "submitted",
    ("office", "submitted", "submit"): "submitted",
    ("office", "submitted", "approve"): "approved",
    ("office", "submitted", "return"): "returned",
    ("office", "approved", "reopen"): "returned",
    ("responsible", "pending", "submit"): "submitted",
    ("responsible", "returned", "submit"): "submitted",
    ("responsible", "submitted", "submit"): "submitted",
}


def _task(engine: Engine, quarter: str, unit: str = "U02") -> int:
    with session_scope(engine) as session:
        task = session.execute(select(Task).where(Task.quarter_id == quarter, Task.unit_code == unit)).scalars().first()
        assert task is not None and task.id is not None
        return task.id


def test_transition_table(engine: Engine, quarter: str) -> None:
    """Every role x state x action: the new state, 403 (the role never may) or 409 (not from this state)."""
    task_id = _task(engine, quarter)
    seen = 0
    for role, who in ROLES.items():
        for state in STATES:
            for action in ACTIONS:
                with session_scope(engine) as session:
                    task = session.get(Task, task_id)
                    q = session.get(Quarter, quarter)
                    assert task is not None and q is not None
                    task.state = state
                    expected = EXPECTED.get((role, state, action))
                    may_ever = any(r == role and a == action for (r, _, a) in EXPECTED)
                    move = (session, caller(who), task, q, action)
                    if expected is not None:
                        workflow.apply(*move, reason="理由")  # type: ignore[arg-type]
                        assert task.state == expected, (role, state, action)
                    else:
                        error = Conflict if may_ever else Forbidden
                        with pytest.raises(error):
                            workflow.apply(*move, reason="理由")  # type: ignore[arg-type]
                    session.rollback()
                    seen += 1
    assert seen == 64


def _submit(engine: Engine, storage: LocalStorage, who: str, task_id: int, *blobs: tuple[bytes, str]) -> dict:
    files = [storage.put(data, original_name=name) for data, name in blobs]
    with session_scope(engine) as session:
        return tasks.submit(session, caller(who), task_id, files, effective_date=date(2026, 11, 30), note="材料")


def test_review_cycle_reasons_history_and_events(
    client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, storage: LocalStorage, quarter: str
) -> None:
    task_id = _task(engine, quarter)
    first = _submit(engine, storage, "unit", task_id, (PDF, "条例.pdf"), (PDF, "说明.pdf"))
    assert first["revision"] == 1 and len(first["files"]) == 2 and first["files"][0]["sha256"]
    r = client.post(f"/tasks/{task_id}/review", json={"decision": "return"}, headers=as_("office"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "reason"
    r = client.post(f"/tasks/{task_id}/review", json={"decision": "approve"}, headers=as_("unit"))
    assert r.status_code == 403
    r = client.post(
        f"/tasks/{task_id}/review", json={"decision": "return", "reason": "缺少盖章页"}, headers=as_("office")
    )
    assert r.status_code == 200 and r.json()["state"] == "returned"
    _submit(engine, storage, "unit", task_id, (PDF, "条例（盖章）.pdf"))
    r = client.post(f"/tasks/{task_id}/review", json={"decision": "approve"}, headers=as_("office"))
    assert r.json()["state"] == "approved"
    r = client.post(f"/tasks/{task_id}/review", json={"decision": "return", "reason": "x"}, headers=as_("office"))
    assert r.status_code == 409 and r.json()["error"] == "invalid_transition"
    r = client.post(
        f"/tasks/{task_id}/review", json={"decision": "reopen", "reason": "版本有误，需更新"}, headers=as_("office")
    )
    assert r.json()["state"] == "returned"
    _submit(engine, storage, "unit", task_id, (PDF, "条例（新版）.pdf"))
    assert (
        client.post(f"/tasks/{task_id}/review", json={"decision": "approve"}, headers=as_("office")).json()["state"]
        == "approved"
    )
    detail = client.get(f"/tasks/{task_id}", headers=as_("unit")).json()
    assert [r["revision"] for r in detail["revisions"]] == [3, 2, 1]
    assert len(detail["revisions"][2]["files"]) == 2
    actions = [(h["action"], h["reason"]) for h in detail["history"]]
    assert actions == [
        ("submit", None),
        ("return", "缺少盖章页"),
        ("submit", None),
        ("approve", None),
        ("reopen", "版本有误，需更新"),
        ("submit", None),
        ("approve", None),
    ]
    with session_scope(engine) as session:
        events = [e for e in outbox.page(session, 0, 100).items if e.subject == str(task_id)]
        title = session.get(Task, task_id).evidence_title  # type: ignore[union-attr]
    types = [e.type for e in events]
    assert types.count("sortline.assessment.task.approved") == 2 and "sortline.assessment.task.reopened" in types
    # each names the evidence: what the inbox and the OA show (not the task's number)
    assert title and {e.data["title"] for e in events} == {title}
    # a locked quarter freezes everything
    with session_scope(engine) as session:
        quarters.set_state(session, caller("office"), quarter, "locked", None)
    r = client.post(f"/tasks/{task_id}/review", json={"decision": "reopen", "reason": "x"}, headers=as_("office"))
    assert r.status_code == 409 and r.json()["error"] == "quarter_locked"


def test_content_type_checked_against_the_evidence(engine: Engine, storage: LocalStorage, quarter: str) -> None:
    task_id = _task(engine, quarter)  # item 1.2 accepts PDF only
    with pytest.raises(InvalidInput) as exc:
        _submit(engine, storage, "unit", task_id, (EXE, "条例.pdf"))
    assert exc.value.details[0].field == "files"
    with pytest.raises(InvalidInput):
        _submit(engine, storage, "unit", task_id, (PNG, "照片.png"))
    ok = _submit(engine, storage, "unit", task_id, (PDF, "名字不对.docx"))
    assert ok["files"][0]["content_type"] == "application/pdf"


def test_scope(
    client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, storage: LocalStorage, quarter: str
) -> None:
    own = _task(engine, quarter, "U02")
    other = _task(engine, quarter, "U05")
    county_task = _task(engine, quarter, "U21")
    listed = client.get("/tasks?quarter=2026Q4", headers=as_("unit")).json()["items"]
    assert listed and {t["unit_code"] for t in listed} == {"U02"}
    assert client.get(f"/tasks/{other}", headers=as_("unit")).status_code == 404
    assert client.get(f"/tasks/{own}", headers=as_("unit")).status_code == 200
    county = client.get("/tasks", headers=as_("county")).json()["items"]
    assert {t["unit_code"] for t in county} == {"U21"}
    assert client.get(f"/tasks/{county_task}", headers=as_("county_other")).status_code == 404
    assert client.get("/tasks", headers=as_("inspector")).json()["items"] == []
    assert len(client.get("/tasks?limit=500", headers=as_("leader")).json()["items"]) == 7
    r = client.post(f"/tasks/{other}/review", json={"decision": "approve"}, headers=as_("leader"))
    assert r.status_code == 403
    assert client.get("/review-queue", headers=as_("unit")).status_code == 403
    # files: another unit's file id answers 404 (service-level: the file query is scoped)
    sub = _submit(engine, storage, "unit_u05", other, (PDF, "台账.pdf"))
    file_id = sub["files"][0]["id"]
    with session_scope(engine) as session:
        assert tasks.file_for(session, caller("unit_u05"), file_id).id == file_id
        assert tasks.file_for(session, caller("office"), file_id).id == file_id
        with pytest.raises(Exception) as exc:
            tasks.file_for(session, caller("unit"), file_id)
        assert getattr(exc.value, "status_code", None) == 404


def test_list_filters_cursor_and_queue_order(
    client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, storage: LocalStorage, quarter: str
) -> None:
    page1 = client.get("/tasks?limit=3", headers=as_("office")).json()
    page2 = client.get(f"/tasks?limit=3&cursor={page1['next_cursor']}", headers=as_("office")).json()
    page3 = client.get(f"/tasks?limit=3&cursor={page2['next_cursor']}", headers=as_("office")).json()
    ids = [t["id"] for t in page1["items"] + page2["items"] + page3["items"]]
    assert len(ids) == 7 == len(set(ids)) and page3["next_cursor"] is None
    assert client.get("/tasks?cursor=zz", headers=as_("office")).status_code == 422
    a, b = _task(engine, quarter, "U05"), _task(engine, quarter, "U02")
    _submit(engine, storage, "unit_u05", a, (PDF, "a.pdf"))
    _submit(engine, storage, "unit", b, (PDF, "b.pdf"))
    queue = client.get("/review-queue", headers=as_("office")).json()["items"]
    assert [t["id"] for t in queue] == [a, b]
    assert [t["id"] for t in client.get("/review-queue?unit=U02", headers=as_("office")).json()["items"]] == [b]
    assert client.get("/tasks?state=submitted", headers=as_("office")).json()["items"].__len__() == 2


def test_open_quarter_tasks_due_dates_and_board(
    client: TestClient, as_: Callable[[str], dict[str, str]], published: int
) -> None:
    r = client.post(
        "/quarters",
        json={"id": "2026Q3", "catalogue_id": published, "default_due": "2026-10-03"},
        headers=as_("office"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["tasks"] == 7 and "不是工作日" in r.json()["due_warning"]
    assert (
        client.post("/quarters", json={"id": "2026Q3", "catalogue_id": published}, headers=as_("office")).status_code
        == 409
    )
    r = client.put("/quarters/2026Q3/items/1.2/due", json={"due_date": "2026-09-28"}, headers=as_("office"))
    assert r.json()["tasks"] == 2 and r.json()["due_warning"] is None
    r = client.get("/tasks?quarter=2026Q3&item=1.2", headers=as_("office")).json()["items"]
    assert {t["due_date"] for t in r} == {"2026-09-28"}
    r = client.post("/quarters", json={"id": "2026Q1", "catalogue_id": published}, headers=as_("office"))
    assert r.json()["default_due"] == "2026-03-25"
    board = client.get("/quarters/2026Q3/board", headers=as_("office")).json()
    assert board["categories"] == ["体制机制建设", "分类投放"] and len(board["rows"]) == 6
    resp = client.get("/quarters/2026Q3/responsibilities?format=xlsx", headers=as_("office"))
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    assert (
        client.post("/quarters/2026Q3/state", json={"state": "locked"}, headers=as_("office")).json()["state"]
        == "locked"
    )
    assert client.post("/quarters/2026Q3/state", json={"state": "collecting"}, headers=as_("office")).status_code == 409
