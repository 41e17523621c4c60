"""The assessment pages through the gateway, with the assessment service in-process: each page for
the roles that may see it (403 for the others), a unit sees only its own tasks, the review queue
passes and returns (a reason required, in Chinese), the home block degrades when the service is down."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from conftest import TINY_PDF, TINY_PNG, AssessmentGateway

OFFICE_PAGES = [
    "/assessment/quarters",
    "/assessment/quarters/2026Q4/board",
    "/assessment/quarters/2026Q4/responsibilities",
    "/assessment/review",
    "/assessment/catalogues",
    "/assessment/catalogues/compare",
]
SCORE_PAGES = ["/assessment/forecast", "/assessment/results", "/assessment/rankings"]


def task_id(agw: AssessmentGateway, csrf: str, unit: str, item: str) -> int:
    return next(t["id"] for t in agw.tasks(csrf, unit=unit) if t["item_code"] == item)


def test_office_pages_render(agw: AssessmentGateway) -> None:
    agw.as_user("a_office", "office")
    for path in OFFICE_PAGES + SCORE_PAGES + ["/assessment/tasks"]:
        resp = agw.client.get(path)
        assert resp.status_code == 200, (path, resp.text[:500])
        assert "暂不可用" not in resp.text, path
    board = agw.client.get("/assessment/quarters/2026Q4/board").text
    assert "市城管执法局" in board and 'id="heatmap"' in board
    # each cell links to the unit's tasks of that category
    assert "/assessment/tasks?quarter=2026Q4&amp;unit=U03&amp;category=" in board
    resp = agw.client.get("/assessment/quarters/2026Q4/responsibilities")
    assert "成立领导小组" not in resp.text  # items, not evidence, make the rows
    assert "落实城市主体责任" in resp.text and "东湖区人民政府" in resp.text


@pytest.mark.parametrize("role,scope", [("unit", {"unit_code": "U03"}), ("county", {"county_code": "360102"})])
def test_office_pages_refuse_units(agw: AssessmentGateway, role: str, scope: dict[str, str]) -> None:
    agw.as_user(f"a_{role}", role, **scope)
    for path in OFFICE_PAGES + SCORE_PAGES:
        resp = agw.client.get(path)
        assert resp.status_code == 403, path
        assert "无权" in resp.text


def test_leader_reads_scores_only(agw: AssessmentGateway) -> None:
    agw.as_user("a_leader", "leader")
    for path in SCORE_PAGES:
        resp = agw.client.get(path)
        assert resp.status_code == 200, (path, resp.text[:300])
        main = resp.text.split('<main class="main">')[1].split("</main>")[0]
        assert 'method="post"' not in main and "btn-primary" not in main, path
    for path in OFFICE_PAGES:
        assert agw.client.get(path).status_code == 403, path
    nav = agw.client.get("/assessment/forecast").text
    assert 'href="/assessment/rankings"' in nav and 'href="/assessment/review"' not in nav


def test_inspector_has_no_assessment_pages(agw: AssessmentGateway) -> None:
    agw.as_user("a_inspector", "inspector", team_code="T01")
    for path in ["/assessment/tasks", "/assessment/forecast", "/assessment/review"]:
        assert agw.client.get(path).status_code == 403, path


def test_unit_sees_only_its_tasks(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    other = task_id(agw, csrf, "U05", "2.1")
    agw.as_user("a_unit", "unit", unit_code="U03")
    page = agw.client.get("/assessment/tasks")
    assert page.status_code == 200
    assert "我的任务" in page.text
    rows = re.findall(r'data-task="(\d+)"', page.text)
    assert len(rows) == 2  # 1.1 (co-responsible) and 1.2 (lead)
    assert "设施运行管理规范文本" in page.text and "过度包装" not in page.text
    assert str(other) not in rows
    resp = agw.client.get(f"/assessment/tasks/{other}")
    assert resp.status_code == 404
    assert "不存在" in resp.text


def test_unit_list_due_soonest_first_overdue_red(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    first = task_id(agw, csrf, "U03", "1.1")
    late = task_id(agw, csrf, "U03", "1.2")
    assert agw.api("PATCH", f"/tasks/{late}", csrf, json={"due_date": "2026-01-05"}).status_code == 200
    agw.as_user("a_unit", "unit", unit_code="U03")
    text = agw.client.get("/assessment/tasks").text
    rows = re.findall(r'<tr class="task-row( row-overdue)?" data-task="(\d+)"', text)
    assert [int(r[1]) for r in rows] == [late, first]
    assert rows[0][0] == " row-overdue" and rows[1][0] == ""
    assert "已逾期" in text


def test_upload_then_review_return_and_approve(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    tid = task_id(agw, csrf, "U03", "1.1")  # PDF, images or Office files
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    page = agw.client.get(f"/assessment/tasks/{tid}")
    assert page.status_code == 200 and "data-upload" in page.text
    # the page's own upload route (what assessment.js posts to, with the CSRF header)
    resp = agw.client.post(
        f"/assessment/tasks/{tid}/submissions",
        files=[("files", ("规范.pdf", TINY_PDF, "application/pdf")), ("files", ("现场.png", TINY_PNG, "image/png"))],
        data={"effective_date": "2026-11-20", "note": "第一版"},
        headers={"X-CSRF-Token": ucsrf, "HX-Request": "true", "Origin": "http://testserver"},
    )
    assert resp.status_code == 200, resp.text[:500]
    assert "第 1 版" in resp.text and "规范.pdf" in resp.text and 'id="task-body"' in resp.text
    assert "<html" not in resp.text  # the block only
    # a program renamed .pdf is refused (type by content), in Chinese, in place
    bad = agw.client.post(
        f"/assessment/tasks/{tid}/submissions",
        files=[("files", ("x.pdf", b"MZ\x90\x00\x03" + bytes(200), "application/pdf"))],
        data={"effective_date": "2026-11-20"},
        headers={"X-CSRF-Token": ucsrf, "HX-Request": "true", "Origin": "http://testserver"},
    )
    assert bad.status_code == 422
    assert "upload-error" in bad.text and "x.pdf" in bad.text and "类型" in bad.text

    ocsrf = agw.as_user("a_office", "office")
    queue = agw.client.get("/assessment/review")
    assert queue.status_code == 200
    assert f'data-task="{tid}"' in queue.text
    assert '<iframe src="/assessment/files/' in queue.text and '<img src="/assessment/files/' in queue.text
    # returning needs a reason: the error is shown in place, nothing changes
    resp = agw.client.post(
        f"/assessment/review/{tid}",
        data={"decision": "return", "reason": "", "csrf_token": ocsrf},
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200 and "退回时必须填写原因" in resp.text
    assert agw.tasks(ocsrf, unit="U03", item="1.1")[0]["state"] == "submitted"
    resp = agw.client.post(
        f"/assessment/review/{tid}",
        data={"decision": "return", "reason": "缺少盖章页", "csrf_token": ocsrf},
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200
    assert "已退回" in resp.text and "审核完毕" in resp.text  # the queue is empty now
    assert agw.tasks(ocsrf, unit="U03", item="1.1")[0]["state"] == "returned"

    agw.as_user("a_unit", "unit", unit_code="U03")
    page = agw.client.get(f"/assessment/tasks/{tid}").text
    assert "缺少盖章页" in page and "重新提交" in page
    home = agw.client.get("/assessment/todos").text
    assert "被退回" in home and f"/assessment/tasks/{tid}" in home


def test_review_opens_the_next_task(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    first = task_id(agw, csrf, "U03", "1.2")
    second = task_id(agw, csrf, "U05", "2.1")
    for username, unit, tid in (("a_unit", "U03", first), ("a_unit5", "U05", second)):
        ucsrf = agw.as_user(username, "unit", unit_code=unit)
        assert agw.submit(ucsrf, tid, [("a.pdf", TINY_PDF, "application/pdf")]).status_code == 201
    ocsrf = agw.as_user("a_office", "office")
    queue = agw.client.get("/assessment/review").text
    assert queue.index(f'data-task="{first}"') < queue.index(f'data-task="{second}"')  # oldest first
    resp = agw.client.post(
        f"/assessment/review/{first}", data={"decision": "approve", "csrf_token": ocsrf}, headers={"HX-Request": "true"}
    )
    assert resp.status_code == 200
    assert f'action="/assessment/review/{second}"' in resp.text  # the next one is open
    assert f"task={second}" in resp.headers["HX-Push-Url"]
    assert agw.tasks(ocsrf, unit="U03", item="1.2")[0]["state"] == "approved"
    # filtered by unit: only U05's
    filtered = agw.client.get("/assessment/review?unit=U03").text
    assert "审核完毕" in filtered
    home = agw.client.get("/assessment/todos").text
    assert "1</strong> 份材料等待审核" in home


def test_forecast_moves_when_approved(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    tid = task_id(agw, csrf, "U03", "1.2")
    before = re.search(r'id="secured">([^<]+)<', agw.client.get("/assessment/forecast").text)
    assert before
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.submit(ucsrf, tid, [("a.pdf", TINY_PDF, "application/pdf")]).status_code == 201
    ocsrf = agw.as_user("a_office", "office")
    agw.client.post(f"/assessment/review/{tid}", data={"decision": "approve", "csrf_token": ocsrf})
    after = re.search(r'id="secured">([^<]+)<', agw.client.get("/assessment/forecast").text)
    assert after
    assert float(after.group(1)) == float(before.group(1)) + 3


def test_file_shown_inline_and_refused_to_other_units(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    tid = task_id(agw, csrf, "U03", "1.2")
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    sub = agw.submit(ucsrf, tid, [("规范.pdf", TINY_PDF, "application/pdf")]).json()
    fid = sub["files"][0]["id"]
    resp = agw.client.get(f"/assessment/files/{fid}")
    assert resp.status_code == 200 and resp.content == TINY_PDF
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.headers["x-frame-options"] == "SAMEORIGIN"
    assert agw.client.get(f"/assessment/files/{fid}?download=1").headers["content-disposition"].startswith("attachment")
    agw.as_user("a_unit5", "unit", unit_code="U05")
    assert agw.client.get(f"/assessment/files/{fid}").status_code == 404


def test_quarter_state_and_open_errors(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    page = agw.client.get("/assessment/quarters").text
    assert "2026Q4" in page and "开始审核" in page
    resp = agw.client.post(
        "/assessment/quarters/2026Q4/state",
        data={"state": "reviewing", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200 and "审核中" in resp.text and "锁定季度" in resp.text
    # opening the same quarter again: the service's refusal, in Chinese, in the page
    cats = agw.api("GET", "/catalogues", csrf).json()["items"]
    resp = agw.client.post(
        "/assessment/quarters", data={"id": "2026Q4", "catalogue_id": str(cats[0]["id"]), "csrf_token": csrf}
    )
    assert resp.status_code in (409, 422)
    assert "alert-error" in resp.text and re.search(r"[\u4e00-\u9fff]", resp.text.split("alert-error")[1][:200])


def test_catalogue_import_errors_by_row_and_column(make_assessment_gateway: Callable[..., AssessmentGateway]) -> None:
    agw = make_assessment_gateway(open_quarter=False)
    csrf = agw.as_user("a_office", "office")
    bad = (
        "name: 坏文件\ncategories:\n  - name: 甲\n    items:\n      - {code: '1', name: 项目, points: 1, "
        "lead_unit: 不存在的局, rules: [{text: a, points: 1, method: all_or_nothing}], evidence: [{title: 文件}]}\n"
    )
    resp = agw.client.post(
        "/assessment/catalogues/import",
        data={"csrf_token": csrf},
        files={"file": ("bad.yaml", bad.encode(), "application/x-yaml")},
    )
    assert resp.status_code == 422
    assert 'id="import-errors"' in resp.text and "不存在的局" in resp.text and "未知的责任单位" in resp.text
    # a draft can be published from the page, then compared with itself
    cat = agw.api("GET", "/catalogues", csrf).json()["items"][0]
    resp = agw.client.post(f"/assessment/catalogues/{cat['id']}/publish", data={"csrf_token": csrf})
    assert resp.status_code == 200 and "已发布" in resp.text
    resp = agw.client.get(f"/assessment/catalogues/compare?a={cat['id']}&b={cat['id']}")
    assert resp.status_code == 200 and "两个版本的内容相同" in resp.text
    export = agw.client.get(f"/assessment/catalogues/{cat['id']}/export?format=yaml")
    assert export.status_code == 200 and "落实城市主体责任".encode() in export.content


def test_home_block_degrades_when_service_is_down(make_gateway: Callable[..., object]) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down")

    gw = make_gateway(transports={"assessment": httpx.MockTransport(down)})
    gw.user("a_unit", "unit", unit_code="U03")  # type: ignore[attr-defined]
    gw.login("a_unit")  # type: ignore[attr-defined]
    home = gw.client.get("/")  # type: ignore[attr-defined]
    assert home.status_code == 200 and 'hx-get="/assessment/todos"' in home.text
    block = gw.client.get("/assessment/todos")  # type: ignore[attr-defined]
    assert block.status_code == 200 and "考核评估服务暂不可用" in block.text


def test_national_result_entry_and_trend(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    form = {"quarter": "2026Q3", "rank": "12", "class_name": "大城市", "class_size": "54", "tier": "第二档"}
    # a score above 100 is refused by the service, the message in Chinese beside the field
    resp = agw.client.post("/assessment/results", data={**form, "score": "120", "csrf_token": csrf})
    assert resp.status_code == 422
    assert "alert-error" in resp.text and 'value="120"' in resp.text
    resp = agw.client.post(
        "/assessment/results",
        data={**form, "score": "86.5", "lost": "分类投放 1.5\n体制机制建设：2", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:500]
    page = agw.client.get("/assessment/results").text
    assert 'data-quarter="2026Q3"' in page and "86.5" in page and "分类投放 −1.5" in page
    assert '"labels": ["2026Q3"]' in page.replace("&#34;", '"')  # the trend chart's data
    agw.as_user("a_leader", "leader")
    page = agw.client.get("/assessment/results").text
    assert "86.5" in page and "录入国检结果" not in page


def test_responsibility_list_export_and_filtered_tasks(agw: AssessmentGateway) -> None:
    agw.as_user("a_office", "office")
    resp = agw.client.get("/assessment/quarters/2026Q4/responsibilities.xlsx")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    assert "attachment" in resp.headers["content-disposition"]
    # the board's click-through: one unit's tasks of one category
    page = agw.client.get("/assessment/tasks", params={"quarter": "2026Q4", "unit": "U03", "category": "体制机制建设"})
    rows = re.findall(r'data-task="(\d+)"', page.text)
    assert len(rows) == 2 and "过度包装" not in page.text
    page = agw.client.get("/assessment/tasks", params={"quarter": "2026Q4", "category": "推动源头减量"})
    assert len(re.findall(r'data-task="(\d+)"', page.text)) == 2  # U05 and the county


def test_the_oas_read_receipt_shows_in_the_tasks_history(agw: AssessmentGateway) -> None:
    """The OA confirms a to-do was read (``POST /api/v1/integration/read-receipts``, flowid
    ``assessment:<task id>``): the task's history shows who read it, newest first."""
    from datetime import UTC, datetime

    from sqlmodel import Session, select

    from gateway.integration.models import ExternalIdentity, ReadReceipt
    from gateway.models import User

    csrf = agw.as_user("a_office", "office")
    tid = task_id(agw, csrf, "U03", "1.1")
    agw.as_user("a_unit", "unit", unit_code="U03")
    with Session(agw.engine) as db:
        liaison = db.exec(select(User).where(User.username == "a_unit")).one()
        liaison.display_name = "王联络员"
        assert liaison.id is not None
        db.add(ExternalIdentity(provider="oa", external_id="wang.oa", user_id=liaison.id))
        db.add(ReadReceipt(subject=f"assessment:{tid}", oa_login="wang.oa", user_id=liaison.id,
                           read_at=datetime(2030, 1, 2, 3, 4, tzinfo=UTC)))  # fmt: skip
        db.add(ReadReceipt(subject=f"assessment:{tid + 1}", oa_login="li.oa", read_at=datetime.now(UTC)))
        db.commit()
    agw.as_user("a_office", "office")
    page = agw.client.get(f"/assessment/tasks/{tid}").text
    history = page.split('id="hist-title"')[1]
    assert "OA 已阅" in history and "王联络员" in history and "li.oa" not in history
    first = re.search(
        r'<li class="history-item">\s*<div class="history-head"><span class="badge badge-info">([^<]+)', history
    )
    assert first and first.group(1) == "OA 已阅"  # the newest entry (read in 2030) comes first
