"""Enforcement records (执法检查) and the quarterly summary per department."""

from __future__ import annotations

RECORD = {
    "department": "urban_management",
    "on_date": "2026-11-18",
    "business_name": "滨江路 12 号餐饮店",
    "county_code": "360102",
    "finding": "餐厨垃圾与其他垃圾混投",
    "action": "fine",
    "amount": "500.00",
    "case_number": "洪城管罚〔2026〕118号",
}


def test_rules_in_chinese(client, as_):
    r = client.post("/enforcement", json=RECORD | {"amount": None}, headers=as_("office"))
    assert r.status_code == 422 and "罚款须填写金额" in r.json()["message"]
    r = client.post("/enforcement", json=RECORD | {"action": "warning"}, headers=as_("office"))
    assert r.status_code == 422 and "只有罚款" in r.json()["message"]
    r = client.post("/enforcement", json=RECORD | {"business_name": None}, headers=as_("office"))
    assert r.status_code == 422 and "管理对象编号或经营者名称" in r.json()["message"]
    assert client.post("/enforcement", json=RECORD, headers=as_("office")).status_code == 201
    r = client.post("/enforcement", json=RECORD, headers=as_("office"))
    assert r.status_code == 409 and r.json()["details"][0]["field"] == "case_number"
    assert client.post("/enforcement", json=RECORD | {"case_number": "x"}, headers=as_("county")).status_code == 403


def test_summary_per_department_and_quarter(client, as_):
    rows = [
        ("urban_management", "fine", "200", "2026-10-09"),
        ("urban_management", "fine", "300.5", "2026-12-31"),
        ("urban_management", "warning", None, "2026-11-01"),
        ("market_regulation", "order", None, "2026-11-02"),
        ("market_regulation", "fine", "1000", "2026-09-30"),  # Q3: not counted
    ]
    for n, (dept, action, amount, day) in enumerate(rows):
        body = RECORD | {"department": dept, "action": action, "amount": amount, "on_date": day, "case_number": f"C{n}"}
        assert client.post("/enforcement", json=body, headers=as_("office")).status_code == 201, body
    r = client.get("/enforcement/summary?quarter=2026Q4", headers=as_("office"))
    assert r.status_code == 200
    by = {d["department"]: d for d in r.json()["departments"]}
    assert by["urban_management"] | {} == {
        "department": "urban_management",
        "department_name": "城管执法",
        "records": 3,
        "orders": 0,
        "warnings": 1,
        "fines": 2,
        "fine_amount": 500.5,
    }
    assert by["market_regulation"]["records"] == 1 and by["market_regulation"]["fine_amount"] == 0
    assert by["ecology"]["records"] == 0
    assert len(by) == 6
    assert r.json()["starts_on"] == "2026-10-01" and r.json()["ends_on"] == "2026-12-31"
    assert client.get("/enforcement/summary?quarter=2026Q5", headers=as_("office")).status_code == 422
    assert client.get("/enforcement/summary?quarter=2026Q4", headers=as_("unit")).status_code == 403


def test_unit_sees_only_its_own_records(client, as_):
    mine = client.post("/enforcement", json=RECORD | {"case_number": "U-1"}, headers=as_("unit")).json()
    client.post("/enforcement", json=RECORD | {"case_number": "O-1"}, headers=as_("office"))
    assert [r["case_number"] for r in client.get("/enforcement", headers=as_("unit")).json()["items"]] == ["U-1"]
    assert len(client.get("/enforcement?quarter=2026Q4", headers=as_("office")).json()["items"]) == 2
    assert client.get(f"/enforcement/{mine['id']}", headers=as_("unit_other")).status_code == 404
    changed = client.put(
        f"/enforcement/{mine['id']}", json=RECORD | {"case_number": "U-1", "amount": "50"}, headers=as_("unit")
    )
    assert changed.status_code == 200 and changed.json()["amount"] == 50
    assert client.delete(f"/enforcement/{mine['id']}", headers=as_("unit")).status_code == 204
    assert client.get(f"/enforcement/{mine['id']}", headers=as_("office")).status_code == 404
