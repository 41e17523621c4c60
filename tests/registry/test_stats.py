"""Dashboard support: the record_count counters, /stats, /changes, /facilities/points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from services.common import clock
from services.registry import repository
from services.registry.app import create_app
from services.registry.config import Settings
from services.registry.demo import seed_demo
from tests.registry.conftest import FACILITY, SITE, VEHICLE
from tests.registry.importing import FACILITY_HEADERS, csv_file, facility_row

Headers = Callable[..., dict[str, str]]


def _counters(engine: Engine) -> dict[Any, int]:
    with engine.connect() as conn:
        return {(k, c, cat, sub, st): n for k, c, cat, sub, st, n in repository.counts(conn, None)}


def _truth(engine: Engine) -> dict[Any, int]:
    with engine.connect() as conn:
        return repository.table_counts(conn)


def test_counters_equal_a_group_by_after_a_mix_of_operations(
    client: TestClient, as_: Headers, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_INLINE", "1")
    v1 = client.post("/vehicles", json=VEHICLE, headers=as_("county")).json()
    v2 = client.post(
        "/vehicles", json={**VEHICLE, "plate_number": "赣A88888", "external_id": None}, headers=as_("county_other")
    ).json()
    client.patch(
        f"/vehicles/{v1['code']}", json={"category": "hazardous", "energy_type": "diesel"}, headers=as_("county")
    )
    client.post(f"/vehicles/{v2['code']}/decommission", headers=as_("office"))
    client.post(f"/vehicles/{v2['code']}/decommission", headers=as_("office"))  # no-op
    f1 = client.post("/facilities", json={**FACILITY, "kind": "bin_group"}, headers=as_("county")).json()
    client.patch(f"/facilities/{f1['code']}", json={"kind": "smart_box", "category": "kitchen"}, headers=as_("county"))
    client.patch(f"/facilities/{f1['code']}", json={"name": "改名"}, headers=as_("county"))  # same counter
    client.put("/facilities/by-external-id/E1", json=FACILITY, headers=as_("county"))
    client.put("/facilities/by-external-id/E1", json={**FACILITY, "kind": "hazardous_store", "name": "y"},
               headers=as_("county"))  # fmt: skip
    s1 = client.post("/sites", json=SITE, headers=as_("county")).json()
    client.patch(f"/sites/{s1['code']}", json={"kind": "education"}, headers=as_("county"))
    client.post(f"/sites/{s1['code']}/decommission", json={"reason": "拆迁"}, headers=as_("county"))
    data = csv_file(FACILITY_HEADERS, [facility_row(i) for i in range(1, 8)])
    job = client.post("/imports?kind=facilities", files={"file": ("f.csv", data, "text/csv")}, headers=as_("county"))
    client.post(f"/imports/{job.json()['id']}/confirm", headers=as_("county"))
    assert _counters(engine) == _truth(engine)
    body = client.get("/stats", headers=as_("leader")).json()
    assert body["facilities"]["total"] == 9 and body["facilities"]["by_kind"] == {"bin_group": 7, "smart_box": 1,
                                                                                  "hazardous_store": 1}  # fmt: skip
    assert body["vehicles"] == {"total": 1, "by_category": {"hazardous": 1}, "by_energy_type": {"diesel": 1}}
    assert body["sites"]["total"] == 0 and body["decommissioned"] == {"facilities": 0, "vehicles": 1, "sites": 1}
    assert body["by_county"]["360102"]["facilities"]["total"] == 9
    assert body["by_county"]["360102"]["vehicles"]["by_category"] == {"hazardous": 1}
    county = client.get("/stats", headers=as_("county_other")).json()
    assert county["facilities"]["total"] == 0 and county["decommissioned"]["vehicles"] == 1


def test_demo_seeding_recomputes_the_counters(make_db: Callable[[str], Engine]) -> None:
    engine = make_db("registry")
    seed_demo(engine, size=500)
    counters = _counters(engine)
    assert counters == _truth(engine)
    assert sum(n for (kind, *_rest), n in counters.items() if kind == "facility") == 500


def test_dashboard_reads_never_touch_the_facility_table(client: TestClient, as_: Headers, engine: Engine) -> None:
    client.post("/facilities", json=FACILITY, headers=as_("county"))
    client.post("/sites", json=SITE, headers=as_("county"))
    seen: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.lower())

    event.listen(engine, "before_cursor_execute", log)
    try:
        assert client.get("/stats", headers=as_("office")).status_code == 200
        assert client.get("/coverage", headers=as_("office")).status_code == 200
        assert client.get("/changes", headers=as_("office")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", log)
    assert seen and not [s for s in seen if "from facility" in s or "join facility" in s]


def test_changes_newest_first_with_since_limit_and_scope(client: TestClient, as_: Headers) -> None:
    start = clock.now()
    clock.set_now(start)
    f = client.post("/facilities", json=FACILITY, headers=as_("county")).json()
    clock.advance(timedelta(minutes=1))
    client.patch(f"/facilities/{f['code']}", json={"name": "新名称", "capacity": 3}, headers=as_("county"))
    clock.advance(timedelta(minutes=1))
    v = client.post("/vehicles", json={**VEHICLE, "external_id": None}, headers=as_("county_other")).json()
    clock.advance(timedelta(minutes=1))
    client.post(f"/vehicles/{v['code']}/decommission", json={"reason": "报废"}, headers=as_("county_other"))
    items = client.get("/changes", headers=as_("office")).json()["items"]
    assert [(i["kind"], i["action"]) for i in items] == [
        ("vehicle", "decommissioned"),
        ("vehicle", "created"),
        ("facility", "updated"),
        ("facility", "created"),
    ]
    assert items[0]["summary"] == f"注销车辆 {v['code']}（赣AD12345）：报废"
    assert items[2]["summary"].startswith(f"修改设施 {f['code']}（新名称）：") and "名称" in items[2]["summary"]
    assert items[3]["summary"] == f"登记设施 {f['code']}（公园街道有害垃圾暂存点）"
    assert items[3]["actor_name"] == "测试county"
    assert len(client.get("/changes?limit=2", headers=as_("office")).json()["items"]) == 2
    since = (start + timedelta(seconds=90)).isoformat()
    later = client.get("/changes", params={"since": since}, headers=as_("office")).json()["items"]
    assert [i["kind"] for i in later] == ["vehicle", "vehicle"]
    mine = client.get("/changes", headers=as_("county")).json()["items"]
    assert {i["code"] for i in mine} == {f["code"]}
    assert client.get("/changes?limit=0", headers=as_("office")).status_code == 422


def test_changes_query_walks_the_at_index(client: TestClient, engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("plan text is SQLite's")
    with engine.connect() as conn:
        plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                text("EXPLAIN QUERY PLAN SELECT id FROM record_history ORDER BY at DESC, id DESC LIMIT 50")
            )
        )
        county_plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id FROM record_history WHERE county_code = '360102' "
                    "ORDER BY at DESC, id DESC LIMIT 50"
                )
            )
        )
    assert "ix_record_history_at_id" in plan and "TEMP B-TREE" not in plan
    assert "ix_record_history_county_code_at_id" in county_plan and "TEMP B-TREE" not in county_plan


def test_facility_points_compact_ordered_scoped(client: TestClient, as_: Headers) -> None:
    for i in range(3):
        client.post("/facilities", json={**FACILITY, "kind": "bin_group", "name": f"桶组{i}"}, headers=as_("county"))
    client.post("/facilities", json=FACILITY, headers=as_("county"))
    client.post(
        "/facilities",
        json={**FACILITY, "street_code": "360103001", "community_code": None},
        headers=as_("county_other"),
    )
    gone = client.post("/facilities", json={**FACILITY, "kind": "bin_group"}, headers=as_("county")).json()
    client.post(f"/facilities/{gone['code']}/decommission", headers=as_("county"))
    body = client.get("/facilities/points", headers=as_("office")).json()
    assert body["total"] == 5 and body["truncated"] is False
    assert body["items"][0] == ["360102-F000001", 28.68, 115.9, "mixed", "bin_group", "桶组0"]
    assert [p[0] for p in body["items"]] == sorted(p[0] for p in body["items"])
    page = client.get("/facilities/points?limit=2&category=mixed", headers=as_("office")).json()
    assert page["total"] == 3 and page["truncated"] is True and len(page["items"]) == 2
    mine = client.get("/facilities/points?kind=hazardous_store", headers=as_("county")).json()
    assert mine["total"] == 1 and [p[0] for p in mine["items"]] == ["360102-F000004"]
    old = client.get("/facilities/points?status=decommissioned", headers=as_("county")).json()
    assert [p[0] for p in old["items"]] == [gone["code"]] and old["total"] == 1
    assert client.get("/facilities/points?county=360103", headers=as_("county")).status_code == 404
    assert client.get("/facilities/points", headers=as_("key_none")).status_code == 403


def test_openapi_lists_the_new_paths(engine: Engine, settings: Settings) -> None:
    spec = TestClient(create_app(settings, engine)).get("/openapi.json").json()
    paths = ["/imports", "/imports/{job_id}", "/imports/{job_id}/confirm", "/imports/templates/{kind}", "/changes"]
    paths += ["/facilities/points", "/facilities/export", "/vehicles/export", "/sites/export"]
    for path in paths:
        assert path in spec["paths"], path
