"""The office's controls on the assessment pages (gateway/assessment_pages/controls.py), with the
assessment service in-process: each form posts, the service's state changes, a bad value comes back
as a Chinese error naming the field, and a member unit's user neither sees nor can use them."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from conftest import TINY_PDF, AssessmentGateway, AssessmentRegistryFake

HX = {"HX-Request": "true"}
METRIC_ITEM = (
    "- {text: 居民小区分类覆盖率, points: 4, method: metric_band, metric: residential_coverage, "
    "bands: [{min: 0.95, points: 4}, {min: 0.9, points: 2}]}\n"
)


def task_of(agw: AssessmentGateway, csrf: str, unit: str, item: str, quarter: str | None = None) -> dict[str, Any]:
    params = {"unit": unit, "item": item, **({"quarter": quarter} if quarter else {})}
    return agw.tasks(csrf, **params)[0]


def field_error(html: str, field_label: str) -> str:
    """The text of the error shown for a field: ``<p class="error" ...>标签：句子</p>``."""
    found = re.search(rf'<p class="error"[^>]*>({field_label}：[^<]+)</p>', html)
    assert found, html[:3000]
    return found.group(1)


def has_chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]{2,}", text))


# --- due dates ----------------------------------------------------------------------------------------------


def test_item_due_date_moves_open_tasks_and_warns_on_a_weekend(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    board = agw.client.get("/assessment/quarters/2026Q4/board").text
    assert 'href="/assessment/quarters/2026Q4/due"' in board
    page = agw.client.get("/assessment/quarters/2026Q4/due")
    assert page.status_code == 200 and 'data-item="1.1"' in page.text and "落实城市主体责任" in page.text
    # 2026-12-19 is a Saturday: saved, and the service's warning shown on the row
    resp = agw.client.post(
        "/assessment/quarters/2026Q4/items/1.1/due",
        data={"due_date": "2026-12-19", "csrf_token": csrf},
        headers=HX,
    )
    assert resp.status_code == 200 and "<html" not in resp.text
    assert 'id="due-1-1"' in resp.text and "已保存：2 个未通过的任务" in resp.text
    assert "不是工作日" in resp.text and "2026-12-21" in resp.text
    assert {t["due_date"] for t in agw.tasks(csrf, item="1.1")} == {"2026-12-19"}
    assert all(t["due_date"] != "2026-12-19" for t in agw.tasks(csrf, item="1.2"))
    # a bad date: the error names the field, in Chinese, in the row; nothing changes
    resp = agw.client.post(
        "/assessment/quarters/2026Q4/items/1.1/due", data={"due_date": "2026-02-30", "csrf_token": csrf}, headers=HX
    )
    assert resp.status_code == 200
    assert has_chinese(field_error(resp.text, "截止日期"))
    assert 'aria-invalid="true"' in resp.text
    assert {t["due_date"] for t in agw.tasks(csrf, item="1.1")} == {"2026-12-19"}
    # without htmx: a 303 back to the list, or the page with the error
    resp = agw.client.post(
        "/assessment/quarters/2026Q4/items/1.1/due",
        data={"due_date": "2026-12-18", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/assessment/quarters/2026Q4/due"
    assert {t["due_date"] for t in agw.tasks(csrf, item="1.1")} == {"2026-12-18"}
    rows = agw.client.get("/assessment/quarters/2026Q4/due").text
    row_11 = rows.split('data-item="1.1"')[1].split("</tr>")[0]
    row_12 = rows.split('data-item="1.2"')[1].split("</tr>")[0]
    assert 'value="2026-12-18"' in row_11 and "季度默认" not in row_11
    assert "季度默认" in row_12
    resp = agw.client.post("/assessment/quarters/2026Q4/items/1.1/due", data={"due_date": "", "csrf_token": csrf})
    assert resp.status_code == 422 and "<html" in resp.text
    assert has_chinese(field_error(resp.text, "截止日期"))


def test_task_due_date_on_the_task_page(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    tid = task_of(agw, csrf, "U03", "1.2")["id"]
    page = agw.client.get(f"/assessment/tasks/{tid}").text
    assert f'hx-get="/assessment/tasks/{tid}/controls"' in page
    controls = agw.client.get(f"/assessment/tasks/{tid}/controls", headers=HX)
    assert controls.status_code == 200 and 'name="due_date"' in controls.text
    assert "自动生成佐证材料" not in controls.text  # a manual item
    resp = agw.client.post(
        f"/assessment/tasks/{tid}/due", data={"due_date": "2026-12-20", "csrf_token": csrf}, headers=HX
    )
    assert resp.status_code == 200 and "截止日期已改为 2026-12-20" in resp.text
    assert "不是工作日" in resp.text  # a Sunday
    assert task_of(agw, csrf, "U03", "1.2")["due_date"] == "2026-12-20"
    assert "不是工作日" in agw.client.get(f"/assessment/tasks/{tid}").text  # the task page shows it too
    resp = agw.client.post(f"/assessment/tasks/{tid}/due", data={"due_date": "明天", "csrf_token": csrf}, headers=HX)
    assert resp.status_code == 200 and has_chinese(field_error(resp.text, "截止日期"))
    assert 'value="明天"' in resp.text
    assert task_of(agw, csrf, "U03", "1.2")["due_date"] == "2026-12-20"

    # a member unit's liaison: no controls on the page, and the routes refuse
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    page = agw.client.get(f"/assessment/tasks/{tid}").text
    assert "/controls" not in page and "修改截止日期" not in page
    assert agw.client.get(f"/assessment/tasks/{tid}/controls").status_code == 403
    resp = agw.client.post(f"/assessment/tasks/{tid}/due", data={"due_date": "2026-12-01", "csrf_token": ucsrf})
    assert resp.status_code == 403
    resp = agw.client.post(
        "/assessment/quarters/2026Q4/items/1.2/due", data={"due_date": "2026-12-01", "csrf_token": ucsrf}
    )
    assert resp.status_code == 403
    assert agw.client.get("/assessment/quarters/2026Q4/due").status_code == 403
    csrf = agw.as_user("a_office", "office")
    assert task_of(agw, csrf, "U03", "1.2")["due_date"] == "2026-12-20"


def test_a_post_without_the_csrf_token_is_refused(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    tid = task_of(agw, csrf, "U03", "1.2")["id"]
    resp = agw.client.post(f"/assessment/tasks/{tid}/due", data={"due_date": "2026-12-01"})
    assert resp.status_code == 403
    assert task_of(agw, csrf, "U03", "1.2")["due_date"] != "2026-12-01"


# --- judgement of points lost (forecast) ----------------------------------------------------------


def test_judgement_of_points_lost_from_the_forecast(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    page = agw.client.get("/assessment/forecast?quarter=2026Q4").text
    assert 'hx-get="/assessment/forecast/2026Q4/judgement"' in page
    form = agw.client.get("/assessment/forecast/2026Q4/judgement", headers=HX)
    assert form.status_code == 200 and 'value="1.1"' in form.text and "落实城市主体责任" in form.text
    before = agw.api("GET", "/quarters/2026Q4/forecast", csrf).json()["lost"]
    resp = agw.client.post(
        "/assessment/forecast/2026Q4/judgement",
        data={"item_code": "1.1", "lost_points": "1.5", "note": "领导小组文件缺组长分工", "csrf_token": csrf},
        headers=HX,
    )
    assert resp.status_code == 200 and "已认定 1.1 失分 1.5 分" in resp.text
    judged = resp.text.split('id="judged"')[1].split("</table>")[0]
    assert 'data-item="1.1"' in judged and "1.5" in judged and "领导小组文件缺组长分工" in judged
    settings = agw.api("GET", "/quarters/2026Q4/items", csrf).json()["items"]
    assert [(i["item_code"], i["lost_points"]) for i in settings] == [("1.1", 1.5)]
    after = agw.api("GET", "/quarters/2026Q4/forecast", csrf).json()["lost"]
    assert float(after) == float(before) + 1.5
    # bad values: each shown on the field, in Chinese; the judgement stays
    for value in ("-1", "abc", "4"):
        resp = agw.client.post(
            "/assessment/forecast/2026Q4/judgement",
            data={"item_code": "1.1", "lost_points": value, "csrf_token": csrf},
            headers=HX,
        )
        assert resp.status_code == 200, value
        assert has_chinese(field_error(resp.text, "认定失分")), value
        assert f'value="{value}"' in resp.text
    assert "不能超过该项分值 3 分" in resp.text
    resp = agw.client.post(
        "/assessment/forecast/2026Q4/judgement", data={"item_code": "", "lost_points": "1", "csrf_token": csrf}
    )
    assert resp.status_code == 422 and has_chinese(field_error(resp.text, "评估项目"))
    assert float(agw.api("GET", "/quarters/2026Q4/forecast", csrf).json()["lost"]) == float(after)

    # leaders read the forecast but do not judge; units do not see it at all
    lcsrf = agw.as_user("a_leader", "leader")
    assert "/judgement" not in agw.client.get("/assessment/forecast").text
    resp = agw.client.post(
        "/assessment/forecast/2026Q4/judgement", data={"item_code": "1.2", "lost_points": "1", "csrf_token": lcsrf}
    )
    assert resp.status_code == 403
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.client.get("/assessment/forecast/2026Q4/judgement").status_code == 403
    assert agw.api("GET", "/quarters/2026Q4/items", ucsrf).status_code == 403
    resp = agw.client.post(
        "/assessment/forecast/2026Q4/judgement", data={"item_code": "1.2", "lost_points": "1", "csrf_token": ucsrf}
    )
    assert resp.status_code == 403
    csrf = agw.as_user("a_office", "office")
    assert float(agw.api("GET", "/quarters/2026Q4/forecast", csrf).json()["lost"]) == float(after)


# --- leaders' ratings (ranking) ---------------------------------------------------------------------


def test_leader_rates_units_from_the_ranking(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_leader", "leader")
    ranking = agw.client.get("/assessment/rankings?period=2026Q4").text
    assert 'href="/assessment/rankings/ratings?period=2026Q4"' in ranking
    page = agw.client.get("/assessment/rankings/ratings?period=2026Q4")
    assert page.status_code == 200 and 'id="rate-U03"' in page.text and "市城管执法局" in page.text
    resp = agw.client.post(
        "/assessment/rankings/2026Q4/ratings/U03",
        data={"score": "88", "comment": "主动对接、材料规范", "csrf_token": csrf},
        headers=HX,
    )
    assert resp.status_code == 200 and 'id="rate-U03"' in resp.text and "已保存" in resp.text
    assert 'value="88' in resp.text and "主动对接、材料规范" in resp.text
    rows = {r["unit_code"]: r for r in agw.api("GET", "/rankings", csrf, params={"period": "2026Q4"}).json()["items"]}
    assert rows["U03"]["qualitative"] == 88
    assert "88" in agw.client.get("/assessment/rankings?period=2026Q4").text
    for value in ("120", "很好"):
        resp = agw.client.post(
            "/assessment/rankings/2026Q4/ratings/U03", data={"score": value, "csrf_token": csrf}, headers=HX
        )
        assert resp.status_code == 200, value
        assert has_chinese(field_error(resp.text, "定性评分")), value
    rows = {r["unit_code"]: r for r in agw.api("GET", "/rankings", csrf, params={"period": "2026Q4"}).json()["items"]}
    assert rows["U03"]["qualitative"] == 88
    # the office may rate too; a unit may not
    ocsrf = agw.as_user("a_office", "office")
    resp = agw.client.post(
        "/assessment/rankings/2026Q4/ratings/U05", data={"score": "70", "csrf_token": ocsrf}, follow_redirects=False
    )
    assert resp.status_code == 303
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.client.get("/assessment/rankings/ratings?period=2026Q4").status_code == 403
    resp = agw.client.post("/assessment/rankings/2026Q4/ratings/U03", data={"score": "100", "csrf_token": ucsrf})
    assert resp.status_code == 403
    csrf = agw.as_user("a_leader", "leader")
    rows = {r["unit_code"]: r for r in agw.api("GET", "/rankings", csrf, params={"period": "2026Q4"}).json()["items"]}
    assert rows["U03"]["qualitative"] == 88 and rows["U05"]["qualitative"] == 70


# --- catalogue editing, aliases, auto-evidence ---------------------------------------------------------


def published(agw: AssessmentGateway, csrf: str) -> dict[str, Any]:
    cats = agw.api("GET", "/catalogues", csrf).json()["items"]
    return next(c for c in cats if c["status"] == "published")


def test_catalogue_draft_edit_publish_and_auto_evidence(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    cat = published(agw, csrf)
    page = agw.client.get(f"/assessment/catalogues/{cat['id']}").text
    assert f'action="/assessment/catalogues/{cat["id"]}/drafts"' in page and "/edit" not in page
    resp = agw.client.post(
        f"/assessment/catalogues/{cat['id']}/drafts", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert resp.status_code == 303
    draft_id = int(resp.headers["location"].rsplit("/", 1)[1])
    draft = agw.client.get(f"/assessment/catalogues/{draft_id}").text
    assert "草稿" in draft and f"/assessment/catalogues/{draft_id}/items/1.2/edit" in draft
    edit = agw.client.get(f"/assessment/catalogues/{draft_id}/items/1.2/edit")
    assert edit.status_code == 200 and "分类设施管理制度完善" in edit.text and "all_or_nothing" in edit.text
    assert "e1 | 设施运行管理规范文本 | 每年 | pdf,office" in edit.text

    item = {
        "code": "1.2",
        "category": "体制机制建设",
        "name": "分类设施管理制度完善（修订）",
        "points": "",
        "rules": "- {text: 设施运行管理规范, points: 2, method: all_or_nothing}\n",
        "evidence": "e1 | 设施运行管理规范文本 | 每年 | pdf,office",
        "lead_unit": "U03",
        "co_units": "",
        "data_source": "manual",
        "csrf_token": csrf,
    }
    resp = agw.client.post(f"/assessment/catalogues/{draft_id}/items", data=item, follow_redirects=False)
    assert resp.status_code == 303, resp.text[:2000]
    items = {i["code"]: i for i in agw.api("GET", f"/catalogues/{draft_id}", csrf).json()["items"]}
    assert items["1.2"]["name"] == "分类设施管理制度完善（修订）" and items["1.2"]["points"] == 2
    old = {i["code"]: i for i in agw.api("GET", f"/catalogues/{cat['id']}", csrf).json()["items"]}
    assert old["1.2"]["points"] == 3  # the published version never changes

    # bad values, each named on its field in Chinese; nothing stored
    for field, value, label in (
        ("lead_unit", "不存在的局", "牵头单位"),
        ("rules", "- {text: 没写完", "评分细则"),
        ("evidence", "只有标题", "档案资料"),
        ("points", "5", "分值"),
    ):
        resp = agw.client.post(f"/assessment/catalogues/{draft_id}/items", data={**item, field: value})
        assert resp.status_code == 422, (field, resp.text[:1000])
        assert has_chinese(field_error(resp.text, label)), field
    items = {i["code"]: i for i in agw.api("GET", f"/catalogues/{draft_id}", csrf).json()["items"]}
    assert items["1.2"]["lead_unit"] == "U03" and items["1.2"]["points"] == 2

    # a metric item added to the draft; published; a quarter opened on it
    metric = {
        **item,
        "code": "3.1",
        "category": "分类投放",
        "name": "居民小区生活垃圾分类覆盖率",
        "rules": METRIC_ITEM,
        "evidence": "e1 | 覆盖率统计台账 | 每季度 | pdf,office",
        "data_source": "registry:residential_coverage",
    }
    assert agw.client.get(f"/assessment/catalogues/{draft_id}/items/new").status_code == 200
    resp = agw.client.post(f"/assessment/catalogues/{draft_id}/items", data=metric, follow_redirects=False)
    assert resp.status_code == 303, resp.text[:2000]
    resp = agw.client.post(f"/assessment/catalogues/{draft_id}/publish", data={"csrf_token": csrf})
    assert resp.status_code == 200 and "已发布" in resp.text
    assert agw.api("POST", "/quarters", csrf, json={"id": "2027Q1", "catalogue_id": draft_id}).status_code == 201
    # editing a published version is refused by the service, shown in the page
    resp = agw.client.post(f"/assessment/catalogues/{draft_id}/items", data=item)
    assert resp.status_code == 409 and "alert-error" in resp.text

    tid = task_of(agw, csrf, "U03", "3.1", quarter="2027Q1")["id"]
    controls = agw.client.get(f"/assessment/tasks/{tid}/controls", headers=HX).text
    assert f'hx-post="/assessment/tasks/{tid}/auto-evidence"' in controls
    resp = agw.client.post(f"/assessment/tasks/{tid}/auto-evidence", data={"csrf_token": csrf}, headers=HX)
    assert resp.status_code == 200 and resp.headers["HX-Redirect"] == f"/assessment/tasks/{tid}"
    detail = agw.api("GET", f"/tasks/{tid}", csrf).json()
    assert detail["state"] == "submitted" and detail["revisions"][0]["system"] is True
    assert detail["revisions"][0]["files"][0]["name"].endswith(".pdf")
    assert "（系统生成）" in agw.client.get(f"/assessment/tasks/{tid}").text
    # a manual item: the service's refusal, in Chinese, in the control
    manual = task_of(agw, csrf, "U03", "1.2", quarter="2027Q1")["id"]
    resp = agw.client.post(f"/assessment/tasks/{manual}/auto-evidence", data={"csrf_token": csrf}, headers=HX)
    assert resp.status_code == 200 and "手工填报" in resp.text and "alert-error" in resp.text

    # a unit: no editing, no auto-evidence
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.client.get(f"/assessment/catalogues/{draft_id}/items/1.2/edit").status_code == 403
    resp = agw.client.post(f"/assessment/catalogues/{cat['id']}/drafts", data={"csrf_token": ucsrf})
    assert resp.status_code == 403
    resp = agw.client.post(f"/assessment/tasks/{tid}/auto-evidence", data={"csrf_token": ucsrf})
    assert resp.status_code == 403
    assert "自动生成佐证材料" not in agw.client.get(f"/assessment/tasks/{tid}").text
    csrf = agw.as_user("a_office", "office")
    assert len(agw.api("GET", f"/tasks/{tid}", csrf).json()["revisions"]) == 1
    assert len([c for c in agw.api("GET", "/catalogues", csrf).json()["items"]]) == 2


def test_unit_aliases_on_the_catalogue_page(agw: AssessmentGateway) -> None:
    csrf = agw.as_user("a_office", "office")
    assert 'hx-get="/assessment/unit-aliases"' in agw.client.get("/assessment/catalogues").text
    block = agw.client.get("/assessment/unit-aliases", headers=HX)
    assert block.status_code == 200 and 'name="alias"' in block.text and "<html" not in block.text
    resp = agw.client.post(
        "/assessment/unit-aliases", data={"alias": "市城市管理局", "unit_code": "U03", "csrf_token": csrf}, headers=HX
    )
    assert resp.status_code == 200 and 'data-alias="市城市管理局"' in resp.text and "已保存别名" in resp.text
    aliases = agw.api("GET", "/unit-aliases", csrf).json()["items"]
    assert {"alias": "市城市管理局", "unit_code": "U03"} in aliases
    bad = (({"alias": "市某局", "unit_code": "U99"}, "成员单位"), ({"alias": "", "unit_code": "U03"}, "别名"))
    for data, label in bad:
        resp = agw.client.post("/assessment/unit-aliases", data={**data, "csrf_token": csrf}, headers=HX)
        assert resp.status_code == 200
        assert has_chinese(field_error(resp.text, label)), data
    assert len(agw.api("GET", "/unit-aliases", csrf).json()["items"]) == len(aliases)
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.client.get("/assessment/unit-aliases").status_code == 403
    resp = agw.client.post("/assessment/unit-aliases", data={"alias": "甲", "unit_code": "U03", "csrf_token": ucsrf})
    assert resp.status_code == 403


# --- the archive ------------------------------------------------------------------------------------------


def test_archive_button_progress_and_download(agw: AssessmentGateway, tmp_path: Any) -> None:
    from services.assessment import archive
    from services.common.storage import LocalStorage

    csrf = agw.as_user("a_office", "office")
    tid = task_of(agw, csrf, "U03", "1.2")["id"]
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.submit(ucsrf, tid, [("规范.pdf", TINY_PDF, "application/pdf")]).status_code == 201
    assert "archive" not in agw.client.get("/assessment/quarters/2026Q4/board").text  # 403 page, no slot
    resp = agw.client.post("/assessment/quarters/2026Q4/archive", data={"csrf_token": ucsrf})
    assert resp.status_code == 403

    csrf = agw.as_user("a_office", "office")
    board = agw.client.get("/assessment/quarters/2026Q4/board").text
    assert 'hx-get="/assessment/quarters/2026Q4/archive/panel"' in board
    panel = agw.client.get("/assessment/quarters/2026Q4/archive/panel", headers=HX).text
    assert "生成档案包" in panel and "下载" not in panel
    resp = agw.client.post("/assessment/quarters/2026Q4/archive", data={"csrf_token": csrf}, headers=HX)
    assert resp.status_code == 200 and 'data-state="queued"' in resp.text
    assert 'hx-trigger="every 2s"' in resp.text  # polls while the job runs
    status = agw.api("GET", "/quarters/2026Q4/archive/status", csrf).json()
    assert status["state"] == "queued"
    # the service's job (what its runner runs) builds the ZIP
    storage = LocalStorage(tmp_path / "assessment-files")
    archive.build(agw.service_engines["assessment"], storage, AssessmentRegistryFake(), int(status["id"]))
    panel = agw.client.get("/assessment/quarters/2026Q4/archive/panel", headers=HX).text
    assert 'href="/assessment/quarters/2026Q4/archive.zip"' in panel and "every 2s" not in panel
    download = agw.client.get("/assessment/quarters/2026Q4/archive.zip")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert "attachment" in download.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert any(f["path"].endswith(".pdf") for f in manifest["files"])
    agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.client.get("/assessment/quarters/2026Q4/archive.zip").status_code == 403
    assert agw.client.get("/assessment/quarters/2026Q4/archive/panel").status_code == 403
