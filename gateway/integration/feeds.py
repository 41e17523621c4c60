"""Reading the services' event feeds from a stored cursor and fanning each new event out to the
subscriptions that match it (one delivery row per event and subscription).

Any number of gateway replicas may poll at once: the cursor is advanced compare-and-set in the same
transaction that stores the events (the row is locked ``FOR UPDATE`` on PostgreSQL; SQLite write
transactions begin ``IMMEDIATE``), so a page read by two replicas is stored once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from sqlalchemy.engine import Connection, Engine

from gateway.integration import feed_repository
from gateway.integration.subscriptions import INBOX_URL, matches_any
from services.common import clock
from services.common.auth import DEFAULT_TOKEN_TTL, Caller, sign_token

log = logging.getLogger("sortline.gateway.integration")

FEED_SERVICES = ("registry", "assessment", "supervision")
GATEWAY_SOURCE = "/sortline/gateway"

# The tables, for delivery.py, which still reads them here.
event_t = feed_repository.event_t
delivery_t = feed_repository.delivery_t
sub_t = feed_repository.sub_t


class FeedSource(Protocol):
    def read(self, service: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Events after the cursor, and the new cursor."""
        ...


SYSTEM_CALLER = Caller(sub="system:integration", name="事件投递", role="office")


class HttpFeeds:
    """The services' ``GET /events`` over HTTP, signed as a city-wide system caller. Tests hand one
    ``httpx.Client`` per service (e.g. Starlette's TestClient over the service app)."""

    def __init__(
        self,
        urls: Mapping[str, str],
        token_secret: str,
        clients: Mapping[str, httpx.Client] | None = None,
        timeout: float = 10.0,
        token_ttl: int = DEFAULT_TOKEN_TTL,
    ) -> None:
        self.urls = {k: v.rstrip("/") for k, v in urls.items()}
        self.token_secret = token_secret
        self.token_ttl = token_ttl  # the services refuse a token living longer than their TTL
        self._own = clients is None
        self.clients = dict(clients or {})
        self.timeout = timeout

    def _client(self, service: str) -> httpx.Client:
        client = self.clients.get(service)
        if client is None:
            client = httpx.Client(base_url=self.urls[service], timeout=self.timeout)
            self.clients[service] = client
        return client

    def read(self, service: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        caller = SYSTEM_CALLER.model_copy(update={"rid": uuid.uuid4().hex})
        token = sign_token(caller, self.token_secret, self.token_ttl)
        resp = self._client(service).get(
            "/events", params={"after": after, "limit": limit}, headers={"authorization": f"Bearer {token}"}
        )
        resp.raise_for_status()
        body = resp.json()
        items: list[dict[str, Any]] = body.get("items", [])
        next_cursor = int(body.get("next_cursor") or after)
        return items, next_cursor

    def close(self) -> None:
        if self._own:
            for client in self.clients.values():
                client.close()


@dataclass
class ActiveSub:
    id: int
    types: list[str]
    created_at: datetime


def active_subscriptions(conn: Connection) -> list[ActiveSub]:
    rows = feed_repository.active_subscription_rows(conn)
    return [ActiveSub(r.id, list(r.types or []), clock.as_utc(r.created_at)) for r in rows]


def ensure_inbox_subscription(engine: Engine, secret_enc: str) -> None:
    """The in-app inbox is one more subscriber: a built-in subscription to the events it shows."""
    from gateway.integration.inbox import INBOX_TYPES

    with engine.begin() as conn:
        if not feed_repository.subscription_exists_for_url(conn, INBOX_URL):
            feed_repository.insert_subscription(
                conn,
                {
                    "name": "消息中心",
                    "url": INBOX_URL,
                    "types": list(INBOX_TYPES),
                    "adapter": "inbox",
                    "payload": "full",
                    "internal": True,
                    "config": {},
                    "secret_enc": secret_enc,
                    "status": "active",
                    "status_reason": "",
                    "created_by": "system",
                    "created_at": datetime(2000, 1, 1, tzinfo=clock.now().tzinfo),
                },
            )


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return clock.as_utc(value)
    text = str(value).replace("Z", "+00:00")
    return clock.as_utc(datetime.fromisoformat(text))


def store_events(
    conn: Connection, service: str, items: Iterable[dict[str, Any]], subs: list[ActiveSub] | None = None
) -> int:
    """Store new events and their deliveries (in the caller's transaction). Returns events stored."""
    items = list(items)
    if not items:
        return 0
    ids = [str(e["id"]) for e in items]
    known = feed_repository.stored_event_ids(conn, ids)
    now = clock.now()
    rows: list[dict[str, Any]] = []
    for e in items:
        if str(e["id"]) in known:
            continue
        known.add(str(e["id"]))
        rows.append(
            {
                "id": str(e["id"]),
                "service": service,
                "source": str(e.get("source", f"/sortline/{service}"))[:64],
                "type": str(e["type"])[:128],
                "subject": str(e.get("subject", ""))[:128],
                "time": _parse_time(e.get("time") or now),
                "data": e.get("data") or {},
                "received_at": now,
            }
        )
    if not rows:
        return 0
    seqs = feed_repository.insert_events(conn, rows)
    subs = active_subscriptions(conn) if subs is None else subs
    deliveries = []
    for r in rows:
        for s in subs:
            # A subscription gets the events that happened after it was made (older ones by replay).
            if r["time"] >= s.created_at and matches_any(s.types, r["type"]):
                deliveries.append(
                    {
                        "subscription_id": s.id,
                        "event_seq": seqs[r["id"]],
                        "event_id": r["id"],
                        "subject": f"{r['service']}:{r['subject']}"[:128],
                        "state": "pending",
                        "attempts": 0,
                        "next_at": now,
                        "created_at": now,
                        "last_error": "",
                        "replay": False,
                    }
                )
    if deliveries:
        feed_repository.insert_deliveries(conn, deliveries)
    return len(rows)


def emit_gateway_event(conn: Connection, entity: str, verb: str, subject: str, data: dict[str, Any]) -> str:
    """An event of the gateway itself (e.g. a failing subscription), fanned out like the others."""
    event_id = str(uuid.uuid4())
    item = {
        "id": event_id,
        "source": GATEWAY_SOURCE,
        "type": f"sortline.gateway.{entity}.{verb}",
        "subject": subject,
        "time": clock.now(),
        "data": data,
    }
    store_events(conn, "gateway", [item])
    return event_id


def poll_service(engine: Engine, feeds: FeedSource, service: str, limit: int) -> int:
    """Read one page of one service's feed and store it; returns the number of new events."""
    with engine.connect() as conn:
        after = feed_repository.cursor_after(conn, service) or 0
    items, next_cursor = feeds.read(service, after, limit)
    if not items and next_cursor == after:
        return 0
    with engine.begin() as conn:
        current = feed_repository.cursor_after(conn, service, for_update=True)
        if current is None:
            if after != 0:
                return 0
            feed_repository.insert_cursor(conn, service, next_cursor, clock.now())
        elif current != after:
            return 0  # another replica stored this page first
        else:
            feed_repository.update_cursor(conn, service, next_cursor, clock.now())
        return store_events(conn, service, items)


# Services whose feed failed at the last poll of this process: an outage is logged when it starts and
# when it ends, not once a second while it lasts.
_UNREADABLE: set[str] = set()


def poll_all(engine: Engine, feeds: FeedSource, services: Iterable[str], limit: int, max_pages: int = 20) -> int:
    """Drain each service's feed (up to ``max_pages`` pages per call); a service that does not
    answer is skipped and logged (once per outage), the others go on."""
    total = 0
    for service in services:
        for _ in range(max_pages):
            try:
                n = poll_service(engine, feeds, service, limit)
            except (httpx.HTTPError, OSError, ValueError) as exc:
                if service not in _UNREADABLE:
                    _UNREADABLE.add(service)
                    log.warning("event feed of %s unreadable (logged again when it recovers): %r", service, exc)
                break
            if service in _UNREADABLE:
                _UNREADABLE.discard(service)
                log.warning("event feed of %s readable again", service)
            total += n
            if n < limit:
                break
    return total
