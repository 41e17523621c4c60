"""Forecast (secured / pending / at risk / lost, metric items from registry data), national results and
trend, member-unit ranking (with and without supervision, leaders' marks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from services.assessment import rankings, tasks
from services.assessment.config import Settings
from services.assessment.models import Task
from services.common import clock
from services.common.db import session_scope
from services.common.storage import LocalStorage
from tests.assessment.conftest import ChinaCalendar, FakeRegistry, FakeSupervision, caller
from tests.assessment.test_workflow import PDF


def _tasks(engine: Engine, quarter: str) -> dict[tuple[str, str], int]:
    with session_scope(engine) as session:
        rows = session.execute(select(Task).where(Task.quarter_id == quarter)).scalars().all()
        return {(t.item_code, t.unit_code): t.id for t in rows if t.id is not None}


def _hand_in(engine: Engine, storage: LocalStorage, who: str, task_id: int) -> None:
    stored = storage.put(PDF, original_name="材料.pdf")
    with session_scope(engine) as session:
        tasks.submit(session, caller(who), task_id, [stored], effective_date=date(2026, 11, 30), note=None)


def test_forecast_moves_with_review_and_judgement(
    client: TestClient,
    as_: Callable[[str], dict[str, str]],
    engine: Engine,
    storage: LocalStorage,
    quarter: str,
    registry: FakeRegistry,
) -> None:
    clock.set_now(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    f = client.get(f"/quarters/{quarter}/forecast", headers=as_("office")).json()
    # 1.1 (3) + 1.2 (2) + 2.1 (3, coverage 93 % -> band 2) + 2.2 (3) = 11 max; 1 lost on the metric
    assert (f["max_points"], f["lost"], f["secured"], f["pending_review"]) == (11, 1, 0, 0)
    assert f["at_risk"] == 10 and registry.coverage_calls == [date(2026, 12, 2)]
    ids = _tasks(engine, quarter)
    _hand_in(engine, storage, "unit", ids[("1.2", "U02")])
    f = client.get(f"/quarters/{quarter}/forecast", headers=as_("office")).json()
    assert f["pending_review"] == 1 and f["at_risk"] == 9
    client.post(f"/tasks/{ids[('1.2', 'U02')]}/review", json={"decision": "approve"}, headers=as_("office"))
    f = client.get(f"/quarters/{quarter}/forecast", headers=as_("office")).json()
    assert f["secured"] == 1 and f["pending_review"] == 0
    assert {c["category"]: c["secured"] for c in f["by_category"]} == {"体制机制建设": 1, "分类投放": 0}
    assert next(u for u in f["by_unit"] if u["unit_code"] == "U02")["secured"] == 1
    assert f["top_risks"][0]["points"] == 3 and f["top_risks"][0]["item_code"] in {"1.1", "2.2"}
    # the office finds 2 mixed-dumping cases: 2.2 loses 1 point
    r = client.put(f"/quarters/{quarter}/items/2.2/judgement", json={"inputs": {"cases": 2}}, headers=as_("office"))
    assert r.status_code == 200
    f = client.get(f"/quarters/{quarter}/forecast", headers=as_("office")).json()
    assert f["lost"] == 2 and f["expected"] == 9
    assert client.get(f"/quarters/{quarter}/forecast", headers=as_("unit")).status_code == 403
    assert client.get(f"/quarters/{quarter}/forecast", headers=as_("leader")).status_code == 200
    # locking keeps the forecast for the trend
    client.post(f"/quarters/{quarter}/state", json={"state": "locked"}, headers=as_("office"))
    body = {
        "score": 86.5,
        "rank": 12,
        "class_name": "大城市",
        "class_size": 54,
        "tier": "第二档",
        "lost_by_category": {"分类投放": 4.5},
    }
    r = client.put(f"/national-results/{quarter}", json=body, headers=as_("office"))
    assert r.status_code == 200 and r.json()["forecast_score"] == 9
    assert (
        client.put("/national-results/2026Q3", json=body | {"tier": "第五档"}, headers=as_("office")).status_code == 422
    )
    assert client.put("/national-results/2026Q3", json=body | {"rank": 60}, headers=as_("office")).status_code == 422
    assert client.put("/national-results/2026Q3", json=body, headers=as_("leader")).status_code == 403
    assert client.put("/national-results/2026Q3", json=body, headers=as_("office")).status_code == 200
    assert client.delete("/national-results/2026Q3", headers=as_("office")).status_code == 204
    assert client.delete("/national-results/2026Q3", headers=as_("office")).status_code == 404
    trend = client.get("/national-results", headers=as_("leader")).json()["trend"]
    assert trend == [
        {"quarter": "2026Q4", "actual": 86.5, "forecast": 9.0, "rank": 12, "tier": "第二档", "error": -77.5}
    ]


def test_ranking(
    engine: Engine, storage: LocalStorage, quarter: str, registry: FakeRegistry, settings: Settings
) -> None:
    ids = _tasks(engine, quarter)
    clock.set_now(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    _hand_in(engine, storage, "unit", ids[("1.2", "U02")])  # on time
    with session_scope(engine) as session:
        tasks.review(session, caller("office"), ids[("1.2", "U02")], "approve", None)
    clock.set_now(datetime(2026, 12, 30, 2, 0, tzinfo=UTC))  # 12-25 due; 12-30 is 3 working days late
    _hand_in(engine, storage, "unit_u05", ids[("2.2", "U05")])
    with session_scope(engine) as session:
        tasks.review(session, caller("office"), ids[("2.2", "U05")], "return", "缺页")
        rankings.rate(session, caller("leader"), quarter, "U05", 80, "态度积极")
    with session_scope(engine) as session:
        result = rankings.ranking(session, caller("leader"), settings, registry, None, ChinaCalendar(), quarter)
    rows = {r["unit_code"]: r for r in result["items"]}
    assert result["supervision_available"] is False and result["weights"]["rectification"] == 0
    assert (
        rows["U02"]["on_time_rate"] == 1
        and rows["U02"]["first_pass_rate"] == 1
        and rows["U02"]["overdue_workdays"] == 0
    )
    assert (
        rows["U05"]["on_time_rate"] == 0
        and rows["U05"]["first_pass_rate"] == 0
        and rows["U05"]["overdue_workdays"] == 3
    )
    assert rows["U05"]["qualitative"] == 80
    assert rows["U01"]["overdue_workdays"] == 6  # two tasks never handed in: 3 working days each to today
    assert result["items"][0]["unit_code"] == "U02" and [r["rank"] for r in result["items"]] == list(
        range(1, len(rows) + 1)
    )
    sup = FakeSupervision({"units": [{"unit_code": "U05", "rectification_on_time_rate": 0.5, "enforcement_cases": 12}]})
    with session_scope(engine) as session:
        with_sup = rankings.ranking(session, caller("office"), settings, registry, sup, ChinaCalendar(), "2026")
    u05 = next(r for r in with_sup["items"] if r["unit_code"] == "U05")
    assert with_sup["supervision_available"] and u05["enforcement_cases"] == 12 and with_sup["quarters"] == ["2026Q4"]


def test_ranking_over_http(client: TestClient, as_: Callable[[str], dict[str, str]], quarter: str) -> None:
    r = client.get(f"/rankings?period={quarter}", headers=as_("leader"))
    assert r.status_code == 200 and r.json()["items"][0]["rank"] == 1
    assert client.get("/rankings?period=2026", headers=as_("office")).json()["quarters"] == [quarter]
    assert client.get(f"/rankings?period={quarter}", headers=as_("unit")).status_code == 403
    assert client.get("/rankings?period=26Q4", headers=as_("office")).status_code == 422
    r = client.put(f"/rankings/{quarter}/ratings/U02", json={"score": 91, "comment": "好"}, headers=as_("leader"))
    assert r.status_code == 200
    assert client.put(f"/rankings/{quarter}/ratings/U02", json={"score": 91}, headers=as_("unit")).status_code == 403
    rows = client.get(f"/rankings?period={quarter}", headers=as_("leader")).json()["items"]
    assert next(x for x in rows if x["unit_code"] == "U02")["qualitative"] == 91
