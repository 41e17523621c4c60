"""``sort`` on the record lists: every order, walked page by page while rows arrive and change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common import clock
from tests.registry.conftest import FACILITY, SITE, VEHICLE

Headers = Callable[..., dict[str, str]]

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    """Time stands still unless a test moves it: ``create`` moves it a minute (``tie=True``: not)."""
    clock.set_now(START)
    yield
    clock.set_now(None)


def create(
    client: TestClient, as_: Headers, path: str, n: int, who: str = "county", tie: bool = False
) -> dict[str, Any]:
    if not tie:
        clock.advance(timedelta(minutes=1))
    if path == "/vehicles":
        body: dict[str, Any] = {**VEHICLE, "plate_number": f"赣C{n:05d}", "external_id": None}
    else:
        # Names repeat (ties broken by code) and do not follow the numbering.
        body = {**(FACILITY if path == "/facilities" else SITE), "name": f"测试点{(n * 7) % 5:02d}"}
        if who == "county_other":
            body.update(street_code="360103001", community_code="360103001001")
    r = client.post(path, json=body, headers=as_(who))
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def expected(records: dict[str, dict[str, Any]], sort: str) -> list[str]:
    rows = list(records.values())
    if sort == "code":
        rows.sort(key=lambda r: r["code"])
    elif sort == "-code":
        rows.sort(key=lambda r: r["code"], reverse=True)
    elif sort == "-updated_at":
        rows.sort(key=lambda r: (r["updated_at"], r["code"]), reverse=True)
    else:
        rows.sort(key=lambda r: (r["name"], r["code"]))
    return [r["code"] for r in rows]


def page(client: TestClient, as_: Headers, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params, headers=as_("office"))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


SORTS = [
    ("/sites", "code"),
    ("/sites", "-code"),
    ("/sites", "-updated_at"),
    ("/sites", "name"),
    ("/facilities", "code"),
    ("/facilities", "-code"),
    ("/facilities", "-updated_at"),
    ("/facilities", "name"),
    ("/vehicles", "code"),
    ("/vehicles", "-code"),
    ("/vehicles", "-updated_at"),
]


@pytest.mark.parametrize(("path", "sort"), SORTS)
def test_every_sort_pages_through_in_order(client: TestClient, as_: Headers, path: str, sort: str) -> None:
    county = {r["code"]: r for r in (create(client, as_, path, n) for n in range(1, 12))}
    for n in (12, 13):  # the same updated_at as the one before: the code breaks the tie
        made = create(client, as_, path, n, tie=True)
        county[made["code"]] = made
    create(client, as_, path, 99, who="county_other")  # another county: never in the county's list
    assert len(county) == 13 and {r["county_code"] for r in county.values()} == {"360102"}
    before = expected(county, sort)

    first = page(client, as_, path, county="360102", sort=sort, limit=4)
    seen = [r["code"] for r in first["items"]]
    assert seen == before[:4]
    cursor = first["next_cursor"]
    # Rows arriving between page fetches: shown at most once, the rows already there all shown once.
    arrived: list[str] = []
    while cursor:
        arrived.append(create(client, as_, path, 50 + len(arrived))["code"])
        body = page(client, as_, path, county="360102", sort=sort, limit=4, cursor=cursor)
        seen += [r["code"] for r in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen)), "a row shown twice"
    assert set(before) <= set(seen), "a row missed"
    assert set(seen) <= set(before) | set(arrived)
    # The pre-existing rows come in the sort's order; so does the whole list read again now.
    assert [c for c in seen if c in county] == before
    everything = page(client, as_, path, county="360102", sort=sort, limit=500)["items"]
    now = {r["code"]: r for r in everything}
    assert [r["code"] for r in everything] == expected(now, sort)
    # City-wide (the other county too), in small pages: the same order as one big page.
    walked, cursor = [], None
    while True:
        params = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = page(client, as_, path, **params)
        walked += [r["code"] for r in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert walked == [r["code"] for r in page(client, as_, path, sort=sort, limit=500)["items"]]
    assert len(walked) == len(set(walked)) == len(now) + 1


def test_descending_orders_and_update_moves_a_row_first(client: TestClient, as_: Headers) -> None:
    codes = [create(client, as_, "/facilities", n)["code"] for n in range(1, 6)]
    assert [r["code"] for r in page(client, as_, "/facilities", sort="-code")["items"]] == codes[::-1]
    assert [r["code"] for r in page(client, as_, "/facilities")["items"]] == codes  # default: code ascending
    clock.advance(timedelta(minutes=1))
    r = client.patch(f"/facilities/{codes[2]}", json={"address": "新地址"}, headers=as_("county"))
    assert r.status_code == 200
    recent = [r["code"] for r in page(client, as_, "/facilities", sort="-updated_at")["items"]]
    assert recent == [codes[2], codes[4], codes[3], codes[1], codes[0]]


@pytest.mark.parametrize(("path", "sort"), [("/sites", "size"), ("/facilities", "updated_at"), ("/vehicles", "name")])
def test_unknown_sort_is_refused_naming_the_field(client: TestClient, as_: Headers, path: str, sort: str) -> None:
    r = client.get(path, params={"sort": sort}, headers=as_("office"))
    assert r.status_code == 422
    body = r.json()
    assert body["details"][0]["field"] == "sort"
    assert "sort（排序）" in body["message"]
    assert "-updated_at" in body["details"][0]["message"]


def test_a_cursor_from_another_sort_is_refused(client: TestClient, as_: Headers) -> None:
    for n in range(1, 5):
        create(client, as_, "/sites", n)
    cursors = {sort: page(client, as_, "/sites", sort=sort, limit=2)["next_cursor"] for _p, sort in SORTS[:4]}
    assert all(cursors.values())
    for made_with, cursor in cursors.items():
        for sort in cursors:
            r = client.get("/sites", params={"sort": sort, "cursor": cursor, "limit": 2}, headers=as_("office"))
            if sort == made_with:
                assert r.status_code == 200
            else:
                assert r.status_code == 422, (made_with, sort)
                assert r.json()["details"][0]["field"] == "cursor"
                assert "游标无效" in r.json()["message"]


def test_openapi_documents_the_sorts(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, values in (
        ("/sites", ["code", "-code", "-updated_at", "name"]),
        ("/facilities", ["code", "-code", "-updated_at", "name"]),
        ("/vehicles", ["code", "-code", "-updated_at"]),
    ):
        (param,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "sort"]
        assert param["schema"]["enum"] == values and param["schema"]["default"] == "code"
        assert "最近更新在前" in param["description"] and ("按名称" in param["description"]) == ("name" in values)
