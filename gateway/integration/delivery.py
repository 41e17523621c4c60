"""The delivery worker: claim due deliveries (each by one replica), send them signed, record every
attempt, and schedule retries.

- Order per subject: only the oldest unfinished delivery of a (subscription, subject) is claimable,
  so one task's events never overtake each other; different subjects go out in parallel.
- Claims: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite, then a lease
  (``claimed_until``) so a replica that dies mid-send only delays its rows.
- Standard Webhooks: ``webhook-id`` is the event id (the same on every retry), ``webhook-timestamp``
  and ``webhook-signature`` over ``id.timestamp.body`` of the exact bytes sent.
- Sending: a batch goes out concurrently on the sender's event loop, ``concurrency`` requests at a
  time; claiming, preparing and recording stay in the calling thread, a few statements per batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from gateway.integration import adapters, inbox
from gateway.integration import delivery_repository as repo
from gateway.integration.adapters import ROBOT_ADAPTERS, EventView, Outgoing
from gateway.integration.config import IntegrationSettings
from gateway.integration.crypto import SecretBox, Signer
from gateway.integration.feeds import (
    FEED_SERVICES,
    FeedSource,
    emit_gateway_event,
    ensure_inbox_subscription,
    poll_all,
)
from gateway.integration.models import Subscription
from gateway.integration.netguard import Sender, SendResult
from gateway.integration.subscriptions import signing_secrets
from services.common import clock

log = logging.getLogger("sortline.gateway.integration")

# After the first attempt (immediately): the Standard Webhooks example schedule.
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
WARN_AFTER = timedelta(days=1)
MAX_RETRY_AFTER = timedelta(hours=24)


@dataclass
class Claimed:
    id: int
    subscription_id: int
    event_seq: int
    attempts: int


@dataclass
class Job:
    """One unit of sending: one delivery (standard, weaver, inbox) or a digest of several (robots)."""

    sub: Subscription
    deliveries: list[Claimed]
    events: list[EventView]
    outgoing: list[Outgoing] = field(default_factory=list)
    result: SendResult | None = None
    signer: Signer | None = None
    inbox_rows: list[dict[str, Any]] = field(default_factory=list)


def next_delay(attempts_done: int) -> timedelta | None:
    """The wait before the next attempt after ``attempts_done`` failures; None: give up."""
    if attempts_done >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[attempts_done - 1]


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        settings: IntegrationSettings,
        *,
        feeds: FeedSource | None = None,
        sender: Sender | None = None,
        worker_id: str | None = None,
        services: tuple[str, ...] = FEED_SERVICES,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.box = SecretBox(settings.key)
        self.feeds = feeds
        self.sender = sender or Sender(timeout=settings.timeout_seconds, pool_size=max(8, settings.concurrency))
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:10]}"
        self.services = services
        self._inbox_ready = False

    def close(self) -> None:
        self.sender.close()

    # -----------------------------------------------------------------------------------------
    # Reading the feeds

    def ensure_inbox(self) -> None:
        if not self._inbox_ready:
            ensure_inbox_subscription(self.engine, self.box.encrypt("inbox"))
            self._inbox_ready = True

    def poll(self) -> int:
        self.ensure_inbox()
        if self.feeds is None:
            return 0
        return poll_all(self.engine, self.feeds, self.services, self.settings.feed_page)

    def run_once(self, max_batches: int = 1000) -> int:
        """Poll the feeds, then deliver until nothing is due. Returns deliveries handled."""
        self.poll()
        total = 0
        for _ in range(max_batches):
            n = self.deliver_batch()
            total += n
            if n == 0:
                break
        return total

    # -----------------------------------------------------------------------------------------
    # Claiming

    def _claim(self, conn: Connection, now: datetime) -> list[Claimed]:
        pg = conn.dialect.name == "postgresql"
        # The head of each (subscription, subject) queue: its oldest pending delivery. Only heads are
        # claimable, so a subject's events go out one after the other, different subjects at once.
        head_ids = repo.claimable_head_ids(conn, now, ROBOT_ADAPTERS, self.settings.batch_size)
        claimed: list[Claimed] = []
        if head_ids:
            # Re-checked under the row lock: another replica may have claimed or finished one meanwhile.
            claimed = [Claimed(*r) for r in repo.lock_unleased(conn, head_ids, now, skip_locked=pg)]
        claimed += self._claim_robots(conn, now, pg)
        if claimed:
            until = now + timedelta(seconds=self.settings.claim_seconds)
            repo.lease(conn, [c.id for c in claimed], self.worker_id, until)
        return claimed

    def _claim_robots(self, conn: Connection, now: datetime, pg: bool) -> list[Claimed]:
        """Robots take 20 messages a minute: one message per subscription every 3 s, carrying
        everything due meanwhile as a digest (never dropped), oldest first."""
        out: list[Claimed] = []
        for sub_id in repo.due_robot_subscription_ids(conn, now, ROBOT_ADAPTERS, skip_locked=pg):
            if repo.has_leased_pending(conn, sub_id, now):
                continue
            rows = repo.due_of_subscription(conn, sub_id, now, adapters.ROBOT_DIGEST_MAX)
            if not rows:
                continue
            out += [Claimed(*r) for r in rows]
            repo.set_next_send_at(conn, sub_id, now + timedelta(seconds=adapters.ROBOT_INTERVAL_SECONDS))
        return out

    # -----------------------------------------------------------------------------------------
    # One batch

    def deliver_batch(self) -> int:
        now = clock.now()
        with self.engine.begin() as conn:
            claimed = self._claim(conn, now)
        if not claimed:
            return 0
        jobs = self._prepare(claimed)
        self.sender.run(self._send_all([j for j in jobs if j.outgoing]))
        self._record(jobs)
        return len(claimed)

    def _prepare(self, claimed: list[Claimed]) -> list[Job]:
        with self.engine.connect() as conn:
            seqs = {c.event_seq for c in claimed}
            events = {
                r.seq: EventView(r.id, r.source, r.type, r.subject, clock.as_utc(r.time), r.data or {}, r.service)
                for r in repo.events_by_seq(conn, seqs)
            }
            subs = {
                r.id: Subscription.model_validate(r._asdict())
                for r in repo.subscriptions_by_id(conn, {c.subscription_id for c in claimed})
            }
            directory = inbox.Directory.load(conn)
            jobs: list[Job] = []
            robots: dict[int, list[Claimed]] = defaultdict(list)
            for c in claimed:
                sub = subs[c.subscription_id]
                if sub.adapter in ROBOT_ADAPTERS:
                    robots[sub.id or 0].append(c)
                    continue
                ev = events[c.event_seq]
                job = Job(sub, [c], [ev])
                if sub.adapter == "inbox":
                    job.inbox_rows = inbox.messages_for(directory, ev)
                elif sub.adapter == "weaver-ofs":
                    receivers = directory.oa_receivers(inbox.recipients(directory, ev))
                    job.outgoing = adapters.weaver(ev, receivers, sub.config, self.settings.public_url)
                    if not job.outgoing:
                        job.result = SendResult(None, 0, excerpt="没有映射了 OA 账号的接收人，无需发送")
                else:
                    job.outgoing = [adapters.standard(ev, sub.payload, self.settings.public_url)]
                jobs.append(job)
            for sub_id, items in robots.items():
                sub = subs[sub_id]
                evs = [events[c.event_seq] for c in items]
                if sub.adapter == "dingtalk-robot":
                    out = adapters.dingtalk(evs, sub.config, self.settings.public_url, sub.url)
                else:
                    out = adapters.wecom(evs, self.settings.public_url)
                jobs.append(Job(sub, items, evs, [out]))
        # Each subscription's secrets are decrypted once per batch.
        signers: dict[int, Signer] = {}
        for job in jobs:
            if job.outgoing:
                sub_id = job.sub.id or 0
                if sub_id not in signers:
                    signers[sub_id] = Signer(signing_secrets(self.box, job.sub, clock.now()))
                job.signer = signers[sub_id]
        return jobs

    async def _send_all(self, jobs: list[Job]) -> None:
        slots = asyncio.Semaphore(self.settings.concurrency)

        async def one(job: Job) -> None:
            async with slots:
                await self._send(job)

        await asyncio.gather(*(one(job) for job in jobs))

    async def _send(self, job: Job) -> None:
        # The signature's timestamp is the real sending time (receivers check it against their own
        # clock); retries are scheduled on the settable clock.
        timestamp = int(time.time())
        signer = job.signer or Signer(signing_secrets(self.box, job.sub, clock.now()))
        # A digest carries several events: its id is the first event's, stable across retries.
        msg_id = job.events[0].id if len(job.events) == 1 else f"digest_{job.events[0].id}_{len(job.events)}"
        result: SendResult | None = None
        for out in job.outgoing:
            headers = {
                **out.headers,
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signer.header(msg_id, timestamp, out.body),
                "user-agent": "Sortline-Webhooks/1.0",
            }
            result = await self.sender.send(out.url or job.sub.url, out.body, headers, job.sub.internal)
            if result.ok and out.check is not None:
                problem = out.check(result.excerpt)
                if problem:
                    result.error = problem
            if not result.ok:
                break
        job.result = result

    # -----------------------------------------------------------------------------------------
    # Recording

    def _record(self, jobs: list[Job]) -> None:
        now = clock.now()
        attempts: list[dict[str, Any]] = []
        delivered: list[int] = []
        ok_subs: set[int] = set()
        failed_subs: set[int] = set()
        gone_subs: set[int] = set()
        with self.engine.begin() as conn:
            for job in jobs:
                result = job.result or SendResult(200, 0)
                sub_id = job.sub.id or 0
                for c in job.deliveries:
                    attempts.append(
                        {
                            "delivery_id": c.id,
                            "subscription_id": sub_id,
                            "event_id": job.events[0].id if len(job.events) == 1 else self._event_id(job, c),
                            "attempt": c.attempts + 1,
                            "at": now,
                            "status_code": result.status_code,
                            "duration_ms": result.duration_ms,
                            "error": result.error[:255],
                            "response_excerpt": result.excerpt[:500],
                        }
                    )
                if job.inbox_rows:
                    inbox.store(conn, job.inbox_rows)
                if result.ok or (result.status_code is None and not result.error):
                    delivered += [c.id for c in job.deliveries]
                    ok_subs.add(sub_id)
                    continue
                failed_subs.add(sub_id)
                if result.gone:
                    gone_subs.add(sub_id)
                for c in job.deliveries:
                    self._fail(conn, c, result, now)
            if attempts:
                repo.insert_attempts(conn, attempts)
            if delivered:
                repo.mark_delivered(conn, delivered, self.worker_id, now)
            if ok_subs:
                repo.clear_failing(conn, ok_subs, now)
            if failed_subs - ok_subs:
                repo.mark_failing_since(conn, failed_subs - ok_subs, now)
            for sub_id in gone_subs:
                self._disable_gone(conn, sub_id)
            self._warn_failing(conn, now)

    @staticmethod
    def _event_id(job: Job, c: Claimed) -> str:
        for ev, dc in zip(job.events, job.deliveries, strict=False):
            if dc.id == c.id:
                return ev.id
        return job.events[0].id

    def _fail(self, conn: Connection, c: Claimed, result: SendResult, now: datetime) -> None:
        done = c.attempts + 1
        values: dict[str, Any] = {
            "attempts": done,
            "claimed_by": None,
            "claimed_until": None,
            "last_status": result.status_code,
            "last_error": result.error[:255],
        }
        if result.gone:
            values["next_at"] = now  # resumes at once if an admin re-enables the subscription
        else:
            delay = next_delay(done)
            if delay is None:
                values["state"] = "failed"
            else:
                if result.retry_after is not None:
                    delay = min(max(timedelta(seconds=result.retry_after), timedelta(0)), MAX_RETRY_AFTER)
                values["next_at"] = now + delay
        repo.record_failure(conn, c.id, self.worker_id, None if c.attempts else now, values)

    def _disable_gone(self, conn: Connection, sub_id: int) -> None:
        row = repo.subscription_row(conn, sub_id)
        if row is None or row.status != "active":
            return
        repo.disable_subscription(conn, sub_id, "接收方返回 410 Gone，订阅已自动停用")
        emit_gateway_event(
            conn,
            "subscription",
            "disabled",
            str(sub_id),
            {
                "id": sub_id,
                "title": row.name,
                "url": row.url,
                "owner_user_id": row.owner_user_id,
                "note": "接收方返回 410",
            },
        )

    def _warn_failing(self, conn: Connection, now: datetime) -> None:
        """A day of failures: warn the owner once (inbox, through the event) until a success."""
        for row in repo.unwarned_failing_since(conn, now - WARN_AFTER):
            repo.mark_warned(conn, row.id, now)
            since = clock.local(row.failing_since).strftime("%Y-%m-%d %H:%M")
            emit_gateway_event(
                conn,
                "subscription",
                "failing",
                str(row.id),
                {
                    "id": row.id,
                    "title": row.name,
                    "url": row.url,
                    "owner_user_id": row.owner_user_id,
                    "since": clock.as_utc(row.failing_since).isoformat(),
                    "note": f"自 {since} 起投递一直失败，请检查接收地址",
                },
            )
