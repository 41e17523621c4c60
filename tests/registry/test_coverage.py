"""Coverage arithmetic on a hand-made set of sites with a known answer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from services.registry.models import site_t
from services.registry.service import end_of_day

T2020 = datetime(2020, 1, 1, tzinfo=UTC)


def _site(
    code: str,
    county: str,
    kind: str = "residential",
    *,
    covered: bool = True,
    coll: bool = True,
    trans: bool = True,
    since: date | None = None,
    created: datetime = T2020,
    gone: datetime | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "name": code,
        "county_code": county,
        "street_code": f"{county}001",
        "community_code": None,
        "address": None,
        "lat": None,
        "lng": None,
        "covered": covered,
        "covered_since": since,
        "sorted_collection": coll,
        "sorted_transport": trans,
        "status": "decommissioned" if gone else "active",
        "external_id": None,
        "created_at": created,
        "updated_at": created,
        "decommissioned_at": gone,
        "version": 1,
    }


@pytest.fixture
def sites(engine: Engine) -> None:
    rows = [
        _site("A", "360102", since=date(2021, 1, 1)),
        _site("B", "360102", since=date(2022, 1, 1)),
        _site("C", "360102", trans=False, since=date(2020, 6, 1)),  # no sorted transport: never covered
        _site("D", "360102", covered=False, coll=False, trans=False),
        _site("E", "360102", since=date(2020, 1, 1), gone=datetime(2022, 3, 1, 2, 0, tzinfo=UTC)),
        _site("F", "360102", since=date(2022, 5, 1), created=datetime(2022, 5, 1, tzinfo=UTC)),
        _site("G", "360102", "education", since=date(2020, 3, 1)),
        _site("H", "360103", covered=False, coll=False, trans=False),
        _site("I", "360103", "farmers_market", covered=True, since=None),  # covered without a date
    ]
    with engine.begin() as conn:
        conn.execute(insert(site_t), rows)


def _coverage(client: TestClient, as_, day: str, **params: str) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = client.get(f"/coverage?as_of={day}&{query}", headers=as_("leader"))
    assert r.status_code == 200, r.json()
    return r.json()


def _county(report: dict[str, Any], code: str) -> dict[str, Any]:
    return next(c for c in report["counties"] if c["county_code"] == code)


@pytest.mark.usefixtures("sites")
def test_coverage_mid_2021(client: TestClient, as_) -> None:
    report = _coverage(client, as_, "2021-06-30")
    assert report["as_of"] == "2021-06-30"
    dh = _county(report, "360102")
    assert dh["county_name"] == "东湖区"
    assert dh["residential"] == {"covered": 2, "total": 5, "rate": 0.4}  # A and E of A-E (F not yet)
    assert dh["by_kind"]["education"] == {"covered": 1, "total": 1, "rate": 1.0}
    assert dh["by_kind"]["medical"] == {"covered": 0, "total": 0, "rate": None}
    xh = _county(report, "360103")
    assert xh["residential"] == {"covered": 0, "total": 1, "rate": 0.0}
    assert xh["by_kind"]["farmers_market"] == {"covered": 0, "total": 1, "rate": 0.0}
    assert report["city"]["residential"] == {"covered": 2, "total": 6, "rate": 0.3333}
    assert report["city"]["by_kind"]["residential"] == report["city"]["residential"]


@pytest.mark.usefixtures("sites")
def test_coverage_mid_2022(client: TestClient, as_) -> None:
    dh = _county(_coverage(client, as_, "2022-06-30"), "360102")
    assert dh["residential"] == {"covered": 3, "total": 5, "rate": 0.6}  # A, B, F of A, B, C, D, F


@pytest.mark.usefixtures("sites")
def test_coverage_on_the_boundary_days(client: TestClient, as_) -> None:
    # B counts from its covered_since day itself
    assert _county(_coverage(client, as_, "2021-12-31"), "360102")["residential"]["covered"] == 2
    assert _county(_coverage(client, as_, "2022-01-01"), "360102")["residential"]["covered"] == 3
    # E is decommissioned on 2022-03-01 (10:00 in the city): still there at the end of 02-28, gone on 03-01
    assert _county(_coverage(client, as_, "2022-02-28"), "360102")["residential"] == {
        "covered": 3,
        "total": 5,
        "rate": 0.6,
    }
    assert _county(_coverage(client, as_, "2022-03-01"), "360102")["residential"] == {
        "covered": 2,
        "total": 4,
        "rate": 0.5,
    }


@pytest.mark.usefixtures("sites")
def test_coverage_before_anything_existed(client: TestClient, as_) -> None:
    # created 2020-01-01 00:00 UTC = 08:00 in the city: not there at the end of 2019-12-31
    report = _coverage(client, as_, "2019-12-31")
    assert report["city"]["residential"] == {"covered": 0, "total": 0, "rate": None}
    report = _coverage(client, as_, "2020-01-01")
    assert report["city"]["residential"]["total"] == 6  # A-E and H; F comes in 2022


@pytest.mark.usefixtures("sites")
def test_coverage_for_one_county(client: TestClient, as_) -> None:
    report = _coverage(client, as_, "2022-06-30", county="360103")
    assert [c["county_code"] for c in report["counties"]] == ["360103"]
    assert report["city"]["residential"] == {"covered": 0, "total": 1, "rate": 0.0}


def test_bad_date_is_422(client: TestClient, as_) -> None:
    r = client.get("/coverage?as_of=2022-13-01", headers=as_("leader"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "as_of"


def test_end_of_day_is_midnight_in_the_city() -> None:
    assert end_of_day(date(2022, 3, 1)) == datetime(2022, 3, 1, 16, 0, tzinfo=UTC)
