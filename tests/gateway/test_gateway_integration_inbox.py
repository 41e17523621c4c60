"""The in-app inbox: one more subscriber of the same events; unread count, home list, mark read."""

from __future__ import annotations

from gateway.integration.config import IntegrationSettings
from gateway.integration.delivery import DeliveryWorker
from tests.gateway.conftest import Gateway
from tests.support.webhook_receiver import MemoryFeeds


def run_worker(gw: Gateway, feeds: MemoryFeeds) -> None:
    worker = DeliveryWorker(gw.engine, IntegrationSettings(key="k", worker=False), feeds=feeds)
    worker.run_once()
    worker.close()


def test_task_issued_reaches_the_units_inbox_and_can_be_read(gw: Gateway) -> None:
    gw.user("other_unit", "unit", unit_code="U02")
    csrf = gw.login_as("unit", unit_code="U01")
    feeds = MemoryFeeds()
    run_worker(gw, feeds)  # creates the inbox subscriber before the events
    feeds.add(
        "assessment",
        "sortline.assessment.task.issued",
        "T-2026Q4-001",
        {"id": "T-2026Q4-001", "title": "提交生活垃圾分类工作方案", "unit_code": "U01", "due_date": "2026-12-10"},
    )
    feeds.add("assessment", "sortline.assessment.task.issued", "T-2", {"title": "别的单位", "unit_code": "U02"})
    run_worker(gw, feeds)
    badge = gw.client.get("/inbox/unread-count")
    assert badge.status_code == 200 and ">1<" in badge.text
    home_list = gw.client.get("/inbox/unread")
    assert "考核任务已下发：提交生活垃圾分类工作方案" in home_list.text and "别的单位" not in home_list.text
    assert "截止 2026-12-10" in gw.client.get("/inbox").text
    home = gw.client.get("/")
    assert 'hx-get="/inbox/unread"' in home.text and 'hx-get="/inbox/unread-count"' in home.text
    page = gw.client.get("/inbox")
    import re

    msg_id = re.search(r'id="msg-(\d+)"', page.text)
    assert msg_id
    done = gw.client.post(f"/inbox/{msg_id.group(1)}/read", headers={"x-csrf-token": csrf})
    assert done.status_code == 200 and "0 条未读" in done.text
    assert gw.client.get("/inbox/unread-count").text == ""
    # a redelivered event adds nothing twice
    run_worker(gw, feeds)
    assert gw.client.get("/inbox").text.count("提交生活垃圾分类工作方案") == 1


def test_an_order_reaches_the_county_that_answers_for_it(gw: Gateway) -> None:
    """As the supervision service emits it: the party in ``party_kind``/``party_code`` (no county_code)."""
    gw.user("other_county", "county", county_code="360103")
    gw.user("the_inspector", "inspector", team_code="T01")
    gw.login_as("county", county_code="360102")
    feeds = MemoryFeeds()
    run_worker(gw, feeds)
    order = {"id": 7, "title": "满溢 · 滨江花园", "party_kind": "county", "party_code": "360102", "team_code": "T01"}
    feeds.add("supervision", "sortline.supervision.rectification.issued", "7", order | {"deadline": "2026-12-10"})
    feeds.add("supervision", "sortline.supervision.rectification.overdue", "7", order)
    run_worker(gw, feeds)
    page = gw.client.get("/inbox").text
    assert "整改通知已下发：满溢 · 滨江花园" in page and "整改通知已逾期：满溢 · 滨江花园" in page
    assert 'href="/supervision/rectifications/7"' in page
    assert gw.login("other_county").status_code == 303
    assert "滨江花园" not in gw.client.get("/inbox").text
    # the team's inspector hears of the order when its fix waits for the check, not before
    assert gw.login("the_inspector").status_code == 303
    assert "滨江花园" not in gw.client.get("/inbox").text
    feeds.add("supervision", "sortline.supervision.rectification.fix_submitted", "7", order)
    run_worker(gw, feeds)
    page = gw.client.get("/inbox").text
    assert "整改通知已提交整改：满溢 · 滨江花园" in page and "已逾期" not in page


def test_circular_goes_to_everyone_and_inbox_needs_login(gw: Gateway) -> None:
    gw.user("c1", "county", county_code="360102")
    feeds = MemoryFeeds()
    run_worker(gw, feeds)
    feeds.add("supervision", "sortline.supervision.circular.published", "C-1", {"title": "第四季度督导通报"})
    run_worker(gw, feeds)
    assert gw.client.get("/inbox", follow_redirects=False).status_code in (302, 303)
    assert gw.login("c1").status_code == 303
    assert "通报已发布：第四季度督导通报" in gw.client.get("/inbox").text


def test_a_units_leader_hears_of_its_escalations_and_circulars_only(gw: Gateway) -> None:
    """督办 of a member unit's order (``escalated_to: [..., "unit_leader:U05"]``) and of its task
    (``to: ["unit_leader", ...]``) reach the unit's leader; the routine steps its liaison handles and
    another unit's 督办 do not. The liaison still hears of every step."""
    gw.user("liaison", "unit", unit_code="U05")
    gw.user("boss", "unit", unit_code="U05", unit_leader=True)
    gw.user("other_boss", "unit", unit_code="U02", unit_leader=True)
    feeds = MemoryFeeds()
    run_worker(gw, feeds)
    order = {"id": 9, "title": "台账缺失 · 八一菜市场", "party_kind": "unit", "party_code": "U05", "team_code": "T01"}
    feeds.add("supervision", "sortline.supervision.rectification.issued", "9", order)
    feeds.add("supervision", "sortline.supervision.rectification.overdue", "9", order)
    escalated = order | {"level": 1, "escalated_to": ["office", "unit_leader:U05"], "new_deadline": "2026-12-20"}
    feeds.add("supervision", "sortline.supervision.rectification.escalated", "9", escalated)
    task = {"id": "T-9", "title": "报送分类投放台账", "unit_code": "U05"}
    feeds.add("assessment", "sortline.assessment.task.issued", "T-9", task)
    feeds.add("assessment", "sortline.assessment.task.escalated", "T-9", task | {"to": ["unit_leader", "office"]})
    feeds.add("supervision", "sortline.supervision.circular.published", "C-9", {"title": "第四季度督导通报"})
    run_worker(gw, feeds)

    assert gw.login("boss").status_code == 303
    page = gw.client.get("/inbox").text
    assert "整改通知已升级督办：台账缺失 · 八一菜市场" in page
    assert "报送分类投放台账" in page and "考核任务已下发" not in page
    assert "通报已发布：第四季度督导通报" in page
    assert "已下发：台账缺失" not in page and "已逾期" not in page
    assert gw.login("liaison").status_code == 303
    page = gw.client.get("/inbox").text
    assert "整改通知已下发：台账缺失 · 八一菜市场" in page and "整改通知已升级督办" in page
    assert gw.login("other_boss").status_code == 303
    page = gw.client.get("/inbox").text
    assert "八一菜市场" not in page and "报送分类投放台账" not in page
    assert "第四季度督导通报" in page  # a circular to everyone
