"""Reminders across the 2026 National Day holiday with a settable clock; two runners never remind twice."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from services.assessment import quarters
from services.assessment.config import Settings
from services.assessment.models import Task, TaskEvent, outbox
from services.assessment.reminders import run_reminders
from services.common import clock
from services.common.db import make_engine, session_scope
from tests.assessment.conftest import ChinaCalendar, caller


def _due_item(engine: Engine, quarter: str, item: str, due: date) -> int:
    with session_scope(engine) as session:
        quarters.set_item_due(session, caller("office"), ChinaCalendar(), quarter, item, due)
        task = session.execute(select(Task).where(Task.quarter_id == quarter, Task.item_code == item)).scalars().one()
        assert task.id is not None
        return task.id


def _notes(engine: Engine, task_id: int) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id))
        ).scalars()
        return [
            (r.at.date().isoformat(), (r.data or {}).get("kind") or r.action)
            for r in rows
            if r.actor == "system:reminders"
        ]


def test_schedule_across_national_day(engine: Engine, quarter: str, settings: Settings) -> None:
    task_id = _due_item(engine, quarter, "2.2", date(2026, 10, 13))  # Tuesday after the 10-01..10-07 holiday
    calendar = ChinaCalendar()
    day = date(2026, 9, 18)
    while day <= date(2026, 10, 20):
        clock.set_now(datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC))  # 08:30 in Nanchang
        run_reminders(engine, calendar, settings)
        run_reminders(engine, calendar, settings)  # the same schedule twice on one day changes nothing
        day += timedelta(days=1)
    assert _notes(engine, task_id) == [
        ("2026-09-28", "before_7"),  # 7 working days: 09-29, 09-30, 10-08, 10-09, 10-10 (调休), 10-12, 10-13
        ("2026-10-09", "before_3"),
        ("2026-10-12", "before_1"),
        ("2026-10-13", "due"),
        ("2026-10-14", "overdue"),
        ("2026-10-15", "overdue"),
        ("2026-10-16", "escalate"),  # 3 working days overdue
        ("2026-10-16", "overdue"),
        ("2026-10-19", "overdue"),
        ("2026-10-20", "overdue"),
    ]
    with session_scope(engine) as session:
        types = [e.type for e in outbox.page(session, 0, 1000).items if e.subject == str(task_id)]
    assert types.count("sortline.assessment.task.reminded") == 4
    assert types.count("sortline.assessment.task.overdue") == 5
    assert types.count("sortline.assessment.task.escalated") == 1


def test_no_double_reminder_with_two_runners(engine: Engine, quarter: str, settings: Settings) -> None:
    task_id = _due_item(engine, quarter, "2.2", date(2026, 10, 13))
    clock.set_now(datetime(2026, 10, 12, 0, 30, tzinfo=UTC))
    other = make_engine(str(engine.url))
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(2)

    def run(e: Engine) -> None:
        barrier.wait()
        results.append(run_reminders(e, ChinaCalendar(), settings))

    threads = [threading.Thread(target=run, args=(e,)) for e in (engine, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.dispose()
    assert sorted(r["reminded"] for r in results) == [0, 1]
    assert _notes(engine, task_id) == [("2026-10-12", "before_1")]


def test_approved_and_submitted_tasks_are_not_chased(engine: Engine, quarter: str, settings: Settings) -> None:
    task_id = _due_item(engine, quarter, "2.2", date(2026, 10, 13))
    with session_scope(engine) as session:
        task = session.get(Task, task_id)
        assert task is not None
        task.state = "submitted"
    clock.set_now(datetime(2026, 10, 20, 0, 30, tzinfo=UTC))
    assert run_reminders(engine, ChinaCalendar(), settings) == {"reminded": 0, "overdue": 0, "escalated": 0}
    clock.set_now(datetime(2026, 10, 3, 0, 30, tzinfo=UTC))  # a holiday: nothing at all
    assert run_reminders(engine, ChinaCalendar(), settings)["reminded"] == 0


def test_daily_schedule_on_two_job_runners(engine: Engine, quarter: str, settings: Settings) -> None:
    """The kernel's schedules: two runners (two replicas) tick at 08:31 the same day; one reminder."""
    jobs = pytest.importorskip("services.common.jobs")
    from services.assessment import models, reminders

    task_id = _due_item(engine, quarter, "2.2", date(2026, 10, 13))
    runners = []
    for _ in range(2):
        runner = jobs.JobRunner(engine, models.jobs)
        reminders.schedule(runner, engine, settings, ChinaCalendar)
        runners.append(runner)
    clock.set_now(datetime(2026, 10, 12, 0, 0, tzinfo=UTC))  # 08:00: the schedule is registered, not due
    assert [r.tick() for r in runners] == [[], []]
    clock.set_now(datetime(2026, 10, 12, 0, 31, tzinfo=UTC))  # 08:31 in Nanchang
    assert sorted(len(r.tick()) for r in runners) == [0, 1]
    clock.set_now(datetime(2026, 10, 12, 3, 0, tzinfo=UTC))
    for runner in runners:
        runner.tick()
    assert _notes(engine, task_id) == [("2026-10-12", "before_1")]
