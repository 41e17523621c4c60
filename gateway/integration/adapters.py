"""What a delivery looks like at the other end: ``standard`` (CloudEvents 1.0 JSON), ``weaver-ofs``
(泛微 e-cology 统一待办), ``dingtalk-robot`` and ``wecom-robot`` (group robot markdown).

An adapter turns one or more events into HTTP requests (``Outgoing``) and judges the answer; the
delivery module signs every request (Standard Webhooks) over the exact bytes built here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson

from gateway.integration.crypto import dingtalk_sign
from services.common import clock


@dataclass
class EventView:
    """An event as the adapters see it."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    service: str = ""

    def cloudevent(self) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": clock.as_utc(self.time).isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": self.data,
        }


@dataclass
class Outgoing:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # Judges the text of a 2xx answer that may still say "failed" (OA, robots): an error or None.
    check: Callable[[str], str | None] | None = None


# ---------------------------------------------------------------------------------------------
# What an event means to a person (shared with the inbox)

ENTITY_LABELS = {
    "task": "考核任务",
    "rectification": "整改通知",
    "circular": "通报",
    "finding": "问题",
    "subscription": "事件订阅",
    "facility": "设施",
    "vehicle": "车辆",
    "unit": "成员单位",
    "site": "管理对象",
    "division": "行政区划",
}
VERB_LABELS = {
    "created": "新建",
    "issued": "已下发",
    "assigned": "已指派",
    "reminded": "催办提醒",
    "returned": "已退回",
    "escalated": "已升级督办",
    "submitted": "已提交",
    "handled": "已办理",
    "accepted": "已通过",
    "approved": "已通过",
    "closed": "已办结",
    "finished": "已办结",
    "published": "已发布",
    "updated": "已更新",
    "registered": "已登记",
    "failing": "投递持续失败",
    "disabled": "已停用",
    "decommissioned": "已注销",
    "reopened": "已重新打开",
    "due_changed": "截止日期已调整",
    "fix_submitted": "已提交整改",
    "verified": "已销号",
    "rejected": "已驳回",
    "overdue": "已逾期",
}
# Where an entity's verb reads otherwise: an order that is "accepted" has been signed for, not approved.
ENTITY_VERB_LABELS = {("rectification", "accepted"): "已签收"}
# 泛微 isremark: 0 待办, 2 已办, 4 办结, 8 待阅. A verb in neither set below is 待办 (issued, overdue,
# rejected, returned, escalated, reminded, reopened, ...): ``isremark`` falls back to "0".
HANDLED_VERBS = {"submitted", "handled", "accepted", "approved", "rectified", "done", "fix_submitted"}
FINISHED_VERBS = {"closed", "finished", "archived", "cancelled", "verified"}
# The inspection team checks an order's fix: for its inspectors the steps read the other way round —
# a submitted fix opens their to-do, rejecting it is their step done, the order verified is finished.
CHECKER_STATES = {"fix_submitted": "0", "rejected": "2", "verified": "4"}


def parts(event_type: str) -> tuple[str, str, str]:
    """``sortline.<service>.<entity>.<verb>`` -> (service, entity, verb)."""
    bits = event_type.split(".")
    if len(bits) >= 4:
        return bits[1], bits[-2], bits[-1]
    return (bits[1] if len(bits) > 1 else ""), "", bits[-1]


def link_path(ev: EventView) -> str:
    service, entity, _verb = parts(ev.type)
    ident = quote(str(ev.data.get("id") or ev.subject), safe="")
    if service == "assessment" and entity == "task":
        return f"/assessment/tasks/{ident}"
    if service == "supervision" and entity == "rectification":
        return f"/supervision/rectifications/{ident}"
    if service == "supervision" and entity == "circular":
        return f"/supervision/circulars/{ident}"
    if service == "registry" and entity in {"facility", "vehicle", "unit", "site", "division"}:
        kinds = {"facility": "facilities", "vehicle": "vehicles", "unit": "units", "site": "sites"}
        return f"/registry/{kinds.get(entity, 'divisions')}/{quote(ev.subject, safe='')}"
    if service == "gateway" and entity == "subscription":
        return f"/integration/subscriptions/{ident}"
    return "/inbox"


def describe(ev: EventView) -> tuple[str, str]:
    """A Chinese title and a one-line body for a person."""
    _service, entity, verb = parts(ev.type)
    what = ENTITY_LABELS.get(entity, entity or "事件")
    how = ENTITY_VERB_LABELS.get((entity, verb)) or VERB_LABELS.get(verb, verb)
    name = str(ev.data.get("title") or ev.data.get("name") or ev.subject)
    title = f"{what}{how}：{name}"[:200]
    bits = []
    for key, label in (("due_date", "截止"), ("unit_name", "单位"), ("county_name", "县区"), ("note", "说明")):
        if ev.data.get(key):
            bits.append(f"{label} {ev.data[key]}")
    return title, "；".join(bits)[:1000]


