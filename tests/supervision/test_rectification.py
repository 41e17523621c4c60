"""Findings and rectification orders: duplicates, the transition table (state x action x role),
scope (county, unit, team), overdue and escalation (督办) timing with a settable clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from services.common import clock
from services.supervision.models import escalation_t, outbox
from services.supervision.rectification import escalation as rect_service
from services.supervision.rectification.service import TRANSITIONS
from tests.supervision.conftest import WeekdayCalendar, make_plan, make_team

FINDING = {
    "target_code": "360102-S000001",
    "target_name": "滨江花园",
    "county_code": "360102",
    "category": "overflow",
    "severity": "major",
    "description": "厨余桶满溢",
    "latitude": 28.68,
    "longitude": 115.9,
}


def _finding(client, as_, **extra):
    r = client.post("/findings", json=FINDING | extra, headers=as_("inspector"))
    assert r.status_code == 201, r.text
    return r.json()


def _events(engine, kind):
    with engine.connect() as conn:
        t = outbox.table
        return [r.data for r in conn.execute(select(t).where(t.c.type == f"sortline.supervision.{kind}"))]


def _inbox_lines(engine):
    """What the gateway makes of the orders' events, oldest first: (title, the OA's receivers each with
    its 泛微 isremark, who is told in the inbox) among the users below: the order's county 360102,
    another county, its team's inspector, the office, a unit."""
    from gateway.integration.adapters import EventView, describe, isremark
    from gateway.integration.inbox import Directory, recipients

    users = [
        (1, "county", None, "360102", None),
        (2, "county", None, "360103", None),
        (3, "inspector", None, None, "T01"),
        (4, "office", None, None, None),
        (5, "unit", "U05", None, None),
    ]
    directory = Directory(users, {})
    roles = {u[0]: u[1] for u in users}
    with engine.connect() as conn:
        t = outbox.table
        rows = conn.execute(select(t).where(t.c.type.like("sortline.supervision.rectification.%")).order_by(t.c.seq))
        views = [EventView(str(r.id), "supervision", r.type, r.subject, r.time, r.data) for r in rows]
    return [
        (
            describe(v)[0],
            [(u, isremark(v, roles[u])) for u in recipients(directory, v)],
            recipients(directory, v, inbox=True),
        )
        for v in views
    ]


@pytest.fixture
def plan(client, as_):
    make_team(client, as_)
    return make_plan(client, as_)


def test_free_finding_issues_an_order_with_workday_deadline(client, as_, plan, engine):
    clock.set_now(datetime(2026, 11, 6, 2, 0, tzinfo=UTC))  # Friday in Shanghai
    f = _finding(client, as_, plan_id=plan["id"])
    order = client.get(f"/rectifications/{f['rectification_id']}", headers=as_("county")).json()
    assert order["state"] == "issued" and order["issued_on"] == "2026-11-06"
    assert order["deadline"] == "2026-11-13"  # 5 working days for "major", weekend skipped
    assert order["finding"]["description"] == "厨余桶满溢"
    assert _events(engine, "rectification.issued") == [
        {
            "id": order["id"],
            "title": "满溢 · 滨江花园",
            "finding_id": f["id"],
            "party_kind": order["party_kind"],
            "party_code": order["party_code"],
            "team_code": "T01",
            "deadline": "2026-11-13",
            "category": "overflow",
        }
    ]


def test_orders_name_their_target(client, as_):
    oid = _finding(client, as_)["rectification_id"]
    listed = client.get("/rectifications", headers=as_("office")).json()["items"]
    assert [(o["id"], o["target_code"], o["target_name"]) for o in listed] == [(oid, "360102-S000001", "滨江花园")]
    assert client.get(f"/rectifications/{oid}", headers=as_("office")).json()["target_name"] == "滨江花园"


