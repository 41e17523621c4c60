"""Inbound OA documents (idempotent by the OA's id) into the queue, attached to an assessment task
as evidence through the assessment service's submissions endpoint; read receipts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from multipart.multipart import parse_options_header  # type: ignore[import-not-found,unused-ignore]

from tests.gateway.conftest import Gateway

API = "/api/v1/integration/inbound-documents"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def post_doc(gw: Gateway, key: str, doc_id: str = "OA-2026-118", content: bytes = PDF) -> httpx.Response:
    return gw.client.post(
        API,
        data={
            "doc_id": doc_id,
            "title": "关于印发垃圾分类考核办法的通知",
            "issuer": "市政府办公厅",
            "doc_number": "洪府办〔2026〕9号",
        },
        files={"file": ("考核办法.pdf", content, "application/pdf")},
        headers={"authorization": f"Bearer {key}"},
    )


def test_document_is_idempotent_by_oa_id(gw: Gateway) -> None:
    key = gw.key(None, role="office", permissions=["registry:read"])
    first = post_doc(gw, key)
    assert first.status_code == 201, first.text
    assert first.json()["sha256"] and first.json()["state"] == "queued"
    again = post_doc(gw, key)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = post_doc(gw, key, content=PDF + b"changed")
    assert other.status_code == 409
    missing = gw.client.post(API, data={"doc_id": "x", "title": "t"}, headers={"authorization": f"Bearer {key}"})
    assert missing.status_code == 422 and missing.json()["details"][0]["field"] == "file"
    county = post_doc(gw, gw.key("360102"), doc_id="OA-2")
    assert county.status_code == 403


def make_assessment(seen: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        seen.append(
            {
                "path": request.url.path,
                "body": body,
                "type": request.headers["content-type"],
                "auth": request.headers.get("authorization", ""),
            }
        )
        if request.url.path == "/tasks/404/submissions":
            return httpx.Response(404, json={"error": "not_found", "message": "考核任务不存在", "details": []})
        return httpx.Response(201, json={"id": 1, "version": 1})

    return handler


def test_office_attaches_a_queued_document_to_a_task(make_gateway: Callable[..., Gateway]) -> None:
    seen: list[dict[str, Any]] = []
    gw = make_gateway(transports={"assessment": httpx.MockTransport(make_assessment(seen))})
    key = gw.key(None, role="office", permissions=["registry:read"])
    doc = post_doc(gw, key).json()
    csrf = gw.login_as("office")
    page = gw.client.get("/integration/inbound")
    assert "关于印发垃圾分类考核办法的通知" in page.text
    bad = gw.client.post(f"/integration/inbound/{doc['id']}/attach", data={"csrf_token": csrf, "task_id": "404"})
    assert "考核任务不存在" in bad.text
    ok = gw.client.post(
        f"/integration/inbound/{doc['id']}/attach",
        data={"csrf_token": csrf, "task_id": "12", "effective_date": "2026-12-01"},
    )
    assert ok.status_code == 200 and "已作为任务 12 的材料提交" in ok.text
    sent = seen[-1]
    assert sent["path"] == "/tasks/12/submissions" and sent["auth"].startswith("Bearer ")
    assert PDF in sent["body"] and b"2026-12-01" in sent["body"] and b'name="files"' in sent["body"]
    assert parse_options_header(sent["type"])[0] == b"multipart/form-data"
    assert re.search(r"已提交", gw.client.get("/integration/inbound").text)


def test_read_receipt_is_recorded_once(gw: Gateway) -> None:
    key = {"authorization": f"Bearer {gw.key(None, role='office', permissions=['registry:read'])}"}
    body = {"flowid": "assessment:12", "oa_login": "zhangsan", "read_at": "2026-12-02T09:30:00+08:00"}
    assert gw.client.post("/api/v1/integration/read-receipts", json=body, headers=key).status_code == 201
    assert gw.client.post("/api/v1/integration/read-receipts", json=body, headers=key).status_code == 201
    gw.login_as("admin")
    page = gw.client.get("/integration/inbound").text
    assert page.count("zhangsan") == 1 and "2026-12-02 09:30" in page
