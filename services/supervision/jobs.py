"""Background work on the kernel's runner (``services.common.jobs``): photo thumbnails, report
building, and the daily rectification pass (reminders and 督办), one runner per process.

The daily schedule runs once per day across replicas (the kernel's ``tick`` claims the slot);
the pass itself only changes rows still in the state it read, so even a double run is harmless.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.supervision.deps import calendar_of, storage_of


def runner_of(state: Any) -> Any:
    """The app's job runner, made on first use with every job and schedule registered."""
    runner = getattr(state, "runner", None)
    if runner is None:
        runner = state.runner = make_runner(state)
    return runner


def make_runner(state: Any, worker_id: str | None = None) -> Any:
    """A new runner over the app's engine (a replica has one; tests make two)."""
    from services.common.jobs import JobRunner
    from services.supervision.models import jobs as job_tables

    settings = state.settings
    storage = storage_of(state)
    runner = JobRunner(state.engine, job_tables, storage=storage, worker_id=worker_id)

    def thumbnail(ctx: Any) -> dict[str, Any]:
        from services.supervision.photos import make_thumbnail

        key = make_thumbnail(ctx.engine, storage, int(ctx.payload["photo"]), settings.thumbnail_px)
        return {"thumb_key": key}

    def report(ctx: Any) -> dict[str, Any]:
        from services.supervision.reports.service import build_report

        return build_report(ctx.engine, storage, settings, int(ctx.payload["report"]), progress=ctx.progress)

    def rectification_daily(ctx: Any) -> None:
        from services.supervision.rectification.escalation import daily

        daily(ctx.engine, settings, calendar_of(state), ctx.now.astimezone(_shanghai()).date())

    runner.register("thumbnail", thumbnail, retries=2)
    runner.register("report", report, retries=1, timeout_s=600)
    runner.every("rectification-daily", rectification_daily, daily_at=settings.reminders_at)
    return runner


def _shanghai() -> Any:
    from services.common.clock import SHANGHAI

    return SHANGHAI


def enqueue_thumbnail(session: Session | Connection, state: Any, photo_row_id: int) -> None:
    """Called once per photo row, in the transaction that inserts it: a plain insert (no dedupe key,
    which cost an upsert and a look-up per photo; the job itself skips a photo that has one)."""
    runner = runner_of(state)
    runner.enqueue(session, "thumbnail", {"photo": photo_row_id})


def enqueue_report(session: Session, state: Any, report_id: int) -> str:
    return str(runner_of(state).enqueue(session, "report", {"report": report_id}))
