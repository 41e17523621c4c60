"""The gateway's integration part: event subscriptions and their signed delivery, OA / robot adapters,
single sign-on, inbound documents and the in-app inbox. ``install(app)`` wires it into the gateway."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from gateway.integration.config import IntegrationSettings
from gateway.integration.crypto import SecretBox

log = logging.getLogger("sortline.gateway.integration")


DELIVERY_SCHEDULE = "integration-deliveries"


def make_runner(engine: Any, worker: Any, settings: IntegrationSettings, **kw: Any) -> Any:
    """The gateway's kernel ``JobRunner`` with the delivery round as a schedule (every ``poll_seconds``).

    A slot runs on one replica at a time (the kernel's conditional update); inside a round the
    worker's own claims (``FOR UPDATE SKIP LOCKED`` / ``BEGIN IMMEDIATE`` and a lease) keep each
    delivery with one sender, so any number of gateway replicas deliver each event once.
    """
    from gateway.models import jobs
    from services.common.jobs import JobRunner

    runner = JobRunner(engine, jobs, worker_id=worker.worker_id, poll_s=min(1.0, settings.poll_seconds), **kw)

    def deliver(ctx: Any) -> None:
        worker.run_once(max_batches=50)

    interval = timedelta(seconds=max(1, round(settings.poll_seconds)))
    runner.every(DELIVERY_SCHEDULE, deliver, interval=interval)
    return runner


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
            worker = _build_worker(a, settings)
            runner = make_runner(a.state.engine, worker, settings)
            a.state.integration_runner = runner
            runner.start()
            try:
                yield state
            finally:
                runner.close()
                worker.close()

    app.router.lifespan_context = lifespan
