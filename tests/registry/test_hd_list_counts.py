"""Record lists: how many match (count=true), the street filter, and exports named by scope and date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.common import clock
from services.registry import repository, service
from services.registry.models import record_count_t
from tests.registry.conftest import FACILITY

Headers = Callable[..., dict[str, str]]


def _facility(client: TestClient, as_: Headers, n: int, street: str, county: str = "county") -> str:
    body = {**FACILITY, "kind": "bin_group", "name": f"桶组{n}", "street_code": street, "community_code": None}
    if street.startswith("360103"):
        body["lat"], body["lng"] = 28.66, 115.87
    r = client.post("/facilities", json=body, headers=as_(county))
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


@pytest.fixture
def three(client: TestClient, as_: Headers) -> list[str]:
    return [_facility(client, as_, 1, "360102001"), _facility(client, as_, 2, "360102002"),
            _facility(client, as_, 3, "360102001")]  # fmt: skip


def test_list_counts_on_request_only(client: TestClient, as_: Headers, three: list[str]) -> None:
    plain = client.get("/facilities", params={"limit": 1}, headers=as_("office")).json()
    assert "total" not in plain and len(plain["items"]) == 1  # counting costs: only when asked
    counted = client.get("/facilities", params={"limit": 1, "count": "true"}, headers=as_("office")).json()
    assert counted["total"] == 3 and counted["total_estimated"] is False and len(counted["items"]) == 1
    named = client.get("/facilities", params={"q": "桶组2", "count": "true"}, headers=as_("office")).json()
    assert named["total"] == 1
    vehicles = client.get("/vehicles", params={"count": "true"}, headers=as_("office")).json()
    assert vehicles["total"] == 0


def test_street_filter(client: TestClient, as_: Headers, three: list[str]) -> None:
    r = client.get("/facilities", params={"street": "360102001", "count": "true"}, headers=as_("office")).json()
    assert [i["code"] for i in r["items"]] == [three[0], three[2]] and r["total"] == 2
    other = client.get("/facilities", params={"street": "360103001"}, headers=as_("county")).json()
    assert other["items"] == []  # another county's street: nothing, whoever asks
    assert client.get("/facilities", params={"street": "3601"}, headers=as_("office")).status_code == 422
    sites = client.get("/sites", params={"street": "360102001", "count": "true"}, headers=as_("office")).json()
    assert sites["total"] == 0


def test_export_names_carry_scope_and_date(client: TestClient, as_: Headers, three: list[str]) -> None:
    clock.set_now(datetime(2026, 12, 3, 17, 0, tzinfo=UTC))  # already the 4th in Shanghai
    try:
        csv = client.get("/facilities/export", params={"format": "csv", "county": "360102"}, headers=as_("office"))
        assert csv.status_code == 200
        assert unquote(csv.headers["content-disposition"]).endswith("设施_东湖区_2026-12-04.csv")
        whole = client.get("/facilities/export", headers=as_("office"))
        assert unquote(whole.headers["content-disposition"]).endswith("设施_全市_2026-12-04.xlsx")
        street = client.get(
            "/facilities/export", params={"format": "csv", "street": "360102002"}, headers=as_("office")
        )
        assert unquote(street.headers["content-disposition"]).endswith("设施_东湖区八一桥街道_2026-12-04.csv")
        lines = street.content.decode("utf-8-sig").strip().splitlines()
        assert len(lines) == 2 and three[1] in lines[1]
    finally:
        clock.set_now(None)


def test_count_past_the_threshold_is_an_estimate_on_postgresql(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, client: TestClient, as_: Headers, three: list[str]
) -> None:
    monkeypatch.setattr(repository, "ESTIMATE_PAST", 0)  # any planner estimate is "past" it
    with engine.connect() as conn:
        total, estimated = repository.count_records(
            conn, service.FACILITIES.table, filters={"county_code": None, "street_code": "360102001"}, q=None,
            prefix_columns=("code",), contains_columns=("name",),
        )  # fmt: skip
        narrow = repository.count_records(
            conn, service.FACILITIES.table, filters={"county_code": "360102", "street_code": "360102001"},
            q="桶_%", prefix_columns=("code",), contains_columns=("name",),
        )  # fmt: skip
    if engine.dialect.name == "postgresql":
        assert estimated is True and total >= 1
        assert narrow[1] is True and narrow[0] >= 1  # the planner's guess, bound parameters and all
    else:
        assert (total, estimated) == (2, False)  # SQLite counts
        assert narrow == (0, False)  # "_" and "%" are searched as they are


def test_counts_the_counters_cover_read_them(
    client: TestClient, as_: Headers, engine: Engine, three: list[str]
) -> None:
    """County, category, kind, status: exact from the dashboard counters (the same cost at a million)."""
    client.post(f"/facilities/{three[0]}/decommission", json={"reason": "拆除"}, headers=as_("county"))

    def total(**params: str) -> int:
        body = client.get("/facilities", params={**params, "count": "true"}, headers=as_("office")).json()
        assert body["total_estimated"] is False
        return int(body["total"])

    assert total() == 3 and total(status="active") == 2 and total(kind="bin_group", county="360102") == 3
    assert total(category="kitchen") == 0 and total(county="360103") == 0
    with engine.begin() as conn:  # the counters are what is read
        conn.execute(record_count_t.update().where(record_count_t.c.kind == "facility").values(count=1000))
    assert total(status="active") == 1000
    assert total(q="桶组") == 3  # a search counts the rows
