"""A round's report built by a job as HTML and PDF (text and embedded CJK font checked with
pdftotext/pdffonts), the summary edited before publishing, a circular (通报) published as an
event and listed for the units' home page."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

pytest.importorskip("services.common.documents", reason="kernel documents not merged yet")
pytest.importorskip("services.common.jobs", reason="kernel jobs not merged yet")

from PIL import Image

from services.common.workdays import WorkCalendar
from services.supervision.jobs import runner_of
from services.supervision.models import outbox
from tests.supervision.conftest import make_plan, make_team


def _jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), colour).save(out, "JPEG")
    return out.getvalue()


def _round(client, as_) -> dict:
    """A plan whose first target fails on quality (with a photo) and whose order is verified."""
    make_team(client, as_)
    plan = make_plan(client, as_, sample=2)
    targets = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"]
    for n, t in enumerate(targets):
        fail = n == 0
        body = {
            "plan_id": plan["id"],
            "target_code": t["target_code"],
            "answers": [
                {"item_id": "bins", "value": True},
                {"item_id": "quality", "value": 3 if fail else 9, "note": "混投", "photo_ids": [f"q{n}"]},
                {"item_id": "overflow", "value": 0},
                {"item_id": "photo", "photo_ids": [f"p{n}"]},
            ],
        }
        cid = f"i{n}"
        assert client.put(f"/inspections/{cid}", json=body, headers=as_("inspector")).status_code == 201
        for pid, colour in ((f"q{n}", "brown"), (f"p{n}", "grey")):
            r = client.put(f"/inspections/{cid}/photos/{pid}", content=_jpeg(colour), headers=as_("inspector"))
            assert r.status_code == 201, r.text
        assert client.post(f"/inspections/{cid}/submit", headers=as_("inspector")).status_code == 200
    order = client.get("/rectifications", headers=as_("office")).json()["items"][0]
    party = "county" if order["party_code"] == "360102" else "county_other"
    go = lambda who, body: client.post(f"/rectifications/{order['id']}/transition", json=body, headers=as_(who))  # noqa: E731
    assert go(party, {"action": "accept"}).status_code == 200
    r = client.put(f"/rectifications/{order['id']}/photos/a1", content=_jpeg("green"), headers=as_(party))
    assert r.status_code == 201, r.text
    assert go(party, {"action": "submit_fix", "reason": "已整改", "photo_ids": ["a1"]}).status_code == 200
    assert go("inspector", {"action": "verify", "reason": "复查合格"}).status_code == 200
    return plan


def _pdf_text(tmp_path: Path, data: bytes) -> tuple[str, str]:
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return text, fonts


def test_report_pdf_edit_publish_and_circular(client, as_, app, engine, tmp_path):
    app.state.calendar = WorkCalendar()
    plan = _round(client, as_)
    runner = runner_of(app.state)
    runner.run_pending()  # thumbnails
    r = client.post(f"/plans/{plan['id']}/reports", headers=as_("office"))
    assert r.status_code == 202 and r.json()["state"] == "building"
    report_id = r.json()["id"]
    assert client.post(f"/plans/{plan['id']}/reports", headers=as_("inspector")).status_code == 403
    assert runner.run_pending() >= 1
    report = client.get(f"/reports/{report_id}", headers=as_("office")).json()
    assert report["state"] == "ready", report
    figures = report["figures"]
    assert figures["checked"] == 4 and figures["findings"] == 1 and figures["orders_on_time"] == 1
    assert figures["cases"] and figures["categories"][0]["name"] == "混投混放"
    pdf = client.get(f"/reports/{report_id}.pdf", headers=as_("office"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text, fonts = _pdf_text(tmp_path, pdf.content)
    assert "测试轮次督导检查报告" in text
    assert "合格率" in text and "混投混放" in text and "表扬与点名" in text and "县区360102" in text
    cjk = [line for line in fonts.splitlines() if "CJK" in line or "Noto" in line]
    assert cjk and all(" yes " in line for line in cjk)  # embedded
    # the office edits the summary; the report is built again with it
    r = client.patch(
        f"/reports/{report_id}", json={"summary": "本轮督导总体良好，个别小区仍有混投现象。"}, headers=as_("office")
    )
    assert r.status_code == 200 and r.json()["state"] == "building"
    runner.run_pending()
    text, _ = _pdf_text(tmp_path, client.get(f"/reports/{report_id}.pdf", headers=as_("office")).content)
    assert "本轮督导总体良好" in text
    # not published yet: a unit does not see it
    assert client.get("/reports", headers=as_("unit")).json()["items"] == []
    assert client.post(f"/reports/{report_id}/publish", headers=as_("office")).json()["state"] == "published"
    assert [x["id"] for x in client.get("/reports", headers=as_("unit")).json()["items"]] == [report_id]
    assert client.patch(f"/reports/{report_id}", json={"summary": "x"}, headers=as_("office")).status_code == 409
    # the circular
    r = client.post(f"/reports/{report_id}/circulars", json={"on_date": "2026-11-20"}, headers=as_("office"))
    assert r.status_code == 201, r.text
    circular = r.json()
    assert circular["number"] == "洪分类办〔2026〕1号" and circular["state"] == "draft"
    assert client.get("/circulars", headers=as_("unit")).json()["items"] == []
    r = client.post(f"/circulars/{circular['id']}/publish", headers=as_("office"))
    assert r.status_code == 200 and r.json()["state"] == "published"
    listed = client.get("/circulars", headers=as_("unit")).json()["items"]
    assert [c["number"] for c in listed] == ["洪分类办〔2026〕1号"]
    text, fonts = _pdf_text(tmp_path, client.get(f"/circulars/{circular['id']}.pdf", headers=as_("unit")).content)
    assert "洪分类办〔2026〕1号" in text and "特此通报" in text
    with engine.connect() as conn:
        t = outbox.table
        events = [r.data for r in conn.execute(select(t).where(t.c.type == "sortline.supervision.circular.published"))]
    assert events[0]["number"] == "洪分类办〔2026〕1号" and events[0]["pdf_url"].endswith(".pdf")
    again = client.post(f"/reports/{report_id}/circulars", headers=as_("office")).json()
    assert again["number"] == "洪分类办〔2026〕2号"
