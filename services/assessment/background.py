"""The service's job runner (kernel ``JobRunner``): archive builds as jobs, reminders as a daily schedule."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.assessment import archive, reminders
from services.assessment.app_state import Ports

log = logging.getLogger(__name__)
ARCHIVE_JOB = "assessment-archive"


def make_runner(engine: Any, ports: Ports) -> Any:
    """A ``JobRunner`` on this service's job tables, with the archive job and the reminder schedule."""
    from services.assessment import models
    from services.common.jobs import JobRunner  # kernel-jobs

    runner = JobRunner(engine, models.jobs, storage=ports.storage)

    def build(ctx: Any) -> dict[str, Any]:
        return archive.build(ctx.engine, ports.storage, ports.registry, int(ctx.payload["archive_id"]), ctx.progress)

    runner.register(ARCHIVE_JOB, build, retries=1, timeout_s=6 * 3600)
    reminders.schedule(runner, engine, ports.settings, ports.calendar)
    return runner


def install(app: FastAPI) -> None:
    """Start the runner with the app (when ``run_jobs``), after the engine exists; stop it at shutdown."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            runner = None
            if app.state.ports.settings.run_jobs:
                try:
                    runner = make_runner(app.state.engine, app.state.ports)
                    runner.start()
                except ImportError:
                    log.warning("kernel job runner not available: archives and reminders do not run")
                    runner = None
            app.state.runner = runner
            try:
                yield
            finally:
                if runner is not None:
                    runner.stop()

    app.router.lifespan_context = lifespan


def runner_of(app: Any) -> Any:
    """The app's runner; tests (no lifespan) get one made on first use, not started (``run_pending``)."""
    runner = getattr(app.state, "runner", None)
    if runner is None:
        runner = make_runner(app.state.engine, app.state.ports)
        app.state.runner = runner
    return runner