def test_likely_duplicate_offered_before_creating(client, as_, plan):
    first = _finding(client, as_)
    dup = client.get("/findings/duplicates?target_code=360102-S000001&category=overflow", headers=as_("inspector"))
    assert [d["id"] for d in dup.json()] == [first["id"]]
    r = client.post("/findings", json=FINDING, headers=as_("inspector"))
    assert r.status_code == 409 and r.json()["error"] == "likely_duplicate"
    assert r.json()["details"][0]["value"] == first["id"]
    r = client.post("/findings", json=FINDING | {"allow_duplicate": True}, headers=as_("inspector"))
    assert r.status_code == 201 and r.json()["id"] != first["id"]
    other = client.post("/findings", json=FINDING | {"category": "signage"}, headers=as_("inspector"))
    assert other.status_code == 201


def _go(client, as_, order_id, who, action, reason=None, photo_ids=None):
    body = {"action": action} | ({"reason": reason} if reason else {}) | ({"photo_ids": photo_ids} if photo_ids else {})
    return client.post(f"/rectifications/{order_id}/transition", json=body, headers=as_(who))


STATES = ["issued", "accepted", "fix_submitted", "verified"]
ACTIONS = ["accept", "submit_fix", "verify", "reject"]


def test_transition_table_is_what_the_issue_says():
    table = {(s, a): nxt for (s, a), (nxt, _, _) in TRANSITIONS.items()}
    assert table == {
        ("issued", "accept"): "accepted",
        ("accepted", "submit_fix"): "fix_submitted",
        ("fix_submitted", "verify"): "verified",
        ("fix_submitted", "reject"): "accepted",
    }


FORBIDDEN_MOVES = [(s, a) for s in STATES for a in ACTIONS if (s, a) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "action"), FORBIDDEN_MOVES)
def test_wrong_state_is_409(client, as_, plan, engine, state, action):
    f = _finding(client, as_)
    order_id = f["rectification_id"]
    with engine.begin() as conn:
        from services.supervision.models import rect_t

        conn.execute(rect_t.update().where(rect_t.c.id == order_id).values(state=state))
    who = "county" if action in ("accept", "submit_fix") else "office"
    r = _go(client, as_, order_id, who, action, reason="说明", photo_ids=["a"])
    assert r.status_code == 409 and r.json()["error"] == "invalid_transition"


