"""Every query behind the subscriptions' pages and API: a subscription by id, the list with each one's
backlog, its delivery log and queued deliveries, and dropping what is queued when it ends. Functions
take the caller's session and neither commit nor decide: who may see or change a subscription stays
in ``subscriptions.py`` (the feeds' own subscription queries are in ``feed_repository.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from gateway.integration.models import Delivery, DeliveryAttempt, FeedEvent, Subscription

QUEUED = ("pending", "sending")  # deliveries not done yet

# ---------------------------------------------------------------------------------------------
# Subscriptions


def subscription_by_id(db: Session, sub_id: int) -> Subscription | None:
    return db.get(Subscription, sub_id)


def subscriptions_newest_first(db: Session, *, except_url: str) -> list[Subscription]:
    """Every subscription but those to ``except_url`` (the built-in inbox), newest first."""
    query = select(Subscription).where(Subscription.url != except_url).order_by(col(Subscription.id).desc())
    return list(db.exec(query).all())


# ---------------------------------------------------------------------------------------------
# Deliveries and attempts


def queued_by_subscription(db: Session) -> dict[int | None, tuple[int, datetime | None]]:
    """Per subscription id with queued deliveries: how many, and the oldest one's ``created_at``."""
    rows = db.execute(
        select(Delivery.subscription_id, func.count(), func.min(Delivery.created_at))
        .where(col(Delivery.state).in_(QUEUED))
        .group_by(col(Delivery.subscription_id))
    ).all()
    return {r[0]: (int(r[1]), r[2]) for r in rows}


def drop_queued_deliveries(db: Session, sub_id: int | None) -> int:
    """Mark the subscription's queued deliveries dropped (and unclaimed); returns how many."""
    result = db.execute(
        update(Delivery)
        .where(col(Delivery.subscription_id) == sub_id, col(Delivery.state).in_(QUEUED))
        .values(state="dropped", claimed_by=None, claimed_until=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def attempts_newest_first(db: Session, sub_id: int, limit: int, before: int | None = None) -> list[DeliveryAttempt]:
    """The subscription's delivery attempts, newest first, at most ``limit`` (``before``: with a
    smaller id than that, for the next page)."""
    query = select(DeliveryAttempt).where(DeliveryAttempt.subscription_id == sub_id)
    if before is not None:
        query = query.where(col(DeliveryAttempt.id) < before)
    return list(db.exec(query.order_by(col(DeliveryAttempt.id).desc()).limit(limit)).all())


def unfinished_deliveries(db: Session, sub_id: int, limit: int) -> list[tuple[Delivery, FeedEvent]]:
    """The subscription's deliveries not delivered (queued or failed) with their events, in feed
    order, at most ``limit``."""
    rows = db.exec(
        select(Delivery, FeedEvent)
        .join(FeedEvent, col(FeedEvent.seq) == col(Delivery.event_seq))
        .where(Delivery.subscription_id == sub_id, col(Delivery.state).in_((*QUEUED, "failed")))
        .order_by(col(Delivery.event_seq))
        .limit(limit)
    ).all()
    return [(d, e) for d, e in rows]
