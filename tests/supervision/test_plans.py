"""Teams, versioned checklists, plans: target choice, reproducible samples, the schedule, scope."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.supervision.conftest import CHECKLIST, make_checklist, make_plan, make_team


def test_team_put_twice_and_scope(client, as_):
    r = client.put(
        "/teams/T01", json={"code": "T01", "name": "一组", "leader": "a", "members": ["a"]}, headers=as_("office")
    )
    assert r.status_code == 201
    r = client.put(
        "/teams/T01", json={"code": "T01", "name": "第一组", "leader": "a", "members": ["a"]}, headers=as_("office")
    )
    assert r.status_code == 200 and r.json()["name"] == "第一组"
    r = client.put(
        "/teams/T09", json={"code": "T09", "name": "x", "leader": "a", "members": ["a"]}, headers=as_("inspector")
    )
    assert r.status_code == 403
    assert client.get("/teams", headers=as_("inspector2")).json() == []
    assert [t["code"] for t in client.get("/teams", headers=as_("inspector")).json()] == ["T01"]
    assert client.get("/teams", headers=as_("county")).status_code == 403


def test_checklist_versions_published_is_immutable(client, as_):
    first = make_checklist(client, as_)
    r = client.put(f"/checklists/{first}", json=CHECKLIST, headers=as_("office"))
    assert r.status_code == 409 and r.json()["error"] == "checklist_published"
    r = client.post("/checklists", json=CHECKLIST | {"name": "第二版"}, headers=as_("office"))
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["state"] == "draft"
    second = r.json()["id"]
    r = client.put(f"/checklists/{second}", json=CHECKLIST | {"name": "第二版改"}, headers=as_("office"))
    assert r.status_code == 200 and r.json()["name"] == "第二版改"
    assert client.get(f"/checklists/{first}", headers=as_("office")).json()["name"] == CHECKLIST["name"]


def test_checklist_validation_in_chinese(client, as_):
    bad = CHECKLIST | {"items": [{"id": "x", "label": "评分", "type": "score"}]}
    r = client.post("/checklists", json=bad, headers=as_("office"))
    assert r.status_code == 422
    assert "评分项须给出满分" in r.json()["message"]
    r = client.post("/checklists", json=CHECKLIST | {"target_kind": "spaceship"}, headers=as_("office"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "target_kind"


def test_plan_from_registry_with_checklist(client, as_, registry):
    make_team(client, as_)
    plan = make_plan(client, as_)
    assert plan["target_count"] == 6
    assert plan["checklist"]["items"][1] | {} == plan["checklist"]["items"][1]
    item = plan["checklist"]["items"][1]
    assert item["type"] == "score" and item["max"] == 10 and item["required"] is True
    # the selection asked the registry per county with the checklist's kind
    assert {(p, c["county"], c["kind"]) for p, c in registry.calls} == {
        ("/sites", "360102", "residential"),
        ("/sites", "360103", "residential"),
    }
    targets = client.get(f"/plans/{plan['id']}/targets", headers=as_("inspector")).json()["items"]
    assert len(targets) == 6
    assert all(t["kind"] == "site:residential" and t["inspector"] in ("inspector", "lisi") for t in targets)
    assert {t["county_code"] for t in targets} == {"360102", "360103"}


def test_same_seed_same_sample_other_seed_other(client, as_):
    make_team(client, as_)

    def codes(seed: int) -> list[str]:
        plan = make_plan(client, as_, seed=seed, sample=5)
        items = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"]
        return sorted(t["target_code"] for t in items)

    a, b, c = codes(11), codes(11), codes(12)
    assert a == b
    assert a != c
    assert len(a) == 10


def test_sample_seed_is_stored_when_not_given(client, as_):
    make_team(client, as_)
    checklist_id = make_checklist(client, as_)
    body = {
        "name": "无种子",
        "starts_on": "2026-11-02",
        "ends_on": "2026-11-13",
        "team_code": "T01",
        "checklist_id": checklist_id,
        "selection": {"source": "site", "sample_per_county": 2},
    }
    r = client.post("/plans", json=body, headers=as_("office"))
    assert r.status_code == 201, r.text
    assert isinstance(r.json()["selection"]["seed"], int)
    assert r.json()["selection"]["counties"] == ["360102", "360103"]


def test_capacity_refused_in_chinese(client, as_):
    make_team(client, as_)
    checklist_id = make_checklist(client, as_)
    body = {
        "name": "太多",
        "starts_on": "2026-11-02",
        "ends_on": "2026-11-02",
        "team_code": "T01",
        "checklist_id": checklist_id,
        "selection": {"source": "site"},
        "per_inspector_per_day": 1,
    }
    r = client.post("/plans", json=body, headers=as_("office"))
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "per_inspector_per_day"
    assert "能力" in r.json()["message"]


def test_draft_checklist_refused_for_a_plan(client, as_):
    make_team(client, as_)
    r = client.post("/checklists", json=CHECKLIST, headers=as_("office"))
    body = {
        "name": "草稿",
        "starts_on": "2026-11-02",
        "ends_on": "2026-11-13",
        "team_code": "T01",
        "checklist_id": r.json()["id"],
        "selection": {"source": "site"},
    }
    r = client.post("/plans", json=body, headers=as_("office"))
    assert r.status_code == 422 and "已发布" in r.json()["message"]


def test_inspector_sees_only_own_team_plans(client, as_):
    make_team(client, as_)
    make_team(client, as_, code="T02", members=["wang"])
    mine = make_plan(client, as_)
    other = make_plan(client, as_, team="T02", sample=1)
    ids = [p["id"] for p in client.get("/plans", headers=as_("inspector")).json()["items"]]
    assert ids == [mine["id"]]
    assert client.get(f"/plans/{other['id']}", headers=as_("inspector")).status_code == 404
    assert client.get(f"/plans/{other['id']}/targets", headers=as_("inspector")).status_code == 404
    assert client.get("/plans", headers=as_("county")).status_code == 403
    assert len(client.get("/plans", headers=as_("leader")).json()["items"]) == 2


def test_plans_keyset_pages(client, as_):
    make_team(client, as_)
    for seed in range(3):
        make_plan(client, as_, seed=seed, sample=1)
    r = client.get("/plans?limit=2", headers=as_("office")).json()
    assert len(r["items"]) == 2 and r["next_cursor"]
    r2 = client.get(f"/plans?limit=2&cursor={r['next_cursor']}", headers=as_("office")).json()
    assert len(r2["items"]) == 1 and r2["next_cursor"] is None
    assert r2["items"][0]["id"] < r["items"][1]["id"]


def test_day_list(client, as_):
    make_team(client, as_)
    plan = make_plan(client, as_, sample=4, per_day=1, starts_on="2026-11-02", ends_on="2026-11-13")
    targets = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"]
    first = min(targets, key=lambda t: (t["scheduled_on"], t["id"]))
    r = client.get(f"/today?inspector={first['inspector']}&day={first['scheduled_on']}", headers=as_("inspector"))
    assert r.status_code == 200
    assert first["target_code"] in [t["target_code"] for t in r.json()["items"]]
    # per_day=1: each inspector has at most one target a day
    per: dict[Any, Any] = {}
    for t in targets:
        per[(t["inspector"], t["scheduled_on"])] = per.get((t["inspector"], t["scheduled_on"]), 0) + 1
    assert max(per.values()) == 1
    assert client.get("/today?inspector=stranger", headers=as_("inspector")).status_code == 403
    assert all(date.fromisoformat(t["scheduled_on"]).weekday() < 5 for t in targets)


@pytest.mark.parametrize("window", [("2026-11-07", "2026-11-08")])
def test_window_without_workdays(client, as_, window):
    make_team(client, as_)
    checklist_id = make_checklist(client, as_)
    body = {
        "name": "周末",
        "starts_on": window[0],
        "ends_on": window[1],
        "team_code": "T01",
        "checklist_id": checklist_id,
        "selection": {"source": "site", "sample_per_county": 1, "seed": 1},
    }
    r = client.post("/plans", json=body, headers=as_("office"))
    assert r.status_code == 422 and "没有工作日" in r.json()["message"]


def test_day_list_is_the_signed_in_inspectors_own(client, as_, settings):
    """Without ``?inspector=`` the list is the caller's own: the token carries the login name
    (``username``), which is not the display name; the office names an inspector, an API key must."""
    from services.common.auth import Caller, sign_token

    make_team(client, as_)
    plan = make_plan(client, as_, sample=4, per_day=1, starts_on="2026-11-02", ends_on="2026-11-13")
    targets = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"]
    theirs = [t for t in targets if t["inspector"] == "inspector"]
    assert theirs, "the schedule should give the inspector targets"
    day = theirs[0]["scheduled_on"]
    expected = sorted(t["target_code"] for t in theirs if t["scheduled_on"] == day)
    caller = Caller(sub="user:7", name="张督导", username="inspector", role="inspector", team_code="T01")
    mine = {"Authorization": f"Bearer {sign_token(caller, settings.service_token_secret)}"}

    own = client.get(f"/today?day={day}", headers=mine)
    assert own.status_code == 200, own.text
    assert own.json()["inspector"] == "inspector"
    assert sorted(t["target_code"] for t in own.json()["items"]) == expected
    office = client.get(f"/today?inspector=inspector&day={day}", headers=as_("office")).json()
    assert sorted(t["target_code"] for t in office["items"]) == expected
    nobody = client.get(f"/today?day={day}", headers=as_("office"))
    assert nobody.status_code == 422 and nobody.json()["details"][0]["field"] == "inspector"
