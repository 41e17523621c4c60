"""Schedules of the job runner: a schedule is data (one ``job_schedule`` row: name, cadence, next run),
and ``tick`` runs each due slot once across replicas. See ``services.common.jobs`` for the whole API.

Cadence: ``interval:<seconds>`` or ``daily:HH:MM`` (Asia/Shanghai time). A slot is taken with a
conditional ``UPDATE job_schedule SET next_run_at = <next> WHERE name = ? AND next_run_at = <slot>``:
of two runners that wake together exactly one changes the row, and only that one runs the slot.
Missed slots (the service was down) run once, not once each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from services.common import clock

if TYPE_CHECKING:
    from services.common.jobs import JobRunner

log = logging.getLogger(__name__)


def dialect_insert(conn: Connection | Session) -> Any:
    """``INSERT ... ON CONFLICT`` of the connection's dialect (PostgreSQL or SQLite)."""
    name = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


@dataclass
class Schedule:
    fn: Callable[[ScheduleContext], None]
    cadence: str


@dataclass
class ScheduleContext:
    name: str
    now: datetime
    due_at: datetime  # the slot being run: the idempotency key for "once a day"
    engine: Engine
    runner: JobRunner


def parse_cadence(interval: timedelta | None, daily_at: str | None) -> str:
    if (interval is None) == (daily_at is None):
        raise ValueError("give exactly one of interval= or daily_at=")
    if interval is not None:
        seconds = int(interval.total_seconds())
        if seconds <= 0:
            raise ValueError("interval must be positive")
        return f"interval:{seconds}"
    assert daily_at is not None
    hh, _, mm = daily_at.partition(":")
    if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
        raise ValueError(f"daily_at must be HH:MM, got {daily_at!r}")
    return f"daily:{int(hh):02d}:{int(mm):02d}"


def next_slot(cadence: str, after: datetime, *, previous: datetime | None = None) -> datetime:
    """The first slot of ``cadence`` strictly after ``after`` (intervals keep ``previous``'s phase)."""
    after = clock.as_utc(after)
    kind, _, spec = cadence.partition(":")
    if kind == "interval":
        step = timedelta(seconds=int(spec))
        if previous is None:
            return after + step
        previous = clock.as_utc(previous)
        if previous > after:
            return previous
        return previous + step * ((after - previous) // step + 1)
    hh, mm = (int(x) for x in spec.split(":"))
    local = after.astimezone(clock.SHANGHAI)
    slot = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if slot <= local:
        slot += timedelta(days=1)
    return slot.astimezone(after.tzinfo)


def _first_slot(cadence: str, now: datetime) -> datetime:
    """Where a new schedule starts: a daily slot at or after now, an interval one step ahead."""
    if cadence.startswith("daily:"):
        return next_slot(cadence, now - timedelta(microseconds=1))
    return next_slot(cadence, now)


def tick(self: JobRunner) -> list[str]:
    """Run every due schedule whose slot this runner wins; the names it ran."""
    if not self.schedules:
        return []
    s = self.schedule_t.c
    now = clock.now()
    with self.reader.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(self.schedule_t)).all()}
    missing = [name for name in self.schedules if name not in rows]
    if missing:
        with self.engine.begin() as conn:
            for name in missing:
                cadence = self.schedules[name].cadence
                conn.execute(
                    dialect_insert(conn)(self.schedule_t)
                    .values(name=name, cadence=cadence, next_run_at=_first_slot(cadence, now))
                    .on_conflict_do_nothing(index_elements=["name"])
                )
        with self.reader.connect() as conn:
            rows = {r.name: r for r in conn.execute(select(self.schedule_t)).all()}
    ran: list[str] = []
    for name, schedule in self.schedules.items():
        row = rows[name]
        slot = clock.as_utc(row.next_run_at)
        if row.cadence != schedule.cadence:  # the code changed the cadence: start over from now
            with self.engine.begin() as conn:
                conn.execute(
                    update(self.schedule_t)
                    .where(s.name == name, s.cadence == row.cadence)
                    .values(cadence=schedule.cadence, next_run_at=_first_slot(schedule.cadence, now))
                )
            continue
        if slot > now:
            continue
        following = next_slot(schedule.cadence, now, previous=slot)
        with self.engine.begin() as conn:
            won = conn.execute(
                update(self.schedule_t)
                .where(s.name == name, s.next_run_at == row.next_run_at)
                .values(next_run_at=following, last_due_at=slot)
            ).rowcount
        if not won:
            continue
        error: str | None = None
        try:
            schedule.fn(ScheduleContext(name, now, slot, self.engine, self))
        except Exception as exc:
            log.exception("schedule %s (slot %s) failed", name, slot)
            error = f"{type(exc).__name__}: {exc}"
        with self.engine.begin() as conn:
            conn.execute(
                update(self.schedule_t).where(s.name == name).values(last_run_at=clock.now(), last_error=error)
            )
        ran.append(name)
    return ran
