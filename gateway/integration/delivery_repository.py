"""Every query of the delivery worker: claiming due deliveries, reading what a batch sends, recording
attempts and results, and the subscription flags the results set. Functions take the caller's
connection and neither commit nor decide: ordering, retry delays, digests and disabling on 410 stay
in ``delivery.py``. The statements are Core and bulk (one ``executemany`` insert, ``IN`` updates), so
a batch costs a few round trips whatever its size."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from gateway.integration.feed_repository import delivery_t, event_t, sub_t
from gateway.integration.models import DeliveryAttempt

attempt_t = DeliveryAttempt.__table__  # type: ignore[attr-defined]

# ---------------------------------------------------------------------------------------------
# Claiming


def claimable_head_ids(conn: Connection, now: datetime, robot_adapters: Collection[str], limit: int) -> list[int]:
    """Ids of the due, unleased heads (oldest pending delivery of each (subscription, subject)) of
    the active non-robot subscriptions, oldest event first, at most ``limit``."""
    d = delivery_t
    rank = (
        func.row_number()
        .over(partition_by=(d.c.subscription_id, d.c.subject), order_by=(d.c.event_seq, d.c.id))
        .label("rank")
    )
    pending = select(d.c.id, d.c.event_seq, d.c.next_at, d.c.claimed_until, d.c.subscription_id, rank).where(
        d.c.state == "pending"
    )
    heads_q = pending.subquery("heads")
    heads = (
        select(heads_q.c.id)
        .join(sub_t, sub_t.c.id == heads_q.c.subscription_id)
        .where(
            heads_q.c.rank == 1,
            heads_q.c.next_at <= now,
            or_(heads_q.c.claimed_until.is_(None), heads_q.c.claimed_until < now),
            sub_t.c.status == "active",
            sub_t.c.adapter.not_in(tuple(robot_adapters)),
        )
        .order_by(heads_q.c.event_seq)
        .limit(limit)
    )
    return [r[0] for r in conn.execute(heads).all()]


def lock_unleased(conn: Connection, ids: list[int], now: datetime, *, skip_locked: bool) -> Sequence[Row[Any]]:
    """(id, subscription_id, event_seq, attempts) of those of ``ids`` still pending and unleased,
    row-locked (``FOR UPDATE SKIP LOCKED`` when ``skip_locked``), oldest event first."""
    d = delivery_t
    lock = (
        select(d.c.id, d.c.subscription_id, d.c.event_seq, d.c.attempts)
        .where(
            d.c.id.in_(ids),
            d.c.state == "pending",
            or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
        )
        .order_by(d.c.event_seq)
    )
    if skip_locked:
        lock = lock.with_for_update(skip_locked=True)
    return conn.execute(lock).all()


def lease(conn: Connection, ids: list[int], worker_id: str, until: datetime) -> None:
    """Lease the deliveries ``ids`` to ``worker_id`` until ``until`` (one update)."""
    conn.execute(update(delivery_t).where(delivery_t.c.id.in_(ids)).values(claimed_by=worker_id, claimed_until=until))


def due_robot_subscription_ids(
    conn: Connection, now: datetime, robot_adapters: Collection[str], *, skip_locked: bool
) -> list[int]:
    """Ids of the active robot subscriptions whose next message is due, row-locked
    (``FOR UPDATE SKIP LOCKED`` when ``skip_locked``)."""
    subs_q = select(sub_t.c.id).where(
        sub_t.c.status == "active",
        sub_t.c.adapter.in_(tuple(robot_adapters)),
        or_(sub_t.c.next_send_at.is_(None), sub_t.c.next_send_at <= now),
    )
    if skip_locked:
        subs_q = subs_q.with_for_update(skip_locked=True)
    return [r[0] for r in conn.execute(subs_q).all()]


def has_leased_pending(conn: Connection, sub_id: int, now: datetime) -> bool:
    """Whether a pending delivery of the subscription is leased (being sent) at ``now``."""
    d = delivery_t
    query = select(d.c.id).where(d.c.subscription_id == sub_id, d.c.state == "pending", d.c.claimed_until > now)
    return conn.execute(query).first() is not None


def due_of_subscription(conn: Connection, sub_id: int, now: datetime, limit: int) -> Sequence[Row[Any]]:
    """(id, subscription_id, event_seq, attempts) of the subscription's due pending deliveries,
    oldest first, at most ``limit``."""
    d = delivery_t
    return conn.execute(
        select(d.c.id, d.c.subscription_id, d.c.event_seq, d.c.attempts)
        .where(d.c.subscription_id == sub_id, d.c.state == "pending", d.c.next_at <= now)
        .order_by(d.c.event_seq, d.c.id)
        .limit(limit)
    ).all()


def set_next_send_at(conn: Connection, sub_id: int, at: datetime) -> None:
    conn.execute(update(sub_t).where(sub_t.c.id == sub_id).values(next_send_at=at))


# ---------------------------------------------------------------------------------------------
# What a batch sends


def events_by_seq(conn: Connection, seqs: Iterable[int]) -> Sequence[Row[Any]]:
    """The stored events with these feed sequence numbers (one query)."""
    return conn.execute(select(event_t).where(event_t.c.seq.in_(seqs))).all()


def subscriptions_by_id(conn: Connection, ids: Iterable[int]) -> Sequence[Row[Any]]:
    """The subscription rows with these ids (one query)."""
    return conn.execute(select(sub_t).where(sub_t.c.id.in_(ids))).all()


# ---------------------------------------------------------------------------------------------
# Recording


def insert_attempts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store the attempt rows (one bulk insert)."""
    conn.execute(insert(attempt_t), rows)


