"""Webhook delivery: 10,000 events through the integration worker (feed cursor, fan-out, claims,
Standard Webhooks signing, one attempt row each) to a local receiver, against a bare loop that posts
the same bodies with one pooled client. Last line ``ratio X`` (worker rate / bare rate, >= 0.5)."""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import free_port, scratch_dir, uvicorn


class PagedFeed:
    """A service feed served from memory in pages (the cursor logic is the worker's own)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def read(self, service: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        items = self.events[after : after + limit] if service == "assessment" else []
        return items, after + len(items)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subjects", type=int, default=500)
    args = parser.parse_args()

    tmp = scratch_dir("bench-delivery-")
    os.environ["SORTLINE_DATA_DIR"] = str(tmp)
    os.environ.setdefault("SORTLINE_ENV", "development")
    from sqlalchemy import func, select
    from sqlmodel import Session, col

    from gateway import cli
    from gateway.integration import adapters
    from gateway.integration import subscriptions as subs
    from gateway.integration.config import IntegrationSettings
    from gateway.integration.crypto import SecretBox
    from gateway.integration.delivery import DeliveryWorker
    from gateway.integration.feeds import event_t
    from gateway.integration.models import Delivery
    from gateway.integration.netguard import Sender
    from gateway.security import Principal
    from services.common import clock
    from services.common.db import make_engine
    from services.common.migrations import upgrade

    url = f"sqlite:///{tmp / 'gateway.db'}"
    upgrade("gateway", url)
    engine = make_engine(url)
    uid = cli.create_user(engine, username="bench", password="bench-password-1", role="admin")
    admin = Principal(kind="user", id=uid, name="bench", role="admin", username="bench")
    port = free_port()
    hook = f"http://127.0.0.1:{port}/webhook"
    settings = IntegrationSettings(key="bench-key", worker=False, concurrency=32, batch_size=1000, feed_page=1000)
    with Session(engine) as db:
        sub, _secret = subs.create(
            db,
            SecretBox(settings.key),
            subs.SubscriptionInput(url=hook, types=["sortline.assessment.*"], internal=True),
            admin,
        )
        db.commit()
        sub_id = sub.id
    now = clock.now()
    events = [
        {
            "id": str(uuid.uuid4()),
            "source": "/sortline/assessment",
            "type": "sortline.assessment.task.reminded",
            "subject": str(i % args.subjects),
            "time": now.isoformat(),
            "data": {"task_id": i % args.subjects, "unit_code": "U01", "due_date": "2026-12-10", "n": i},
        }
        for i in range(args.events)
    ]
    env = {"SORTLINE_RECEIVER_QUIET": "1", "SORTLINE_RECEIVER_SECRET": ""}
    with uvicorn("gateway.integration.receiver:create_app", port, env) as _base:
        worker = DeliveryWorker(
            engine, settings, feeds=PagedFeed(events), sender=Sender(pool_size=64), services=("assessment",)
        )
        started = time.perf_counter()
        worker.poll()
        delivered = 0
        while n := worker.deliver_batch():
            delivered += n
        worker_s = time.perf_counter() - started
        worker.close()
        with Session(engine) as db:
            done = db.execute(
                select(func.count())
                .select_from(Delivery)
                .where(col(Delivery.state) == "delivered", col(Delivery.subscription_id) == sub_id)
            ).scalar_one()
            rows = db.execute(select(event_t).order_by(event_t.c.seq)).all()
        assert done == args.events, f"delivered {done} of {args.events}"
        bodies = [
            adapters.standard(
                adapters.EventView(r.id, r.source, r.type, r.subject, r.time, r.data, r.service), "full", ""
            ).body
            for r in rows
        ]
        with httpx.Client(timeout=15) as client:
            started = time.perf_counter()
            for body in bodies:
                resp = client.post(hook, content=body, headers={"content-type": "application/cloudevents+json"})
                resp.raise_for_status()
            bare_s = time.perf_counter() - started
    worker_rate = args.events / worker_s
    bare_rate = args.events / bare_s
    print(
        f"worker: {args.events} events in {worker_s:.2f} s ({worker_rate:.0f}/s, signed, logged, in order per subject)"
    )
    print(f"bare loop: {args.events} posts in {bare_s:.2f} s ({bare_rate:.0f}/s, one pooled client)")
    print(f"ratio {worker_rate / bare_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
