"""The gateway's integration part: event subscriptions and their signed delivery, OA / robot adapters,
single sign-on, inbound documents and the in-app inbox. ``install(app)`` wires it into the gateway."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from gateway.integration.config import IntegrationSettings
from gateway.integration.crypto import SecretBox

log = logging.getLogger("sortline.gateway.integration")


class WorkerThread:
    """The delivery worker in a background thread of a gateway process (one per replica)."""

    def __init__(self, worker: Any, interval: float) -> None:
        self.worker = worker
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="integration-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.worker.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.worker.run_once(max_batches=50)
            except Exception:  # keep the worker alive; the next round retries
                log.exception("integration worker round failed")
                busy = 0
            if not busy:
                self._stop.wait(self.interval)


def _build_worker(app: FastAPI, settings: IntegrationSettings) -> Any:
    from gateway.integration.delivery import DeliveryWorker
    from gateway.integration.feeds import FEED_SERVICES, HttpFeeds

    gw = app.state.settings
    feeds = HttpFeeds(
        {s: gw.url_of(s) for s in FEED_SERVICES}, gw.service_token_secret, token_ttl=gw.service_token_ttl_seconds
    )
    return DeliveryWorker(app.state.engine, settings, feeds=feeds)


def install(app: FastAPI, *, start_worker: bool = True, settings: IntegrationSettings | None = None) -> None:
    """Routes (the JSON API before the ``/api/v1/{service}`` proxy), pages, and the worker."""
    from gateway.integration import api, identities, inbound, inbox, pages, sso

    settings = settings or IntegrationSettings()
    app.state.integration_settings = settings
    app.state.integration_box = SecretBox(settings.key)

    before = len(app.router.routes)
    app.include_router(api.router)
    added: list[BaseRoute] = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added  # matched before the proxy route
    app.include_router(inbox.router)
    app.include_router(pages.router)
    app.include_router(identities.router)
    for module in (inbound, sso):
        before = len(app.router.routes)
        for router in module.routers():
            app.include_router(router)
        added = app.router.routes[before:]
        del app.router.routes[before:]
        app.router.routes[0:0] = added  # /api/v1/integration/... and /login/oidc before the catch-alls
    sso.install_login_links(settings)

    if not (start_worker and settings.worker):
        return
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        async with original(a) as state:
            thread = WorkerThread(_build_worker(a, settings), settings.poll_seconds)
            thread.start()
            try:
                yield state
            finally:
                thread.stop()

    app.router.lifespan_context = lifespan
