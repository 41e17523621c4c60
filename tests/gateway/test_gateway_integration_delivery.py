"""The delivery worker against a receiver that verifies every request with the ``standardwebhooks``
package: signing, order per subject, retries on the schedule with the same webhook-id, 410, redirects
and private addresses, Retry-After, the failing-owner warning, secret rotation, replay."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gateway import cli
from gateway.integration import subscriptions as subs
from gateway.integration.config import IntegrationSettings
from gateway.integration.crypto import SecretBox
from gateway.integration.delivery import DeliveryWorker
from gateway.integration.feeds import store_events
from gateway.integration.models import Delivery, DeliveryAttempt, InboxMessage, Subscription
from gateway.integration.netguard import Sender
from gateway.security import Principal
from services.common import clock
from tests.support.webhook_receiver import MemoryFeeds, Receiver

T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@dataclass
class World:
    engine: Engine
    settings: IntegrationSettings
    feeds: MemoryFeeds
    receiver: Receiver
    admin: Principal
    resolver_map: dict[str, list[str]]

    def worker(self, worker_id: str | None = None, **kw: Any) -> DeliveryWorker:
        sender = Sender(transport=self.receiver.transport(), resolver=lambda h, p: self.resolver_map.get(h, []))
        return DeliveryWorker(self.engine, self.settings, feeds=self.feeds, sender=sender, worker_id=worker_id, **kw)

    def subscribe(self, url: str = "http://receiver.test/hook", types: list[str] | None = None, **kw: Any) -> int:
        with Session(self.engine) as db:
            sub, secret = subs.create(
                db,
                SecretBox(self.settings.key),
                subs.SubscriptionInput(url=url, types=types or ["sortline.*"], **{"internal": True, **kw}),
                self.admin,
            )
            db.commit()
            self.receiver.secret = secret
            return sub.id or 0

    def count(self, model: Any, *where: Any) -> int:
        with Session(self.engine) as db:
            return int(db.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


@pytest.fixture
def world(make_db: Callable[[str], Engine]) -> Iterator[World]:
    clock.set_now(T0)
    engine = make_db("gateway")
    uid = cli.create_user(engine, username="admin1", password="correct-horse-9", role="admin")
    admin = Principal(kind="user", id=uid, name="管理员", role="admin", username="admin1")
    settings = IntegrationSettings(key="test-key", worker=False, concurrency=4, batch_size=100)
    yield World(engine, settings, MemoryFeeds(), Receiver(), admin, {"public.test": ["93.184.216.34"]})


def test_every_delivery_verifies_and_carries_the_event_id(world: World) -> None:
    sub_id = world.subscribe(types=["sortline.registry.*"])
    e1 = world.feeds.add("registry", "sortline.registry.vehicle.created", "赣A12345", {"plate": "赣A12345"})
    world.feeds.add("assessment", "sortline.assessment.task.issued", "T-1")  # not subscribed
    w = world.worker()
    assert w.run_once() >= 1
    assert world.receiver.rejected == []
    assert world.receiver.ids() == [e1]
    body = world.receiver.received[0].body
    assert body["specversion"] == "1.0" and body["type"] == "sortline.registry.vehicle.created"
    assert body["data"] == {"plate": "赣A12345"}
    assert world.count(DeliveryAttempt, DeliveryAttempt.subscription_id == sub_id) == 1
    w.close()


def test_subscription_gets_only_events_after_its_creation(world: World) -> None:
    world.feeds.add("registry", "sortline.registry.vehicle.created", "old")
    w = world.worker()
    w.poll()
    clock.advance(timedelta(seconds=1))
    world.subscribe()
    new = world.feeds.add("registry", "sortline.registry.vehicle.created", "new")
    w.run_once()
    assert world.receiver.ids() == [new]
    w.close()


def test_receiver_down_ten_minutes_then_back_all_delivered_in_order_same_ids(world: World) -> None:
    world.subscribe()
    ids_by_subject: dict[str, list[str]] = {}
    for i in range(30):
        subject = f"T-{i % 3}"
        ids_by_subject.setdefault(subject, []).append(
            world.feeds.add("assessment", "sortline.assessment.task.updated", subject, {"n": i})
        )
    world.receiver.down = True
    w = world.worker()
    w.run_once()  # first attempt of each subject's head fails
    for _ in range(20):  # ten minutes of a dead receiver, worker running every 30 s
        clock.advance(timedelta(seconds=30))
        w.run_once()
    assert world.receiver.received == []
    first_attempt_ids = {r.headers["webhook-id"] for r in world.receiver.requests}
    world.receiver.down = False
    for _ in range(10):  # back up: the retries (5 min, 30 min) catch up
        clock.advance(timedelta(minutes=10))
        w.run_once()
    assert world.receiver.rejected == []
    got = world.receiver.ids()
    assert sorted(got) == sorted(i for ids in ids_by_subject.values() for i in ids)  # none lost, none twice
    for subject, ids in ids_by_subject.items():
        arrived = [r.webhook_id for r in world.receiver.received if r.body["subject"] == subject]
        assert arrived == ids, f"order broken for {subject}"
    # the retried heads kept the id of their first attempt
    assert first_attempt_ids <= set(got)
    assert world.count(Delivery, Delivery.state != "delivered") == 0
    w.close()


def test_retry_schedule_and_retry_after(world: World) -> None:
    world.subscribe()
    world.feeds.add("registry", "sortline.registry.unit.created", "U1")
    world.receiver.status = 503
    world.receiver.extra_headers = {"retry-after": "120"}
    w = world.worker()
    w.run_once()
    with Session(world.engine) as db:
        d = db.exec(select(Delivery)).scalars().first()  # type: ignore[call-overload]
        assert d.attempts == 1 and d.state == "pending"
        assert clock.as_utc(d.next_at) == T0 + timedelta(seconds=120)
    world.receiver.extra_headers = {}
    clock.advance(timedelta(seconds=121))
    w.run_once()
    with Session(world.engine) as db:
        d = db.exec(select(Delivery)).scalars().first()  # type: ignore[call-overload]
        assert d.attempts == 2
        assert clock.as_utc(d.next_at) == clock.now() + timedelta(minutes=5)  # the schedule's 3rd slot
    w.close()


def test_410_disables_the_subscription(world: World) -> None:
    sub_id = world.subscribe()
    world.feeds.add("registry", "sortline.registry.unit.created", "U1")
    world.feeds.add("registry", "sortline.registry.unit.created", "U2")
    world.receiver.status = 410
    w = world.worker()
    w.run_once()
    with Session(world.engine) as db:
        sub = db.get(Subscription, sub_id)
        assert sub is not None and sub.status == "disabled" and "410" in sub.status_reason
    calls = len(world.receiver.requests)
    clock.advance(timedelta(hours=1))
    w.run_once()
    assert len(world.receiver.requests) == calls  # nothing more is sent to a disabled subscription
    w.close()


def test_redirect_to_loopback_refused_for_non_internal(world: World) -> None:
    world.subscribe(url="https://public.test/hook", internal=False)
    world.feeds.add("registry", "sortline.registry.unit.created", "U1")

    def redirect(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "93.184.216.34":
            return httpx.Response(302, headers={"location": "http://127.0.0.1:8001/events"})
        return httpx.Response(200)

    world.receiver.respond = redirect
    w = world.worker()
    w.run_once()
    hosts = [r.url.host for r in world.receiver.requests]
    assert hosts == ["93.184.216.34"]  # pinned to the checked address, the redirect not followed
    assert world.receiver.requests[0].headers["host"] == "public.test"
    with Session(world.engine) as db:
        attempt = db.exec(select(DeliveryAttempt)).scalars().first()  # type: ignore[call-overload]
        assert attempt.status_code == 302 and "重定向" in attempt.error
    w.close()


def test_private_address_refused_without_a_request(world: World) -> None:
    world.subscribe(url="http://127.0.0.1:9/hook", internal=False)
    world.resolver_map["intranet.test"] = ["10.1.2.3"]
    world.subscribe(url="http://intranet.test/hook", internal=False)
    world.feeds.add("registry", "sortline.registry.unit.created", "U1")
    w = world.worker()
    w.run_once()
    assert world.receiver.requests == []
    with Session(world.engine) as db:
        errors = [a.error for a in db.exec(select(DeliveryAttempt)).scalars()]  # type: ignore[call-overload]
    assert len(errors) == 2 and all("内网" in e for e in errors)
    w.close()


def test_a_day_of_failures_warns_the_owner_in_the_inbox(world: World) -> None:
    world.subscribe()
    world.feeds.add("registry", "sortline.registry.unit.created", "U1")
    world.receiver.down = True
    w = world.worker()
    w.run_once()
    for _ in range(8):
        clock.advance(timedelta(hours=4))
        w.run_once()
    msgs = world.count(InboxMessage, InboxMessage.user_id == world.admin.id, InboxMessage.kind == "subscription")
    assert msgs == 1  # warned once, not every round
    w.close()


def test_rotation_sends_both_signatures_during_the_overlap(world: World) -> None:
    sub_id = world.subscribe()
    old_secret = world.receiver.secret
    with Session(world.engine) as db:
        sub = db.get(Subscription, sub_id)
        assert sub is not None
        new_secret = subs.rotate(db, SecretBox(world.settings.key), sub, overlap_hours=24)
        db.commit()
    world.feeds.add("registry", "sortline.registry.unit.created", "U1")
    w = world.worker()
    w.run_once()
    assert len(world.receiver.received[0].headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):  # a receiver with either secret accepts it
        r = Receiver(secret=secret)
        req = world.receiver.requests[0]
        assert r.handler(httpx.Request("POST", req.url, headers=req.headers, content=req.content)).status_code == 200
    with Session(world.engine) as db:
        sub = db.get(Subscription, sub_id)
        assert sub is not None and "whsec_" not in sub.secret_enc and new_secret not in sub.secret_enc
    w.close()


def test_replay_of_one_event_resends_with_the_same_id(world: World) -> None:
    sub_id = world.subscribe()
    e1 = world.feeds.add("registry", "sortline.registry.unit.created", "U1")
    w = world.worker()
    w.run_once()
    with Session(world.engine) as db:
        from gateway.integration.replay import replay_event

        sub = db.get(Subscription, sub_id)
        assert sub is not None
        assert replay_event(db, sub, e1) == 1
        db.commit()
    w.run_once()
    assert world.receiver.ids() == [e1, e1]
    w.close()


def test_store_events_is_idempotent(world: World) -> None:
    world.subscribe()
    e = {"id": str(uuid.uuid4()), "type": "sortline.registry.unit.created", "subject": "U", "time": T0, "data": {}}
    with world.engine.begin() as conn:
        assert store_events(conn, "registry", [e]) == 1
        assert store_events(conn, "registry", [e]) == 0
    assert world.count(Delivery) == 1


def test_two_workers_deliver_10000_events_once_each_in_order(world: World) -> None:
    import threading

    from services.common.db import make_engine

    clock.set_now(None)  # real time: two replicas racing
    world.subscribe(types=["sortline.assessment.*"])
    subjects = [f"T-{i}" for i in range(100)]
    expected: dict[str, list[str]] = {s: [] for s in subjects}
    items = []
    for i in range(10_000):
        subject = subjects[i % len(subjects)]
        event_id = str(uuid.uuid4())
        expected[subject].append(event_id)
        items.append(
            {
                "id": event_id,
                "type": "sortline.assessment.task.updated",
                "subject": subject,
                "time": clock.now(),
                "data": {},
            }
        )
    with world.engine.begin() as conn:
        store_events(conn, "assessment", items)
    settings = IntegrationSettings(key="test-key", worker=False, concurrency=8, batch_size=200)
    engines = [world.engine, make_engine(str(world.engine.url))]
    workers = [
        DeliveryWorker(e, settings, sender=Sender(transport=world.receiver.transport()), worker_id=f"replica-{n}")
        for n, e in enumerate(engines)
    ]
    per_worker = [0, 0]

    def run(n: int) -> None:
        # Until nothing is pending, bounded by time rather than by rounds: while the other replica holds
        # every subject's head, a round claims nothing, and on a loaded machine (CI) one replica could
        # spend a fixed number of such rounds before the other had delivered its batch.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = workers[n].deliver_batch()
            per_worker[n] += done
            if done == 0:
                if world.count(Delivery, Delivery.state == "pending") == 0:
                    return
                time.sleep(0.005)  # the other replica's batch is in flight

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = world.receiver.ids()
    assert len(ids) == 10_000 and len(set(ids)) == 10_000  # each exactly once, no retry needed
    assert world.receiver.rejected == []
    assert all(per_worker), per_worker  # both replicas took part
    for subject, want in expected.items():
        got = [r.webhook_id for r in world.receiver.received if r.body["subject"] == subject]
        assert got == want, subject
    for w in workers:
        w.close()
    engines[1].dispose()


def test_delivery_round_is_a_kernel_schedule_run_once_per_slot_across_replicas(world: World) -> None:
    """Two gateway replicas' kernel runners wake together: the delivery slot runs on one of them, the
    events go out once; the next slot (settable clock) runs again and picks up a new event."""
    from gateway.integration import DELIVERY_SCHEDULE, make_runner
    from gateway.models import jobs

    world.subscribe(types=["sortline.assessment.*"])
    ran: list[str] = []
    runners = []
    for n in range(2):
        worker = world.worker(worker_id=f"replica-{n}")
        inner = worker.run_once

        def counted(max_batches: int = 1000, _inner: Any = inner, _n: int = n) -> int:
            ran.append(f"replica-{_n}")
            return int(_inner(max_batches=max_batches))

        worker.run_once = counted  # type: ignore[method-assign]
        runners.append(make_runner(world.engine, worker, world.settings))
    assert all(r.job_t is jobs[0] for r in runners)  # the gateway's own job tables
    world.feeds.add("assessment", "sortline.assessment.task.updated", "T-1")
    world.feeds.add("assessment", "sortline.assessment.task.updated", "T-2")
    assert [r.tick() for r in runners] == [[], []]  # the schedule row is made, its first slot is ahead
    clock.set_now(T0 + timedelta(seconds=5))
    names = [r.tick() for r in runners]
    assert sorted(map(len, names)) == [0, 1] and [DELIVERY_SCHEDULE] in names
    assert len(ran) == 1
    assert len(world.receiver.ids()) == 2
    assert [r.tick() for r in runners] == [[], []]  # same slot: nobody runs it again
    world.feeds.add("assessment", "sortline.assessment.task.updated", "T-1")
    clock.set_now(T0 + timedelta(seconds=10))
    assert sum(len(r.tick()) for r in reversed(runners)) == 1
    assert len(ran) == 2
    ids = world.receiver.ids()
    assert len(ids) == 3 and len(set(ids)) == 3
    for r in runners:
        r.close()


def test_an_unreadable_feed_is_logged_when_the_outage_starts_and_ends_not_every_poll(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    from gateway.integration.feeds import poll_all

    class Flaky(MemoryFeeds):
        down = True

        def read(self, service: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
            if self.down:
                raise httpx.ConnectError("refused")
            return super().read(service, after, limit)

    feeds = Flaky()
    with caplog.at_level("WARNING", logger="sortline.gateway.integration"):
        for _ in range(5):
            poll_all(world.engine, feeds, ["supervision"], 100)
        feeds.down = False
        poll_all(world.engine, feeds, ["supervision"], 100)
        poll_all(world.engine, feeds, ["supervision"], 100)
    messages = [r.getMessage() for r in caplog.records if "supervision" in r.getMessage()]
    assert len(messages) == 2, messages
    assert "unreadable" in messages[0] and "readable again" in messages[1]