def isremark(ev: EventView, role: str | None = None) -> str:
    """The 泛微 to-do state of the event for a receiver of ``role`` (the step's side: an inspector
    checks an order's fix, see ``CHECKER_STATES``)."""
    _service, entity, verb = parts(ev.type)
    if entity == "circular":
        return "8"
    if role == "inspector" and entity == "rectification" and verb in CHECKER_STATES:
        return CHECKER_STATES[verb]
    if verb in FINISHED_VERBS:
        return "4"
    if verb in HANDLED_VERBS:
        return "2"
    return "0"


# ---------------------------------------------------------------------------------------------
# Adapters


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def standard(ev: EventView, payload: str, public_url: str) -> Outgoing:
    body = ev.cloudevent()
    if payload == "thin":
        body["data"] = {"id": ev.data.get("id") or ev.subject, "link": public_url.rstrip("/") + link_path(ev)}
    return Outgoing(url="", body=_json(body), headers={"content-type": "application/cloudevents+json"})


def _answer(text: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _weaver_check(text: str) -> str | None:
    answer = _answer(text)
    if answer is None:
        return "泛微返回的不是 JSON"
    if str(answer.get("operResult", "")) == "1":
        return None
    return f"泛微处理失败：{str(answer.get('message') or answer)[:150]}"


def _local(value: datetime) -> str:
    return clock.local(value).strftime("%Y-%m-%d %H:%M:%S")


def weaver(
    ev: EventView, receivers: list[tuple[str, str | None]], config: dict[str, Any], public_url: str
) -> list[Outgoing]:
    """One to-do message per OA receiver: ``(OA login, its role)``, the role deciding the to-do state
    (``isremark``). ``receivets`` (milliseconds of the event's time) lets the OA keep the newest state
    when messages arrive out of order."""
    _service, entity, verb = parts(ev.type)
    title, _ = describe(ev)
    link = public_url.rstrip("/") + link_path(ev)
    ts = clock.as_utc(ev.time)
    out = []
    for receiver, role in receivers:
        body = {
            "syscode": str(config.get("syscode") or "sortline"),
            "flowid": f"{ev.service}:{ev.subject}"[:100],
            "requestname": str(ev.data.get("title") or title)[:200],
            "workflowname": ENTITY_LABELS.get(entity, "生活垃圾分类"),
            "nodename": VERB_LABELS.get(verb, verb),
            "pcurl": link,
            "appurl": link,
            "isremark": isremark(ev, role),
            "viewtype": "0",
            "creator": str(config.get("creator") or "sortline"),
            "createdatetime": _local(ts),
            "receiver": receiver,
            "receivedatetime": _local(ts),
            "receivets": str(int(ts.timestamp() * 1000)),
        }
        out.append(
            Outgoing(url="", body=_json(body), headers={"content-type": "application/json"}, check=_weaver_check)
        )
    return out


def _robot_check(text: str) -> str | None:
    answer = _answer(text)
    if answer is None:
        return "机器人返回的不是 JSON"
    if int(answer.get("errcode", -1)) == 0:
        return None
    return f"机器人返回错误 {answer.get('errcode')}：{str(answer.get('errmsg', ''))[:120]}"


def robot_markdown(events: list[EventView], public_url: str) -> tuple[str, str]:
    """One event: its own message; several (rate limit reached meanwhile): one digest, oldest first."""
    lines = []
    for ev in events:
        title, body = describe(ev)
        link = public_url.rstrip("/") + link_path(ev)
        when = clock.local(ev.time).strftime("%m-%d %H:%M")
        lines.append(f"- {when} [{title}]({link})" + (f"  \n  {body}" if body else ""))
    if len(events) == 1:
        title, _ = describe(events[0])
        return title, f"#### {title}\n" + lines[0]
    heading = f"生活垃圾分类平台消息汇总（{len(events)} 条）"
    return heading, f"#### {heading}\n" + "\n".join(lines)


def dingtalk(events: list[EventView], config: dict[str, Any], public_url: str, url: str) -> Outgoing:
    title, text = robot_markdown(events, public_url)
    secret = str(config.get("robot_secret") or "")
    if secret:
        ts = int(clock.now().timestamp() * 1000)
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}timestamp={ts}&sign={quote(dingtalk_sign(secret, ts), safe='')}"
    body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return Outgoing(url=url, body=_json(body), headers={"content-type": "application/json"}, check=_robot_check)


def wecom(events: list[EventView], public_url: str) -> Outgoing:
    _title, text = robot_markdown(events, public_url)
    body = {"msgtype": "markdown", "markdown": {"content": text}}
    return Outgoing(url="", body=_json(body), headers={"content-type": "application/json"}, check=_robot_check)


ROBOT_ADAPTERS = frozenset({"dingtalk-robot", "wecom-robot"})
ROBOT_INTERVAL_SECONDS = 3.0  # 20 messages a minute
ROBOT_DIGEST_MAX = 30
