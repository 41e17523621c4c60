"""整改 through the pages with photos: the county submits its fix with after-photos (sent to the
service one by one under ids made by the gateway), the office sees before and after side by side
and verifies it (销号) or sends it back (驳回). Needs the kernel's uploads and jobs (thumbnails)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

pytest.importorskip("services.common.uploads", reason="kernel uploads not merged yet")
pytest.importorskip("services.common.jobs", reason="kernel jobs not merged yet")


def jpeg(colour: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(out, "JPEG")
    return out.getvalue()


def accepted_order(sv: Any) -> dict[str, Any]:
    """A finding with a photo at the inspection, its order issued to county 360102 and signed."""
    office = sv.headers("office")
    checklist = {
        "code": "FIX",
        "name": "整改测试表",
        "target_kind": "site:residential",
        "items": [{"id": "bins", "label": "四分类桶组齐全", "type": "yesno", "category": "facility_damage"}],
    }
    team = {"code": "T01", "name": "第一督导组", "leader": "u_inspector", "members": ["u_inspector"]}
    assert sv.service.put("/teams/T01", json={**team, "counties": ["360102"]}, headers=office).status_code in (200, 201)
    checklist_id = sv.service.post("/checklists", json=checklist, headers=office).json()["id"]
    sv.service.post(f"/checklists/{checklist_id}/publish", headers=office)
    from datetime import timedelta

    from services.common import clock

    day = clock.today()
    plan = sv.service.post(
        "/plans",
        json={
            "name": "整改测试轮次",
            "starts_on": day.isoformat(),
            "ends_on": (day + timedelta(days=5)).isoformat(),
            "team_code": "T01",
            "checklist_id": checklist_id,
            "selection": {"source": "site", "counties": ["360102"], "sample_per_county": 1, "seed": 1},
        },
        headers=office,
    ).json()
    target = sv.service.get(f"/plans/{plan['id']}/targets", headers=office).json()["items"][0]
    answers = [{"item_id": "bins", "value": False, "photo_ids": ["b1"]}]
    body = {"plan_id": plan["id"], "target_code": target["target_code"], "answers": answers}
    assert sv.service.put("/inspections/fix-1", json=body, headers=office).status_code == 201
    r = sv.service.put("/inspections/fix-1/photos/b1", content=jpeg("brown"), headers=office)
    assert r.status_code == 201, r.text
    assert sv.service.post("/inspections/fix-1/submit", headers=office).status_code == 200
    order = sv.service.get("/rectifications", headers=office).json()["items"][0]
    county = sv.headers("county", name="county", county_code="360102")
    r = sv.service.post(f"/rectifications/{order['id']}/transition", json={"action": "accept"}, headers=county)
    assert r.status_code == 200, r.text
    return dict(order)


def test_county_submits_the_fix_with_photos_and_the_office_verifies_it(sv_gw: Any) -> None:
    order = accepted_order(sv_gw)
    gw = sv_gw.gw
    csrf = gw.login_as("county", county_code="360102")
    url = f"/supervision/rectifications/{order['id']}"
    files = [
        ("photos", ("after-1.jpg", jpeg("green"), "image/jpeg")),
        ("photos", ("after-2.jpg", jpeg("blue"), "image/jpeg")),
    ]
    resp = gw.client.post(
        f"{url}/transition",
        data={"csrf_token": csrf, "action": "submit_fix", "reason": "已更换破损桶并清理"},
        files=files,
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    page = gw.client.get(url)
    assert re.search(r'id="order-state">已提交整改<', page.text)
    before = re.search(r'<div class="sv-gallery" id="before">(.*?)</div>', page.text, re.S)
    after = re.search(r'<div class="sv-gallery" id="after">(.*?)</div>', page.text, re.S)
    assert before and len(re.findall(r"<img ", before.group(1))) == 1
    assert after and len(re.findall(r"<img ", after.group(1))) == 2
    photo = re.search(r'src="(/api/v1/supervision/photos/\d+[^"]*)"', after.group(1))
    assert photo and gw.client.get(photo.group(1)).headers["content-type"].startswith("image/")
    gw.client.post("/logout", data={"csrf_token": csrf})

    csrf = gw.login_as("office")
    page = gw.client.get(url)
    assert 'data-action="verify"' in page.text and 'data-action="reject"' in page.text
    resp = gw.client.post(
        f"{url}/transition", data={"csrf_token": csrf, "action": "verify", "reason": "现场核实已整改"}
    )
    assert resp.status_code == 200  # followed to the order page
    assert re.search(r'id="order-state">已销号<', resp.text) and "现场核实已整改" in resp.text


def test_enforcement_record_with_photos_through_the_form(sv_gw: Any) -> None:
    from services.common import clock

    gw = sv_gw.gw
    csrf = gw.login_as("office")
    data = {
        "csrf_token": csrf,
        "department": "market_regulation",
        "on_date": clock.today().isoformat(),
        "business_name": "洪都农贸市场 12 号摊位",
        "finding": "摊位垃圾未分类",
        "action": "warning",
        "case_number": "洪市监〔2026〕7号",
    }
    files = [
        ("photos", ("scene.jpg", jpeg("grey"), "image/jpeg")),
        ("photos", ("notice.jpg", jpeg("white"), "image/jpeg")),
    ]
    resp = gw.client.post("/supervision/enforcement", data=data, files=files, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    page = gw.client.get("/supervision/enforcement")
    row = re.search(r"<tr><td[^>]*>[^<]*</td><td>市场监管</td>(.*?)</tr>", page.text, re.S)
    assert row and "洪都农贸市场 12 号摊位" in row.group(1)
    assert row.group(1).rstrip().endswith('<td class="num">2</td>')
    # a text file is refused by its content: the record is kept, the inspector is told in Chinese
    bad = [("photos", ("fake.jpg", b"not an image at all", "image/jpeg"))]
    resp = gw.client.post("/supervision/enforcement", data={**data, "case_number": "洪市监〔2026〕8号"}, files=bad)
    assert resp.status_code in (415, 422) and "执法记录已保存" in resp.text
