"""A webhook receiver for the tests: verifies every delivery with the ``standardwebhooks`` package
(not our code), records what arrived, and can be taken down or made to answer any status."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.common import clock


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    url: str


@dataclass
class Receiver:
    secret: str = ""
    down: bool = False
    status: int = 200
    answer: bytes = b'{"ok":true}'
    extra_headers: dict[str, str] = field(default_factory=dict)
    respond: Callable[[httpx.Request], httpx.Response | None] | None = None
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if self.respond is not None:
            custom = self.respond(request)
            if custom is not None:
                return custom
        if self.down:
            raise httpx.ConnectError("receiver down", request=request)
        body = request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.secret:
            try:
                Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError as exc:
                with self._lock:
                    self.rejected.append(str(exc))
                return httpx.Response(401, json={"error": "bad signature"})
        if 200 <= self.status < 300:
            with self._lock:
                self.received.append(Received(headers["webhook-id"], orjson.loads(body), headers, str(request.url)))
        return httpx.Response(self.status, content=self.answer, headers=self.extra_headers)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]


class MemoryFeeds:
    """A service feed held in memory (the HTTP feed is covered in the API tests)."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {"registry": [], "assessment": [], "supervision": []}

    def add(self, service: str, type_: str, subject: str, data: dict[str, Any] | None = None) -> str:
        event_id = str(uuid.uuid4())
        self.events[service].append(
            {
                "id": event_id,
                "source": f"/sortline/{service}",
                "type": type_,
                "subject": subject,
                "time": clock.now().isoformat(),
                "data": data or {},
            }
        )
        return event_id

    def read(self, service: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        items = self.events[service][after : after + limit]
        return items, after + len(items)
