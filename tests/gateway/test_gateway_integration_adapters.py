"""Adapters at the other end: 泛微 统一待办 (fields, isremark, receivets, operResult), DingTalk's signed
URL and WeCom markdown, and the robots' 20 messages a minute kept by digests without dropping."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gateway import cli
from gateway.integration import subscriptions as subs
from gateway.integration.config import IntegrationSettings
from gateway.integration.crypto import SecretBox
from gateway.integration.delivery import DeliveryWorker
from gateway.integration.identities import set_identity
from gateway.integration.models import Delivery
from gateway.integration.netguard import Sender
from gateway.security import Principal
from services.common import clock
from tests.support.webhook_receiver import MemoryFeeds

T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


class Captured:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answer(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.content) for r in self.requests]


def setup(
    make_db: Callable[[str], Engine], adapter: str, config: dict[str, Any] | None = None
) -> tuple[Engine, int, Principal]:
    clock.set_now(T0)
    engine = make_db("gateway")
    uid = cli.create_user(engine, username="admin1", password="correct-horse-9", role="admin")
    admin = Principal(kind="user", id=uid, name="a", role="admin", username="admin1")
    with Session(engine) as db:
        sub, _secret = subs.create(
            db,
            SecretBox("k"),
            subs.SubscriptionInput(
                url="http://oa.test/rest/ofs/ReceiveRequestInfoByJson"
                if adapter == "weaver-ofs"
                else "http://robot.test/send?access_token=t",
                types=["sortline.assessment.*", "sortline.supervision.*"],
                adapter=adapter,
                internal=True,
                config=config,
            ),
            admin,
        )
        db.commit()
        sub_id = sub.id or 0
    return engine, sub_id, admin


def worker(engine: Engine, feeds: MemoryFeeds, captured: Captured) -> DeliveryWorker:
    settings = IntegrationSettings(key="k", worker=False, public_url="https://sortline.example.gov.cn")
    return DeliveryWorker(engine, settings, feeds=feeds, sender=Sender(transport=httpx.MockTransport(captured.handler)))


def test_weaver_todo_lifecycle(make_db: Callable[[str], Engine]) -> None:
    engine, _sub_id, _ = setup(make_db, "weaver-ofs", {"syscode": "LJFL"})
    liaison = cli.create_user(engine, username="liaison", password="correct-horse-9", role="unit", unit_code="U01")
    cli.create_user(engine, username="nooa", password="correct-horse-9", role="unit", unit_code="U01")
    with Session(engine) as db:
        set_identity(db, liaison, "oa", "zhangsan")
        db.commit()
    feeds = MemoryFeeds()
    cap = Captured(lambda r: httpx.Response(200, json={"operResult": "1", "message": "成功"}))
    w = worker(engine, feeds, cap)
    task = {"id": "T-1", "title": "提交分类工作方案", "unit_code": "U01"}
    feeds.add("assessment", "sortline.assessment.task.issued", "T-1", task)
    clock.advance(timedelta(minutes=1))
    feeds.add("assessment", "sortline.assessment.task.submitted", "T-1", task)
    clock.advance(timedelta(minutes=1))
    feeds.add("assessment", "sortline.assessment.task.closed", "T-1", task)
    feeds.add(
        "supervision", "sortline.supervision.circular.published", "C-1", {"title": "督导通报", "unit_codes": ["U01"]}
    )
    w.run_once()
    w.run_once()
    w.run_once()
    bodies = cap.bodies()
    task_msgs = [b for b in bodies if b["flowid"] == "assessment:T-1"]
    assert [b["isremark"] for b in task_msgs] == ["0", "2", "4"]  # to-do, handled, finished, in order
    assert [b["isremark"] for b in bodies if b["flowid"] == "supervision:C-1"] == ["8"]  # to-read
    bodies = task_msgs
    first = bodies[0]
    assert first["syscode"] == "LJFL" and first["receiver"] == "zhangsan"  # only the mapped user
    assert first["flowid"] == "assessment:T-1" and first["requestname"] == "提交分类工作方案"
    assert first["pcurl"] == "https://sortline.example.gov.cn/assessment/tasks/T-1"
    assert first["createdatetime"] == "2026-12-02 09:00:00"  # Asia/Shanghai
    stamps = [int(b["receivets"]) for b in bodies[:3]]
    assert stamps == sorted(stamps) and stamps[0] == int(T0.timestamp() * 1000)
    assert all(r.url.path == "/rest/ofs/ReceiveRequestInfoByJson" for r in cap.requests)
    w.close()


def test_weaver_gives_the_checking_inspector_a_todo_of_its_own(make_db: Callable[[str], Engine]) -> None:
    """An order's fix waiting for the check is handled for the county (已办) but a to-do for the team's
    inspector (待办); a rejection turns them round; the order verified finishes both (办结)."""
    engine, _sub_id, _ = setup(make_db, "weaver-ofs")
    county = cli.create_user(engine, username="dh", password="correct-horse-9", role="county", county_code="360102")
    inspector = cli.create_user(engine, username="zt", password="correct-horse-9", role="inspector", team_code="T01")
    other = cli.create_user(engine, username="t2", password="correct-horse-9", role="inspector", team_code="T02")
    with Session(engine) as db:
        for uid, login in ((county, "dh-oa"), (inspector, "zt-oa"), (other, "t2-oa")):
            set_identity(db, uid, "oa", login)
        db.commit()
    feeds = MemoryFeeds()
    cap = Captured(lambda r: httpx.Response(200, json={"operResult": "1", "message": "成功"}))
    w = worker(engine, feeds, cap)
    order = {"id": 7, "title": "满溢 · 滨江花园", "party_kind": "county", "party_code": "360102", "team_code": "T01"}
    for verb in ("issued", "fix_submitted", "rejected", "fix_submitted", "verified"):
        clock.advance(timedelta(minutes=1))
        feeds.add("supervision", f"sortline.supervision.rectification.{verb}", "7", order)
    for _ in range(5):
        w.run_once()
    states: dict[str, list[str]] = {}
    for body in cap.bodies():
        assert body["flowid"] == "supervision:7" and body["requestname"] == "满溢 · 滨江花园"
        states.setdefault(body["receiver"], []).append(body["isremark"])
    assert states == {"dh-oa": ["0", "2", "0", "2", "4"], "zt-oa": ["0", "2", "0", "4"]}
    w.close()


def test_weaver_operresult_failure_is_retried(make_db: Callable[[str], Engine]) -> None:
    engine, _sub_id, _ = setup(make_db, "weaver-ofs")
    uid = cli.create_user(engine, username="liaison", password="correct-horse-9", role="unit", unit_code="U01")
    with Session(engine) as db:
        set_identity(db, uid, "oa", "lisi")
        db.commit()
    feeds = MemoryFeeds()
    cap = Captured(lambda r: httpx.Response(200, json={"operResult": "0", "message": "接收人不存在"}))
    w = worker(engine, feeds, cap)
    feeds.add("assessment", "sortline.assessment.task.issued", "T-1", {"unit_code": "U01"})
    w.run_once()
    with Session(engine) as db:
        d = db.exec(select(Delivery).where(Delivery.subscription_id == _sub_id)).one()
        assert d.state == "pending" and d.attempts == 1 and "接收人不存在" in d.last_error
    w.close()


def test_dingtalk_signed_url_and_markdown(make_db: Callable[[str], Engine]) -> None:
    engine, _sub_id, _ = setup(make_db, "dingtalk-robot", {"robot_secret": "SEC123"})
    feeds = MemoryFeeds()
    cap = Captured(lambda r: httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}))
    w = worker(engine, feeds, cap)
    feeds.add("supervision", "sortline.supervision.rectification.issued", "R-9", {"title": "东湖区某小区混投"})
    w.run_once()
    (req,) = cap.requests
    query = parse_qs(urlsplit(str(req.url)).query)
    ts = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(b"SEC123", f"{ts}\nSEC123".encode(), hashlib.sha256).digest()).decode()
    assert query["sign"][0] == expected and query["access_token"][0] == "t"
    body = orjson.loads(req.content)
    assert body["msgtype"] == "markdown" and "整改通知已下发：东湖区某小区混投" in body["markdown"]["text"]
    w.close()


@pytest.mark.parametrize("adapter", ["wecom-robot", "dingtalk-robot"])
def test_robots_get_at_most_20_messages_a_minute_and_nothing_is_dropped(
    make_db: Callable[[str], Engine], adapter: str
) -> None:
    engine, _sub_id, _ = setup(make_db, adapter)
    feeds = MemoryFeeds()
    cap = Captured(lambda r: httpx.Response(200, json={"errcode": 0}))
    w = worker(engine, feeds, cap)
    sent_at: list[datetime] = []
    for i in range(90):  # 90 events in 60 s, the worker running every second
        feeds.add("assessment", "sortline.assessment.task.reminded", f"T-{i}", {"title": f"任务{i:03d}"})
        before = len(cap.requests)
        w.run_once()
        sent_at += [clock.now()] * (len(cap.requests) - before)
        clock.advance(timedelta(seconds=2 / 3))
    for _ in range(10):
        clock.advance(timedelta(seconds=3))
        w.run_once()
        sent_at += [clock.now()] * (len(cap.requests) - len(sent_at))
    for i, at in enumerate(sent_at):  # any 60 s window holds at most 20 messages
        assert sum(1 for t in sent_at[i:] if t - at < timedelta(seconds=60)) <= 20
    key = "content" if adapter == "wecom-robot" else "text"
    text = "".join(b["markdown"][key] for b in cap.bodies())
    assert all(f"任务{i:03d}" in text for i in range(90))  # nothing dropped
    assert "消息汇总" in text
