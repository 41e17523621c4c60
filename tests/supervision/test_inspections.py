"""The tablet's inspection PUT (same id + same body: 200; other body: 409), validation against the
checklist, submission and the findings failed items raise; corrections as new versions."""

from __future__ import annotations

import uuid

from tests.supervision.conftest import CHECKLIST, make_plan, make_team

NO_PHOTO = CHECKLIST | {"items": [i for i in CHECKLIST["items"] if i["type"] != "photo"]}


def _plan(client, as_, **kw):
    make_team(client, as_)
    plan = make_plan(client, as_, **kw)
    targets = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"]
    return plan, targets


def _body(plan, target, **answers):
    values = {"bins": True, "quality": 8, "overflow": 0} | answers
    return {
        "plan_id": plan["id"],
        "target_code": target["target_code"],
        "answers": [{"item_id": k, "value": v} for k, v in values.items() if k != "photo"]
        + [{"item_id": "photo", "photo_ids": answers.get("photo", [])}],
        "latitude": 28.68,
        "longitude": 115.9,
        "accuracy_m": 15,
        "taken_at": "2026-11-03T09:30:00+08:00",
    }


def test_put_201_then_200_then_409(client, as_):
    plan, targets = _plan(client, as_)
    cid = str(uuid.uuid4())
    body = _body(plan, targets[0])
    first = client.put(f"/inspections/{cid}", json=body, headers=as_("inspector"))
    assert first.status_code == 201, first.text
    again = client.put(f"/inspections/{cid}", json=body, headers=as_("inspector"))
    assert again.status_code == 200
    assert again.json() == first.json()
    other = client.put(f"/inspections/{cid}", json=_body(plan, targets[0], quality=3), headers=as_("inspector"))
    assert other.status_code == 409 and other.json()["error"] == "inspection_conflict"
    listed = client.get(f"/inspections?plan={plan['id']}", headers=as_("office")).json()["items"]
    assert [i["client_id"] for i in listed] == [cid]


def test_put_validates_against_checklist(client, as_):
    plan, targets = _plan(client, as_)
    body = _body(plan, targets[0], quality=11, bins="yes")
    r = client.put("/inspections/x1", json=body, headers=as_("inspector"))
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["details"]}
    assert fields == {"answers.0.value", "answers.1.value"}
    assert "0 到 10" in r.json()["message"]
    r = client.put("/inspections/x2", json=_body(plan, {"target_code": "360102-S999999"}), headers=as_("inspector"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "target_code"


def test_other_team_cannot_put_or_read(client, as_):
    plan, targets = _plan(client, as_)
    r = client.put("/inspections/y1", json=_body(plan, targets[0]), headers=as_("inspector2"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "plan_id"
    client.put("/inspections/y2", json=_body(plan, targets[0]), headers=as_("inspector"))
    assert client.get("/inspections/y2", headers=as_("inspector2")).status_code == 404
    assert client.get("/inspections/y2", headers=as_("county")).status_code == 403


def test_submit_missing_photo_is_409(client, as_):
    plan, targets = _plan(client, as_)
    body = _body(plan, targets[0], photo=["p1", "p2"])
    client.put("/inspections/z1", json=body, headers=as_("inspector"))
    r = client.post("/inspections/z1/submit", headers=as_("inspector"))
    assert r.status_code == 409 and r.json()["error"] == "photos_missing"
    assert "p1" in r.json()["message"]
    got = client.get("/inspections/z1", headers=as_("inspector")).json()
    assert got["missing_photos"] == ["p1", "p2"] and got["state"] == "draft"


def test_submit_raises_findings_and_orders(client, as_, app):
    make_team(client, as_)
    r = client.post("/checklists", json=NO_PHOTO, headers=as_("office"))
    cid = r.json()["id"]
    client.post(f"/checklists/{cid}/publish", headers=as_("office"))
    plan = client.post(
        "/plans",
        json={
            "name": "无照片",
            "starts_on": "2026-11-02",
            "ends_on": "2026-11-13",
            "team_code": "T01",
            "checklist_id": cid,
            "selection": {"source": "site", "counties": ["360102"], "sample_per_county": 2, "seed": 3},
        },
        headers=as_("office"),
    ).json()
    target = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"][0]
    body = {
        "plan_id": plan["id"],
        "target_code": target["target_code"],
        "answers": [
            {"item_id": "bins", "value": False},
            {"item_id": "quality", "value": 4, "note": "厨余桶内有塑料"},
            {"item_id": "overflow", "value": 0},
        ],
    }
    assert client.put("/inspections/s1", json=body, headers=as_("inspector")).status_code == 201
    r = client.post("/inspections/s1/submit", headers=as_("inspector"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "submitted" and out["passed"] is False
    assert out["score"] == round(100 * 1 / 4, 1)  # bins (2) and quality (1) fail, overflow (1) passes
    assert len(out["findings"]) == 2
    findings = client.get(f"/findings?plan={plan['id']}", headers=as_("office")).json()["items"]
    assert {f["category"] for f in findings} == {"facility_damage", "mixed_disposal"}
    assert all(f["party_kind"] == "county" and f["party_code"] == "360102" for f in findings)
    orders = client.get("/rectifications", headers=as_("county")).json()["items"]
    assert len(orders) == 2 and {o["state"] for o in orders} == {"issued"}
    severities = {o["category"]: o["severity"] for o in orders}
    assert severities == {"facility_damage": "major", "mixed_disposal": "minor"}
    # a second submit changes nothing; the submitted inspection is never edited
    assert client.post("/inspections/s1/submit", headers=as_("inspector")).json()["findings"] == out["findings"]
    changed = body | {"answers": [*body["answers"][:2], {"item_id": "overflow", "value": 2}]}
    assert client.put("/inspections/s1", json=changed, headers=as_("inspector")).status_code == 409
    # a correction names the inspection it replaces; the same failure raises no duplicate order
    fixed = changed | {"replaces": "s1"}
    assert client.put("/inspections/s2", json=fixed, headers=as_("inspector")).status_code == 201
    r2 = client.post("/inspections/s2/submit", headers=as_("inspector")).json()
    assert r2["replaces"] == "s1"
    assert client.get("/inspections/s1", headers=as_("inspector")).json()["replaced_by"] == "s2"
    categories = [
        f["category"] for f in client.get(f"/findings?plan={plan['id']}", headers=as_("office")).json()["items"]
    ]
    assert sorted(categories) == ["facility_damage", "mixed_disposal", "overflow"]
    # replacing twice is refused
    again = fixed | {"answers": body["answers"]}
    r3 = client.put("/inspections/s3", json=again, headers=as_("inspector"))
    assert r3.status_code == 409 and r3.json()["error"] == "already_replaced"


def test_submit_requires_required_items(client, as_):
    plan, targets = _plan(client, as_)
    body = {
        "plan_id": plan["id"],
        "target_code": targets[0]["target_code"],
        "answers": [{"item_id": "bins", "value": True}],
    }
    client.put("/inspections/r1", json=body, headers=as_("inspector"))
    r = client.post("/inspections/r1/submit", headers=as_("inspector"))
    assert r.status_code == 422 and "必填检查项未填写" in r.json()["message"]
