"""The supervision service application (督导检查服务).

Besides the kernel's parts, the lifespan runs the job runner (thumbnails, reports, the daily
rectification pass) when ``run_jobs`` is on; tests hand in their engine and drive the runner.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from services.common.service_app import create_service_app
from services.supervision.config import Settings
from services.supervision.models import idempotency, outbox
from services.supervision.router import routers
from services.supervision.vocab import LABELS

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        title="Sortline 督导检查服务",
        settings=settings,
        outbox=outbox,
        routers=routers,
        engine=engine,
        idempotency=idempotency,
        field_labels=LABELS,
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            runner = None
            if settings.run_jobs:
                from services.supervision.jobs import runner_of

                runner = runner_of(app.state)
                runner.start()
            try:
                yield
            finally:
                if runner is not None:
                    runner.stop()
                    app.state.runner = None

    app.router.lifespan_context = lifespan
    return app
