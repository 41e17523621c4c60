"""Who may do what: a table of (caller, action, expected status) over the vehicle API, plus the
same scope on facilities, sites, coverage and stats."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.registry.conftest import FACILITY, SITE, VEHICLE

_plates = itertools.count(1)


def _plate() -> str:
    return f"赣B{next(_plates):05d}"


@pytest.fixture
def records(client: TestClient, as_: Callable[..., dict[str, str]]) -> dict[str, str]:
    """One vehicle in 东湖区 (360102, 'own') and one in 西湖区 (360103, 'other')."""
    own = client.post("/vehicles", json={**VEHICLE, "external_id": None}, headers=as_("county"))
    other = client.post(
        "/vehicles",
        json={**VEHICLE, "plate_number": "赣A54321", "external_id": None, "county_code": "360103"},
        headers=as_("office"),
    )
    assert own.status_code == 201 and other.status_code == 201, (own.json(), other.json())
    return {"own": own.json()["code"], "other": other.json()["code"]}


# who → get own, get other, list, create (no county_code in body), patch own, patch other, decommission other
TABLE = {
    "admin": (200, 200, 200, 422, 200, 200, 200),
    "office": (200, 200, 200, 422, 200, 200, 200),
    "leader": (200, 200, 200, 403, 403, 403, 403),
    "unit": (200, 200, 200, 403, 403, 403, 403),
    "inspector": (200, 200, 200, 403, 403, 403, 403),
    "county": (200, 404, 200, 201, 200, 404, 404),
    "key": (200, 404, 200, 201, 200, 404, 404),
    "key_read": (200, 404, 200, 403, 403, 403, 403),
    "key_none": (403, 403, 403, 403, 403, 403, 403),
}


@pytest.mark.parametrize("who", list(TABLE))
def test_scope_table(who: str, client: TestClient, as_: Callable[..., dict[str, str]], records: dict[str, str]) -> None:
    h = as_(who)
    got = (
        client.get(f"/vehicles/{records['own']}", headers=h).status_code,
        client.get(f"/vehicles/{records['other']}", headers=h).status_code,
        client.get("/vehicles", headers=h).status_code,
        client.post(
            "/vehicles", json={**VEHICLE, "plate_number": _plate(), "external_id": None}, headers=h
        ).status_code,
        client.patch(f"/vehicles/{records['own']}", json={"capacity_tonnes": 3.5}, headers=h).status_code,
        client.patch(f"/vehicles/{records['other']}", json={"capacity_tonnes": 4.5}, headers=h).status_code,
        client.post(f"/vehicles/{records['other']}/decommission", headers=h).status_code,
    )
    assert got == TABLE[who]


def test_no_token_and_bad_tokens_are_401(client: TestClient, records: dict[str, str], as_) -> None:
    good = as_("office")["Authorization"]
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": good[:-3] + "abc"},
        {"Authorization": good.replace("Bearer", "Basic")},
    ):
        for method, path in (
            ("GET", f"/vehicles/{records['own']}"),
            ("GET", "/vehicles"),
            ("POST", "/vehicles"),
            ("GET", "/divisions"),
            ("GET", "/units"),
            ("GET", "/coverage"),
        ):
            r = client.request(method, path, headers=headers, json=VEHICLE if method == "POST" else None)
            assert r.status_code == 401, (headers, path)
            assert r.json()["error"] == "unauthorized"


def test_expired_token_is_401(client: TestClient, records: dict[str, str], as_) -> None:
    from datetime import timedelta

    from services.common import clock

    h = as_("office")
    clock.advance(timedelta(minutes=10))
    r = client.get(f"/vehicles/{records['own']}", headers=h)
    assert r.status_code == 401 and "过期" in r.json()["message"]


def test_office_must_name_the_county(client: TestClient, as_) -> None:
    r = client.post("/vehicles", json={**VEHICLE, "plate_number": _plate()}, headers=as_("office"))
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "county_code"
    assert "county_code（所属县区代码）" in r.json()["message"]
    r = client.post("/vehicles", json={**VEHICLE, "county_code": "360103"}, headers=as_("office"))
    assert r.status_code == 201 and r.json()["county_code"] == "360103"


def test_county_cannot_register_in_another_county(client: TestClient, as_) -> None:
    r = client.post("/vehicles", json={**VEHICLE, "county_code": "360103"}, headers=as_("county"))
    assert r.status_code == 403
    # naming its own county is fine
    r = client.post("/vehicles", json={**VEHICLE, "county_code": "360102"}, headers=as_("county"))
    assert r.status_code == 201


def test_county_list_sees_only_its_county(client: TestClient, as_, records: dict[str, str]) -> None:
    codes = [v["code"] for v in client.get("/vehicles", headers=as_("county")).json()["items"]]
    assert codes == [records["own"]]
    assert client.get("/vehicles?county=360103", headers=as_("county")).status_code == 404
    all_codes = {v["code"] for v in client.get("/vehicles", headers=as_("leader")).json()["items"]}
    assert all_codes == set(records.values())


def test_history_follows_the_record_scope(client: TestClient, as_, records: dict[str, str]) -> None:
    assert client.get(f"/vehicles/{records['other']}/history", headers=as_("county")).status_code == 404
    assert client.get(f"/vehicles/{records['other']}/history", headers=as_("leader")).status_code == 200


def test_facilities_and_sites_share_the_scope(client: TestClient, as_) -> None:
    f = client.post("/facilities", json=FACILITY, headers=as_("county"))
    s = client.post("/sites", json=SITE, headers=as_("county"))
    assert f.status_code == 201 and s.status_code == 201
    for path in (f"/facilities/{f.json()['code']}", f"/sites/{s.json()['code']}"):
        assert client.get(path, headers=as_("county")).status_code == 200
        assert client.get(path, headers=as_("county_other")).status_code == 404
        assert client.patch(path, json={"name": "新名"}, headers=as_("county_other")).status_code == 404
        assert client.patch(path, json={"name": "新名"}, headers=as_("leader")).status_code == 403
        assert client.patch(path, json={"name": "新名"}, headers=as_("key_read")).status_code == 403
    assert client.post("/sites", json=SITE, headers=as_("unit")).status_code == 403


def test_reference_data_readable_by_any_valid_caller(client: TestClient, as_) -> None:
    for who in ("key_none", "county", "unit", "inspector"):
        assert client.get("/divisions", headers=as_(who)).status_code == 200
        assert client.get("/units", headers=as_(who)).status_code == 200


def test_figures_scoped(client: TestClient, as_) -> None:
    assert client.get("/coverage", headers=as_("key_none")).status_code == 403
    assert client.get("/coverage?county=360103", headers=as_("county")).status_code == 404
    body = client.get("/coverage", headers=as_("county")).json()
    assert [c["county_code"] for c in body["counties"]] == ["360102"]
    assert client.get("/stats", headers=as_("county")).json()["county_code"] == "360102"
    assert client.get("/stats?county=360103", headers=as_("county")).status_code == 404


def test_events_feed_is_for_the_office(client: TestClient, as_) -> None:
    assert client.get("/events", headers=as_("county")).status_code == 403
    assert client.get("/events", headers=as_("office")).status_code == 200
