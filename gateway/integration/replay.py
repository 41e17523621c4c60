"""Manual replay: one event, or every matching event of a time range, queued again for one
subscription (a new delivery each, so the log keeps the first ones; the webhook-id stays the event id)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from gateway.integration import feed_repository
from gateway.integration.models import Subscription
from gateway.integration.subscriptions import matches_any
from services.common import clock
from services.common.errors import InvalidInput, NotFound

MAX_REPLAY = 50_000


def _queue(db: Session, sub: Subscription, rows: list[tuple[int, str, str, str]]) -> int:
    now = clock.now()
    values = [
        {
            "subscription_id": sub.id,
            "event_seq": seq,
            "event_id": event_id,
            "subject": f"{service}:{subject}"[:128],
            "state": "pending",
            "attempts": 0,
            "next_at": now,
            "created_at": now,
            "last_error": "",
            "replay": True,
        }
        for seq, event_id, service, subject in rows
    ]
    if values:
        feed_repository.insert_deliveries(db, values)
    return len(values)


def _check_active(sub: Subscription) -> None:
    if sub.status == "ended":
        raise InvalidInput.field("subscription", "订阅已结束，不能重新投递")


def replay_event(db: Session, sub: Subscription, event_id: str) -> int:
    _check_active(sub)
    row = feed_repository.event_by_id(db, event_id)
    if row is None:
        raise NotFound("事件不存在（网关尚未读到此事件）")
    if not matches_any(sub.types, row.type):
        raise InvalidInput.field("event_id", f"此订阅不接收 {row.type} 类型的事件")
    return _queue(db, sub, [(row.seq, row.id, row.service, row.subject)])


def replay_range(db: Session, sub: Subscription, since: datetime, until: datetime | None) -> int:
    _check_active(sub)
    since = clock.as_utc(since)
    until = clock.as_utc(until) if until else clock.now()
    if until <= since:
        raise InvalidInput.field("until", "结束时间应晚于开始时间")
    rows = feed_repository.events_between(db, since, until, MAX_REPLAY + 1)
    if len(rows) > MAX_REPLAY:
        raise InvalidInput.field("since", f"时间段内的事件超过 {MAX_REPLAY} 个，请缩短时间段")
    picked = [(r.seq, r.id, r.service, r.subject) for r in rows if matches_any(sub.types, r.type)]
    return _queue(db, sub, picked)