def test_walk_with_roles(client, as_, plan, engine, monkeypatch):
    f = _finding(client, as_, plan_id=plan["id"])
    oid = f["rectification_id"]
    # only the responsible county may sign
    assert _go(client, as_, oid, "inspector", "accept").status_code == 403
    assert _go(client, as_, oid, "county_other", "accept").status_code == 404
    assert _go(client, as_, oid, "leader", "accept").status_code == 403
    r = _go(client, as_, oid, "county", "accept")
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert r.json()["allowed_actions"] == ["submit_fix"]
    # submitting a fix needs a note and after-photos that were uploaded
    assert _go(client, as_, oid, "county", "submit_fix").status_code == 422
    r = _go(client, as_, oid, "county", "submit_fix", reason="已清理", photo_ids=["after-1"])
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "photo_ids"
    from services.supervision.models import photo_t

    with engine.begin() as conn:
        conn.execute(
            photo_t.insert().values(
                owner_kind="rectification",
                owner_id=oid,
                photo_id="after-1",
                sha256="0" * 64,
                key="x/after.jpg",
                size=10,
                content_type="image/jpeg",
                original_name="after.jpg",
                received_at=clock.now(),
                uploaded_by="county",
            )
        )
    r = _go(client, as_, oid, "county", "submit_fix", reason="已清理", photo_ids=["after-1"])
    assert r.status_code == 200 and r.json()["state"] == "fix_submitted"
    assert len(r.json()["after_photos"]) == 1
    # the county cannot verify its own fix; another team's inspector cannot see it
    assert _go(client, as_, oid, "county", "verify", reason="好").status_code == 403
    assert _go(client, as_, oid, "inspector2", "verify", reason="好").status_code == 404
    assert _go(client, as_, oid, "inspector", "reject").status_code == 422  # reason required
    r = _go(client, as_, oid, "inspector", "reject", reason="照片不清楚")
    assert r.json()["state"] == "accepted" and r.json()["rejections"] == 1 and r.json()["last_reason"] == "照片不清楚"
    _go(client, as_, oid, "county", "submit_fix", reason="补拍", photo_ids=["after-1"])
    r = _go(client, as_, oid, "office", "verify", reason="复查合格")
    assert r.status_code == 200 and r.json()["state"] == "verified" and r.json()["overdue"] is False
    assert [e["action"] for e in r.json()["events"]] == [
        "issue",
        "accept",
        "submit_fix",
        "reject",
        "submit_fix",
        "verify",
    ]
    assert client.get(f"/findings/{f['id']}", headers=as_("office")).json()["state"] == "closed"
    assert _events(engine, "rectification.verified")[0]["reason"] == "复查合格"
    # in Chinese, naming the problem and the place (not an id), told to the county that answers for it,
    # step by step (its OA to-do goes from 待办 to 办结); a fix waiting for the check reaches the team's
    # inspector too: in the OA as a to-do, handled when rejected, finished when verified
    assert _inbox_lines(engine) == [
        ("整改通知已下发：满溢 · 滨江花园", [(1, "0")], [1]),
        ("整改通知已签收：满溢 · 滨江花园", [(1, "2")], [1]),
        ("整改通知已提交整改：满溢 · 滨江花园", [(1, "2"), (3, "0")], [1, 3]),
        ("整改通知已驳回：满溢 · 滨江花园", [(1, "0"), (3, "2")], [1]),
        ("整改通知已提交整改：满溢 · 滨江花园", [(1, "2"), (3, "0")], [1, 3]),
        ("整改通知已销号：满溢 · 滨江花园", [(1, "4"), (3, "4")], [1]),
    ]


def test_scope_county_unit_and_keys(client, as_, plan):
    mine = _finding(client, as_)["rectification_id"]
    other = _finding(client, as_, target_code="360103-S000001", county_code="360103")["rectification_id"]
    unit = _finding(client, as_, target_code="U05", county_code="360100", party_kind="unit", party_code="U05")[
        "rectification_id"
    ]
    ids = lambda who: sorted(o["id"] for o in client.get("/rectifications", headers=as_(who)).json()["items"])  # noqa: E731
    assert ids("county") == [mine]
    assert ids("county_key") == [mine]
    assert ids("county_other") == [other]
    assert ids("unit") == [unit]
    assert ids("unit_other") == []
    assert ids("office") == sorted([mine, other, unit])
    assert client.get(f"/rectifications/{other}", headers=as_("county")).status_code == 404
    assert _go(client, as_, other, "county_key", "accept").status_code == 404
    assert _go(client, as_, unit, "unit", "accept").status_code == 200
    assert client.get("/findings", headers=as_("county")).status_code == 403
    assert client.get("/rectifications", headers=as_("county_registry_key")).status_code == 403


def _set_today(d: date) -> None:
    clock.set_now(datetime(d.year, d.month, d.day, 1, 0, tzinfo=UTC))


