"""The board and the forecast kept per data version (services/assessment/readcache.py): a repeat
request does not count again, any change (a submission, a review, a judgement, a due date, the
next day) is seen at once; the board's weakest-first pages and the forecast's ``unit_limit``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.assessment import readcache, repository
from services.common import clock
from services.common.storage import LocalStorage
from tests.assessment.test_scores import _hand_in, _tasks


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """How often the board and the forecast were counted in the database."""
    calls = {"board": 0, "forecast": 0}
    board_counts, item_unit_counts = repository.board_counts, repository.item_unit_counts

    def board(*args: Any, **kwargs: Any) -> Any:
        calls["board"] += 1
        return board_counts(*args, **kwargs)

    def forecast(*args: Any, **kwargs: Any) -> Any:
        calls["forecast"] += 1
        return item_unit_counts(*args, **kwargs)

    monkeypatch.setattr(repository, "board_counts", board)
    monkeypatch.setattr(repository, "item_unit_counts", forecast)
    readcache.clear()
    yield calls
    readcache.clear()


def test_repeat_requests_are_kept_until_something_changes(
    client: TestClient,
    as_: Callable[[str], dict[str, str]],
    engine: Engine,
    storage: LocalStorage,
    quarter: str,
    counted: dict[str, int],
) -> None:
    clock.set_now(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    office = as_("office")

    def forecast() -> dict[str, Any]:
        r = client.get(f"/quarters/{quarter}/forecast", headers=office)
        assert r.status_code == 200
        return dict(r.json())

    def board() -> dict[str, Any]:
        r = client.get(f"/quarters/{quarter}/board", headers=as_("office"))
        assert r.status_code == 200
        return dict(r.json())

    first, b = forecast(), board()
    assert forecast() == first and board() == b
    assert counted == {"board": 1, "forecast": 1}
    # a submission, then its approval: counted again each time, the new points shown
    ids = _tasks(engine, quarter)
    _hand_in(engine, storage, "unit", ids[("1.2", "U02")])
    assert forecast()["pending_review"] == 1 and board()["totals"]["submitted"] == 1
    assert counted == {"board": 2, "forecast": 2}
    client.post(f"/tasks/{ids[('1.2', 'U02')]}/review", json={"decision": "approve"}, headers=office)
    f = forecast()
    assert f["secured"] == 1 and f["pending_review"] == 0
    assert next(u for u in f["by_unit"] if u["unit_code"] == "U02")["secured"] == 1
    b = board()
    assert b["totals"]["approved"] == 1
    assert next(r for r in b["rows"] if r["unit_code"] == "U02")["share"] == 1
    assert counted == {"board": 3, "forecast": 3}
    # a judgement
    r = client.put(f"/quarters/{quarter}/items/2.2/judgement", json={"inputs": {"cases": 2}}, headers=office)
    assert r.status_code == 200
    assert forecast()["lost"] == f["lost"] + 1
    # the next day: the same data, other overdue counts and days to due
    assert board()["totals"]["overdue"] == 0
    clock.set_now(datetime(2026, 12, 31, 2, 0, tzinfo=UTC))  # past the due dates
    assert board()["totals"]["overdue"] == 6  # every task (7) but the approved one
    assert counted["board"] == 5


def test_board_weakest_first_in_pages(
    client: TestClient,
    as_: Callable[[str], dict[str, str]],
    engine: Engine,
    storage: LocalStorage,
    quarter: str,
) -> None:
    clock.set_now(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    office = as_("office")
    ids = _tasks(engine, quarter)
    for who, key in (("unit", ("1.2", "U02")), ("unit_u05", ("2.2", "U05"))):
        _hand_in(engine, storage, who, ids[key])
        client.post(f"/tasks/{ids[key]}/review", json={"decision": "approve"}, headers=office)
    clock.set_now(datetime(2026, 12, 31, 2, 0, tzinfo=UTC))  # past the due dates
    office = as_("office")
    full = client.get(f"/quarters/{quarter}/board", headers=office).json()
    assert [r["unit_code"] for r in full["rows"]] == sorted(r["unit_code"] for r in full["rows"])
    assert full["units"] == 6 and full["totals"]["approved"] == 2 and full["totals"]["total"] == 7
    pages = []
    for offset in (0, 4):
        page = client.get(
            f"/quarters/{quarter}/board", params={"order": "weakest", "offset": offset, "limit": 4}, headers=office
        ).json()
        assert page["units"] == 6 and page["totals"] == full["totals"]
        pages += page["rows"]
    # none approved: U01 with two overdue tasks first, then by code; the all-approved ones last
    assert [r["unit_code"] for r in pages] == ["U01", "U03", "U21", "U22", "U02", "U05"]
    assert [(r["share"], r["overdue"]) for r in pages] == [(0, 2), (0, 1), (0, 1), (0, 1), (1, 0), (1, 0)]
    bad = client.get(f"/quarters/{quarter}/board", params={"order": "worst"}, headers=office)
    assert bad.status_code == 422


def test_forecast_unit_limit_keeps_the_most_at_risk(
    client: TestClient, as_: Callable[[str], dict[str, str]], quarter: str
) -> None:
    clock.set_now(datetime(2026, 12, 2, 2, 0, tzinfo=UTC))
    full = client.get(f"/quarters/{quarter}/forecast", headers=as_("office")).json()
    top = client.get(f"/quarters/{quarter}/forecast", params={"unit_limit": 2}, headers=as_("office")).json()
    assert full["units"] == top["units"] == len(full["by_unit"]) == 6
    # U01: 1.1 (3) and half of 1.2 (1); U05: 2.2 (3)
    assert [(u["unit_code"], u["at_risk"]) for u in top["by_unit"]] == [("U01", 4), ("U05", 3)]
    assert {k: v for k, v in top.items() if k != "by_unit"} == {k: v for k, v in full.items() if k != "by_unit"}
