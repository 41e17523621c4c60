"""The county-facing record API: register, read, patch, upsert, decommission, list, history, events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.registry.models import history_t, idempotency, vehicle_t
from tests.registry.conftest import FACILITY, SITE, VEHICLE

Headers = Callable[..., dict[str, str]]


def _events(client: TestClient, as_: Headers) -> list[dict[str, Any]]:
    return client.get("/events?limit=1000", headers=as_("office")).json()["items"]


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_register_vehicle_answers_201_with_its_code(client: TestClient, as_: Headers) -> None:
    r = client.post("/vehicles", json=VEHICLE, headers=as_("key"))
    assert r.status_code == 201
    body = r.json()
    assert body["code"] == "360102-K00001"
    assert body["county_code"] == "360102"
    assert body["status"] == "active" and body["version"] == 1
    assert body["plate_number"] == "赣AD12345"
    got = client.get(f"/vehicles/{body['code']}", headers=as_("key"))
    assert got.status_code == 200 and got.json() == body


def test_codes_continue_per_county_and_never_reused(client: TestClient, as_: Headers) -> None:
    a = client.post("/vehicles", json={**VEHICLE, "external_id": None}, headers=as_("county")).json()
    b = client.post(
        "/vehicles",
        json={**VEHICLE, "plate_number": "赣A11111", "category": "recyclable", "external_id": None},
        headers=as_("county"),
    ).json()
    other = client.post(
        "/vehicles", json={**VEHICLE, "plate_number": "赣A11112", "external_id": None}, headers=as_("county_other")
    ).json()
    assert (a["code"], b["code"], other["code"]) == ("360102-K00001", "360102-R00002", "360103-K00001")
    assert client.post(f"/vehicles/{b['code']}/decommission", headers=as_("county")).status_code == 200
    c = client.post(
        "/vehicles", json={**VEHICLE, "plate_number": "赣A22222", "external_id": None}, headers=as_("county")
    ).json()
    assert c["code"] == "360102-K00003"  # number 2 stays with the decommissioned vehicle


def test_category_change_keeps_the_code(client: TestClient, as_: Headers) -> None:
    code = client.post("/vehicles", json=VEHICLE, headers=as_("county")).json()["code"]
    r = client.patch(f"/vehicles/{code}", json={"category": "hazardous"}, headers=as_("county"))
    assert r.status_code == 200
    assert r.json()["code"] == code and r.json()["category"] == "hazardous" and r.json()["version"] == 2


def test_patch_is_partial_and_noop_writes_nothing(client: TestClient, as_: Headers, engine: Engine) -> None:
    created = client.post("/vehicles", json=VEHICLE, headers=as_("county")).json()
    code = created["code"]
    r = client.patch(f"/vehicles/{code}", json={"gps_device_id": "GPS-9"}, headers=as_("county"))
    assert r.json()["gps_device_id"] == "GPS-9"
    assert r.json()["operator_name"] == VEHICLE["operator_name"]
    assert r.json()["capacity_tonnes"] == 2.5
    history_rows, events = _count(engine, history_t), len(_events(client, as_))
    again = client.patch(f"/vehicles/{code}", json={"gps_device_id": "GPS-9"}, headers=as_("county"))
    assert again.status_code == 200 and again.json()["version"] == 2
    assert _count(engine, history_t) == history_rows and len(_events(client, as_)) == events


def test_immutable_fields_refused_in_chinese(client: TestClient, as_: Headers) -> None:
    code = client.post("/vehicles", json=VEHICLE, headers=as_("office", **{})).json().get("code")
    code = code or client.post("/vehicles", json=VEHICLE, headers=as_("county")).json()["code"]
    for body, fragment in (
        ({"county_code": "360103"}, "county_code（所属县区代码）：创建后不能修改"),
        ({"code": "X-1"}, "code（统一编号）：由平台统一分配"),
        ({"status": "active"}, "status（状态）：只能通过注销接口"),
        ({"unknown_field": 1}, "不是可接受的字段"),
    ):
        r = client.patch(f"/vehicles/{code}", json=body, headers=as_("county"))
        assert r.status_code == 422, body
        assert fragment in r.json()["message"]


def test_validation_messages_name_the_field(client: TestClient, as_: Headers) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"plate_number": "赣AI2345"}, "plate_number", "plate_number（车牌号）：车牌号格式不正确"),
        ({"plate_number": "赣A1D2345"}, "plate_number", "D 或 F"),
        ({"category": "mixed"}, "category", "应为"),
        ({"capacity_tonnes": -1}, "capacity_tonnes", "不能小于"),
        ({"operator_name": None}, "operator_name", ""),
    ]
    for change, field, fragment in cases:
        r = client.post("/vehicles", json={**VEHICLE, **change}, headers=as_("county"))
        assert r.status_code == 422, change
        body = r.json()
        assert body["error"] == "validation_error"
        assert body["details"][0]["field"] == field
        assert fragment in body["message"]


def test_division_relations_checked_against_the_table(client: TestClient, as_: Headers) -> None:
    cases = [
        ({"street_code": "360103001"}, "street_code", "不属于"),  # another county's street
        ({"street_code": "360102009"}, "street_code", "不是已登记的街道"),  # well-formed, unknown
        ({"community_code": "360102002001"}, "community_code", "不属于"),  # under another street
        ({"community_code": "360102001009"}, "community_code", "不是已登记的社区"),
    ]
    for change, field, fragment in cases:
        r = client.post("/sites", json={**SITE, **change}, headers=as_("county"))
        assert r.status_code == 422, change
        assert r.json()["details"][0]["field"] == field
        assert fragment in r.json()["message"]
        assert r.json()["message"].startswith(f"{field}（")
    r = client.post("/sites", json={**SITE, "county_code": "360199"}, headers=as_("office"))
    assert r.status_code == 422 and "不是已登记的县区" in r.json()["message"]
    # a community without its street: the street follows from the code
    r = client.post("/facilities", json={**FACILITY, "street_code": None}, headers=as_("county"))
    assert r.status_code == 201 and r.json()["street_code"] == "360102001"


def test_duplicate_plate_refused_among_active_vehicles(client: TestClient, as_: Headers) -> None:
    first = client.post("/vehicles", json=VEHICLE, headers=as_("county")).json()
    r = client.post("/vehicles", json={**VEHICLE, "external_id": "NC-0002"}, headers=as_("county_other"))
    assert r.status_code == 409
    assert r.json()["details"][0]["field"] == "plate_number"
    assert "plate_number（车牌号）" in r.json()["message"] and first["code"] in r.json()["message"]
    # a plate written differently is the same plate
    r = client.post(
        "/vehicles", json={**VEHICLE, "plate_number": "赣a·d12345", "external_id": None}, headers=as_("county")
    )
    assert r.status_code == 409
    # a patch onto another vehicle's plate is refused too
    second = client.post(
        "/vehicles", json={**VEHICLE, "plate_number": "赣A33333", "external_id": None}, headers=as_("county")
    ).json()
    r = client.patch(f"/vehicles/{second['code']}", json={"plate_number": "赣AD12345"}, headers=as_("county"))
    assert r.status_code == 409
    # once decommissioned, the plate may be registered again (the old record keeps it)
    client.post(f"/vehicles/{first['code']}/decommission", headers=as_("county"))
    r = client.post("/vehicles", json={**VEHICLE, "external_id": None}, headers=as_("county"))
    assert r.status_code == 201
    assert client.get(f"/vehicles/{first['code']}", headers=as_("county")).json()["plate_number"] == "赣AD12345"


def test_duplicate_external_id_refused(client: TestClient, as_: Headers) -> None:
    client.post("/vehicles", json=VEHICLE, headers=as_("county"))
    r = client.post("/vehicles", json={**VEHICLE, "plate_number": "赣A44444"}, headers=as_("county"))
    assert r.status_code == 409 and r.json()["details"][0]["field"] == "external_id"
    # another county may use the same id of its own
    r = client.post("/vehicles", json={**VEHICLE, "plate_number": "赣A44444"}, headers=as_("county_other"))
    assert r.status_code == 201


def test_idempotency_key_replays_and_creates_once(client: TestClient, as_: Headers, engine: Engine) -> None:
    h = as_("key", **{"Idempotency-Key": "retry-1"})
    first = client.post("/vehicles", json=VEHICLE, headers=h)
    second = client.post("/vehicles", json=dict(reversed(list(VEHICLE.items()))), headers=h)  # key order ignored
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert _count(engine, vehicle_t) == 1
    assert [e["type"] for e in _events(client, as_)] == ["sortline.registry.vehicle.registered"]
    other = client.post("/vehicles", json={**VEHICLE, "plate_number": "赣A55555"}, headers=h)
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"
    assert _count(engine, vehicle_t) == 1
    # the key belongs to its caller: another caller's same key is a new request
    r = client.post(
        "/vehicles",
        json={**VEHICLE, "plate_number": "赣A66666", "external_id": None},
        headers=as_("county", **{"Idempotency-Key": "retry-1"}),
    )
    assert r.status_code == 201
    assert _count(engine, idempotency.table) == 2


def test_failed_request_does_not_burn_the_key(client: TestClient, as_: Headers) -> None:
    h = as_("key", **{"Idempotency-Key": "k-fail"})
    bad = client.post("/vehicles", json={**VEHICLE, "county_code": "360103"}, headers=h)
    assert bad.status_code == 403
    good = client.post("/vehicles", json=VEHICLE, headers=h)
    assert good.status_code == 201


def test_upsert_by_external_id(client: TestClient, as_: Headers, engine: Engine) -> None:
    body = {k: v for k, v in VEHICLE.items() if k != "external_id"}
    r = client.put("/vehicles/by-external-id/NC-7", json=body, headers=as_("key"))
    assert r.status_code == 201 and r.json()["external_id"] == "NC-7"
    code = r.json()["code"]
    r = client.put("/vehicles/by-external-id/NC-7", json={**body, "capacity_tonnes": 4.0}, headers=as_("key"))
    assert r.status_code == 200 and r.json()["code"] == code and r.json()["capacity_tonnes"] == 4.0
    assert r.json()["version"] == 2
    # PUT replaces: a field left out goes back to its default
    body_without_capacity = {k: v for k, v in body.items() if k != "capacity_tonnes"}
    r = client.put("/vehicles/by-external-id/NC-7", json=body_without_capacity, headers=as_("key"))
    assert r.status_code == 200 and r.json()["capacity_tonnes"] is None
    # the same body again writes nothing
    before = _count(engine, history_t)
    r = client.put("/vehicles/by-external-id/NC-7", json=body_without_capacity, headers=as_("key"))
    assert r.status_code == 200 and r.json()["version"] == 3 and _count(engine, history_t) == before
    # the same external id in another county is another record
    r = client.put(
        "/vehicles/by-external-id/NC-7", json={**body, "plate_number": "赣A77777"}, headers=as_("county_other")
    )
    assert r.status_code == 201 and r.json()["county_code"] == "360103"
    # body and path must agree
    r = client.put("/vehicles/by-external-id/NC-7", json={**body, "external_id": "NC-8"}, headers=as_("key"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "external_id"
    assert _count(engine, vehicle_t) == 2


def test_upsert_with_idempotency_key(client: TestClient, as_: Headers, engine: Engine) -> None:
    h = as_("key", **{"Idempotency-Key": "put-1"})
    a = client.put("/facilities/by-external-id/F-1", json=FACILITY, headers=h)
    b = client.put("/facilities/by-external-id/F-1", json=FACILITY, headers=h)
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    c = client.put("/facilities/by-external-id/F-1", json={**FACILITY, "name": "改名"}, headers=h)
    assert c.status_code == 409


def test_decommission_is_idempotent(client: TestClient, as_: Headers, engine: Engine) -> None:
    code = client.post("/vehicles", json=VEHICLE, headers=as_("county")).json()["code"]
    r1 = client.post(f"/vehicles/{code}/decommission", json={"reason": "车辆报废"}, headers=as_("county"))
    assert r1.status_code == 200 and r1.json()["status"] == "decommissioned"
    assert r1.json()["decommissioned_at"] is not None
    rows, events = _count(engine, history_t), len(_events(client, as_))
    r2 = client.post(f"/vehicles/{code}/decommission", headers=as_("county"))
    assert r2.status_code == 200 and r2.json() == r1.json()
    assert _count(engine, history_t) == rows and len(_events(client, as_)) == events
    # a decommissioned record cannot be changed any more
    r = client.patch(f"/vehicles/{code}", json={"gps_device_id": "x"}, headers=as_("county"))
    assert r.status_code == 409 and "已注销" in r.json()["message"]


def test_unknown_code_is_404_in_chinese(client: TestClient, as_: Headers) -> None:
    for path in ("/vehicles/360102-K99999", "/facilities/nope", "/sites/nope", "/units/U99"):
        r = client.get(path, headers=as_("office"))
        assert r.status_code == 404 and "不存在" in r.json()["message"]


def test_history_and_events_for_every_change(client: TestClient, as_: Headers) -> None:
    code = client.post("/vehicles", json=VEHICLE, headers=as_("county")).json()["code"]
    client.patch(f"/vehicles/{code}", json={"capacity_tonnes": 3.0}, headers=as_("county"))
    client.post(f"/vehicles/{code}/decommission", json={"reason": "报废"}, headers=as_("county"))
    items = client.get(f"/vehicles/{code}/history", headers=as_("county")).json()["items"]
    assert [i["action"] for i in items] == ["created", "updated", "decommissioned"]
    assert items[0]["before"] is None and items[0]["after"]["code"] == code
    assert items[1]["before"]["capacity_tonnes"] == 2.5 and items[1]["after"]["capacity_tonnes"] == 3.0
    assert items[2]["after"]["reason"] == "报废"
    assert all(i["actor_sub"] == "user:county" and i["actor_name"] == "测试county" for i in items)
    events = _events(client, as_)
    assert [e["type"] for e in events] == [
        "sortline.registry.vehicle.registered",
        "sortline.registry.vehicle.updated",
        "sortline.registry.vehicle.decommissioned",
    ]
    assert all(e["subject"] == code and e["source"] == "/sortline/registry" for e in events)
    assert events[1]["data"]["changed"] == ["capacity_tonnes"]
    page = client.get(f"/vehicles/{code}/history?limit=2", headers=as_("county")).json()
    rest = client.get(f"/vehicles/{code}/history?limit=2&cursor={page['next_cursor']}", headers=as_("county")).json()
    assert [i["action"] for i in page["items"] + rest["items"]] == ["created", "updated", "decommissioned"]


def test_facility_and_site_events(client: TestClient, as_: Headers) -> None:
    f = client.post("/facilities", json=FACILITY, headers=as_("county")).json()
    s = client.post("/sites", json=SITE, headers=as_("county")).json()
    client.patch(f"/sites/{s['code']}", json={"name": "滨江花园二期"}, headers=as_("county"))
    client.post(f"/facilities/{f['code']}/decommission", headers=as_("county"))
    assert [e["type"] for e in _events(client, as_)] == [
        "sortline.registry.facility.registered",
        "sortline.registry.site.registered",
        "sortline.registry.site.updated",
        "sortline.registry.facility.decommissioned",
    ]
    assert f["code"] == "360102-F000001" and f["category"] == "hazardous"
    assert s["code"] == "360102-S000001"


def test_facility_rules(client: TestClient, as_: Headers) -> None:
    r = client.post("/facilities", json={**FACILITY, "category": "kitchen"}, headers=as_("county"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "category"
    r = client.post("/facilities", json={**FACILITY, "kind": "drop_point"}, headers=as_("county"))
    assert r.status_code == 201 and r.json()["category"] == "mixed"
    r = client.post("/facilities", json={**FACILITY, "site_code": "360102-S999999"}, headers=as_("county"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "site_code"
    site = client.post("/sites", json=SITE, headers=as_("county")).json()
    r = client.post(
        "/facilities", json={**FACILITY, "kind": "bin_group", "site_code": site["code"]}, headers=as_("county")
    )
    assert r.status_code == 201 and r.json()["site_code"] == site["code"]
    r = client.post("/facilities", json={**FACILITY, "lat": 60.0}, headers=as_("county"))
    assert r.status_code == 422 and "lat（纬度）" in r.json()["message"]


def test_site_covered_without_date_means_today(client: TestClient, as_: Headers) -> None:
    from services.common import clock

    r = client.post("/sites", json={**SITE, "covered_since": None}, headers=as_("county"))
    assert r.status_code == 201 and r.json()["covered_since"] == clock.today().isoformat()


def _all_pages(client: TestClient, as_: Headers, path: str, limit: int) -> list[str]:
    codes: list[str] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    while True:
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=as_("office")).json()
        codes += [i["code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return codes


def test_list_filters_and_pagination(client: TestClient, as_: Headers) -> None:
    made: dict[str, str] = {}
    for i in range(23):
        county = "county" if i % 3 else "county_other"
        category = ("kitchen", "residual", "hazardous")[(i % 3 == 1 and 1) or (2 if i % 5 == 0 else 0)]
        r = client.post(
            "/vehicles",
            json={**VEHICLE, "plate_number": f"赣C{i:05d}", "category": category, "external_id": None},
            headers=as_(county),
        )
        assert r.status_code == 201
        made[r.json()["code"]] = f"{r.json()['county_code']}/{category}"
    everything = _all_pages(client, as_, "/vehicles", 5)
    assert everything == sorted(made) and len(set(everything)) == 23
    dh = _all_pages(client, as_, "/vehicles?county=360102", 4)
    assert dh == sorted(c for c, v in made.items() if v.startswith("360102/"))
    kitchen = _all_pages(client, as_, "/vehicles?county=360102&category=kitchen", 2)
    assert kitchen == sorted(c for c, v in made.items() if v == "360102/kitchen")
    by_plate = client.get("/vehicles?q=赣C0001", headers=as_("office")).json()["items"]
    assert sorted(v["plate_number"] for v in by_plate) == [f"赣C{i:05d}" for i in range(10, 20)]
    by_code = client.get("/vehicles?q=360103-", headers=as_("office")).json()["items"]
    assert {v["county_code"] for v in by_code} == {"360103"}
    assert client.get("/vehicles?q=%25", headers=as_("office")).json()["items"] == []  # LIKE escaped
    client.post(f"/vehicles/{everything[0]}/decommission", headers=as_("office"))
    gone = client.get("/vehicles?status=decommissioned", headers=as_("office")).json()["items"]
    assert [v["code"] for v in gone] == [everything[0]]
    bad = client.get("/vehicles?cursor=garbage", headers=as_("office"))
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "cursor"


def test_pagination_stable_under_inserts(client: TestClient, as_: Headers) -> None:
    for i in range(6):
        client.post("/facilities", json={**FACILITY, "name": f"点{i}"}, headers=as_("county"))
    first = client.get("/facilities?limit=3", headers=as_("office")).json()
    # new rows arrive between pages: they sort after the cursor (higher numbers) and are seen once
    for i in range(6, 9):
        client.post("/facilities", json={**FACILITY, "name": f"点{i}"}, headers=as_("county"))
    seen = [f["code"] for f in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/facilities?limit=3&cursor={cursor}", headers=as_("office")).json()
        seen += [f["code"] for f in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"360102-F{i:06d}" for i in range(1, 10)]


def test_facility_and_site_list_filters(client: TestClient, as_: Headers) -> None:
    client.post("/facilities", json=FACILITY, headers=as_("county"))
    client.post("/facilities", json={**FACILITY, "kind": "bin_group", "name": "滨江桶组"}, headers=as_("county"))
    client.post("/sites", json=SITE, headers=as_("county"))
    client.post("/sites", json={**SITE, "kind": "education", "name": "示例小学"}, headers=as_("county"))
    kinds = client.get("/facilities?kind=bin_group", headers=as_("office")).json()["items"]
    assert [f["name"] for f in kinds] == ["滨江桶组"]
    cats = client.get("/facilities?category=hazardous", headers=as_("office")).json()["items"]
    assert [f["kind"] for f in cats] == ["hazardous_store"]
    named = client.get("/facilities?q=桶组", headers=as_("office")).json()["items"]
    assert [f["name"] for f in named] == ["滨江桶组"]
    schools = client.get("/sites?kind=education", headers=as_("office")).json()["items"]
    assert [s["name"] for s in schools] == ["示例小学"]


def test_divisions_and_units(client: TestClient, as_: Headers) -> None:
    counties = client.get("/divisions?level=county", headers=as_("county")).json()["items"]
    assert [c["code"] for c in counties] == ["360102", "360103"]
    streets = client.get("/divisions?parent=360102", headers=as_("county")).json()["items"]
    assert [s["code"] for s in streets] == ["360102001", "360102002"]
    assert client.get("/divisions?level=planet", headers=as_("county")).status_code == 422
    units = client.get("/units", headers=as_("unit")).json()["items"]
    assert [u["code"] for u in units] == ["U01", "U21"]
    assert client.get("/units/U21", headers=as_("unit")).json()["county_code"] == "360102"


def test_stats_count_active_records_by_category(client: TestClient, as_: Headers) -> None:
    client.post("/vehicles", json=VEHICLE, headers=as_("county"))
    v2 = client.post(
        "/vehicles",
        json={**VEHICLE, "plate_number": "赣A88888", "category": "residual", "external_id": None},
        headers=as_("county_other"),
    ).json()
    client.post("/facilities", json=FACILITY, headers=as_("county"))
    client.post("/facilities", json={**FACILITY, "kind": "bin_group"}, headers=as_("county"))
    client.post(f"/vehicles/{v2['code']}/decommission", headers=as_("office"))
    stats = client.get("/stats", headers=as_("leader")).json()
    assert stats["vehicles"] == {"total": 1, "by_category": {"kitchen": 1}, "by_energy_type": {"electric": 1}}
    assert stats["facilities"]["by_category"] == {"hazardous": 1, "mixed": 1}
    assert stats["facilities"]["by_kind"] == {"hazardous_store": 1, "bin_group": 1}


def test_openapi_documents_examples_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/vehicles"]["post"]
    assert post["tags"] == ["vehicles"]
    assert "electric_kitchen" in post["requestBody"]["content"]["application/json"]["examples"]
    assert {"401", "403", "409", "422"} <= set(post["responses"])
    assert "example" in post["responses"]["409"]["content"]["application/json"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    schemas = spec["components"]["schemas"]
    assert schemas["VehiclePublic"]["examples"][0]["code"] == "360102-K00001"
    for path, tag in (
        ("/facilities", "facilities"),
        ("/sites", "sites"),
        ("/divisions", "divisions"),
        ("/units", "units"),
    ):
        assert spec["paths"][path]["get"]["tags"] == [tag]