def test_overdue_and_escalation_timing(client, as_, plan, engine, settings):
    cal = WeekdayCalendar()
    _set_today(date(2026, 11, 2))  # Monday
    oid = _finding(client, as_, severity="severe", plan_id=plan["id"])["rectification_id"]  # 3 working days
    order = client.get(f"/rectifications/{oid}", headers=as_("office")).json()
    assert order["deadline"] == "2026-11-05"
    assert rect_service.daily(engine, settings, cal, date(2026, 11, 5)) == {"overdue": 0, "escalated": 0}
    # Friday: overdue (one reminder), not yet escalated (needs 3 working days overdue)
    assert rect_service.daily(engine, settings, cal, date(2026, 11, 6)) == {"overdue": 1, "escalated": 0}
    assert rect_service.daily(engine, settings, cal, date(2026, 11, 6)) == {"overdue": 0, "escalated": 0}
    _set_today(date(2026, 11, 9))
    assert client.get("/rectifications?overdue=true", headers=as_("county")).json()["items"][0]["id"] == oid
    assert rect_service.daily(engine, settings, cal, date(2026, 11, 9)) == {"overdue": 0, "escalated": 0}
    # Tuesday 10th: 3 working days after the 5th (6th, 9th, 10th) -> escalated to the city office
    assert rect_service.daily(engine, settings, cal, date(2026, 11, 10)) == {"overdue": 0, "escalated": 1}
    _set_today(date(2026, 11, 10))
    order = client.get(f"/rectifications/{oid}", headers=as_("office")).json()
    assert order["escalation_level"] == 1 and order["escalated_to"] == ["office"]
    assert _inbox_lines(engine)[1:] == [  # the county and the office
        ("整改通知已逾期：满溢 · 滨江花园", [(1, "0"), (4, "0")], [1, 4]),
        ("整改通知已升级督办：满溢 · 滨江花园", [(1, "0"), (4, "0")], [1, 4]),
    ]
    assert order["deadline"] == "2026-11-13" and order["overdue"] is False
    assert order["escalations"][0]["old_deadline"] == "2026-11-05"
    assert "督办" in order["escalations"][0]["reason"]
    assert _events(engine, "rectification.escalated") == [
        {"id": oid, "title": "满溢 · 滨江花园", "level": 1, "escalated_to": ["office"], "new_deadline": "2026-11-13"}
        | {"party_kind": "county", "party_code": "360102", "team_code": "T01"}
    ]
    assert _events(engine, "rectification.overdue") == [
        {"id": oid, "title": "满溢 · 滨江花园", "deadline": "2026-11-05", "party_code": order["party_code"]}
        | {"party_kind": "county", "team_code": "T01"}
    ]
    assert rect_service.daily(engine, settings, cal, date(2026, 11, 10)) == {"overdue": 0, "escalated": 0}
    with engine.connect() as conn:
        assert len(conn.execute(select(escalation_t)).all()) == 1


def test_unit_order_escalates_to_office_and_leader(client, as_, plan, engine, settings):
    cal = WeekdayCalendar()
    _set_today(date(2026, 11, 2))
    oid = _finding(
        client, as_, target_code="U05", county_code="360100", party_kind="unit", party_code="U05", severity="severe"
    )["rectification_id"]
    rect_service.daily(engine, settings, cal, date(2026, 11, 10))
    _set_today(date(2026, 11, 10))
    order = client.get(f"/rectifications/{oid}", headers=as_("unit")).json()
    assert order["escalated_to"] == ["office", "unit_leader:U05"]
    # the unit is told (not the county the target lies in), and the office of the overdue and the escalation
    assert [[u for u, _ in oa] for _, oa, _ in _inbox_lines(engine)] == [[5], [4, 5], [4, 5]]


def test_rectification_pages_and_overdue_cursor(client, as_, plan):
    _set_today(date(2026, 11, 2))
    for i in range(5):
        _finding(client, as_, target_code=f"360102-S00010{i}", severity="severe")
    _set_today(date(2026, 11, 20))
    page = client.get("/rectifications?overdue=true&limit=2", headers=as_("office")).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"/rectifications?overdue=true&limit=10&cursor={page['next_cursor']}", headers=as_("office")
    ).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    # a cursor of the overdue sort is refused under the default sort
    r = client.get(f"/rectifications?cursor={page['next_cursor']}", headers=as_("office"))
    assert r.status_code == 422
    board = client.get("/rectifications/board", headers=as_("office")).json()
    assert board["overdue"] == 5 and board["by_state"][0]["count"] == 5