def mark_delivered(conn: Connection, ids: list[int], worker_id: str, now: datetime) -> None:
    """The deliveries ``ids`` still leased to ``worker_id`` are delivered (one update)."""
    d = delivery_t
    conn.execute(
        update(d)
        .where(d.c.id.in_(ids), d.c.claimed_by == worker_id)
        .values(
            state="delivered",
            attempts=d.c.attempts + 1,
            delivered_at=now,
            claimed_by=None,
            claimed_until=None,
            last_status=200,
            last_error="",
        )
    )


def record_failure(
    conn: Connection, delivery_id: int, worker_id: str, first_failed_at: datetime | None, values: dict[str, Any]
) -> None:
    """Write a failed attempt's ``values`` on the delivery if still leased to ``worker_id``;
    ``first_failed_at`` None keeps the stored one."""
    d = delivery_t
    conn.execute(
        update(d)
        .where(d.c.id == delivery_id, d.c.claimed_by == worker_id)
        .values(first_failed_at=d.c.first_failed_at if first_failed_at is None else first_failed_at, **values)
    )


def clear_failing(conn: Connection, sub_ids: Collection[int], now: datetime) -> None:
    """A success on these subscriptions: clear their failure marks (only rows that carry one, or
    have no success yet)."""
    conn.execute(
        update(sub_t)
        .where(
            sub_t.c.id.in_(sub_ids),
            or_(sub_t.c.failing_since.is_not(None), sub_t.c.last_success_at.is_(None)),
        )
        .values(failing_since=None, warned_at=None, last_success_at=now)
    )


def mark_failing_since(conn: Connection, sub_ids: Collection[int], now: datetime) -> None:
    """These subscriptions fail from ``now`` on, unless already marked failing."""
    conn.execute(
        update(sub_t).where(sub_t.c.id.in_(sub_ids), sub_t.c.failing_since.is_(None)).values(failing_since=now)
    )


def subscription_row(conn: Connection, sub_id: int) -> Row[Any] | None:
    return conn.execute(select(sub_t).where(sub_t.c.id == sub_id)).first()


def disable_subscription(conn: Connection, sub_id: int, reason: str) -> None:
    conn.execute(update(sub_t).where(sub_t.c.id == sub_id).values(status="disabled", status_reason=reason))


def unwarned_failing_since(conn: Connection, before: datetime) -> Sequence[Row[Any]]:
    """The webhook subscriptions (not the inbox) failing since ``before`` or earlier, not warned yet."""
    return conn.execute(
        select(sub_t).where(
            sub_t.c.failing_since.is_not(None),
            sub_t.c.failing_since <= before,
            sub_t.c.warned_at.is_(None),
            sub_t.c.url != "inbox:",
        )
    ).all()


def mark_warned(conn: Connection, sub_id: int, now: datetime) -> None:
    conn.execute(update(sub_t).where(sub_t.c.id == sub_id).values(warned_at=now))
