"""Reminders on working days: 7, 3 and 1 working days before the due date, on the due date, then a
daily digest per unit of its overdue tasks; escalation once a task is N working days overdue.

Each reminder is claimed by inserting a ``reminder_log`` row whose unique key is (subject, kind,
day): a second runner (another replica, or the same schedule run twice) finds the row and skips, so
nobody is reminded twice for the same thing on one day. Reminders are events on the feed
(``sortline.assessment.task.reminded`` / ``.overdue`` / ``.escalated``) for the OA integration and
rows on the task's history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.assessment import repository
from services.assessment.config import Settings
from services.assessment.models import ReminderLog, Task
from services.assessment.ports import CalendarPort
from services.assessment.workflow import record
from services.common import clock
from services.common.db import session_scope

log = logging.getLogger(__name__)
SYSTEM = "system:reminders"
SYSTEM_NAME = "系统提醒"


def _claim(session: Session, subject: str, kind: str, day: date) -> bool:
    """Insert the log row in a savepoint; False when another run already has it."""
    try:
        with session.begin_nested():
            session.add(ReminderLog(subject=subject, kind=kind, day=day, sent_at=clock.now()))
            session.flush()
    except IntegrityError:
        return False
    return True


def run_reminders(
    engine: Engine, calendar: CalendarPort, settings: Settings, today: date | None = None
) -> dict[str, int]:
    """One daily pass (idempotent per day). Returns how many of each kind were sent now."""
    today = today or clock.today()
    sent = {"reminded": 0, "overdue": 0, "escalated": 0}
    if not calendar.is_workday(today):
        return sent
    with session_scope(engine) as session:
        tasks = repository.unfinished_tasks_of_open_quarters(session)
        overdue_by_unit: dict[str, list[Task]] = {}
        for task in tasks:
            if task.due_date > today:
                if task.state == "submitted":
                    continue  # handed in, waiting for the office: nothing to remind
                left = calendar.workdays_between(today, task.due_date)
                if left in settings.remind_before:
                    kind = f"before_{left}"
                    if not repository.reminder_sent(session, f"task:{task.id}", kind, today) and _claim(
                        session, f"task:{task.id}", kind, today
                    ):
                        _note(session, task, "remind", {"kind": kind, "workdays_left": left}, verb="reminded")
                        sent["reminded"] += 1
            elif task.due_date == today:
                if task.state != "submitted" and _claim(session, f"task:{task.id}", "due", today):
                    _note(session, task, "remind", {"kind": "due", "workdays_left": 0}, verb="reminded")
                    sent["reminded"] += 1
            else:
                if task.state != "submitted":
                    overdue_by_unit.setdefault(task.unit_code, []).append(task)
                late = calendar.workdays_between(task.due_date, today)
                if (
                    late >= settings.escalate_after_workdays
                    and task.state != "submitted"
                    and _claim(session, f"task:{task.id}", "escalated", task.due_date)
                ):
                    data = {"workdays_overdue": late, "to": ["unit_leader", "office"]}
                    _note(session, task, "escalate", data, verb="escalated")
                    sent["escalated"] += 1
        for unit_code, unit_tasks in overdue_by_unit.items():
            if not _claim(session, f"unit:{unit_code}", "overdue", today):
                continue
            ids = [t.id for t in unit_tasks]
            for task in unit_tasks:
                late = calendar.workdays_between(task.due_date, today)
                _note(session, task, "overdue", {"workdays_overdue": late, "digest_tasks": ids}, verb="overdue")
            sent["overdue"] += 1
    return sent


def _note(session: Session, task: Task, action: str, data: dict[str, Any], *, verb: str) -> None:
    record(session, task, SYSTEM, SYSTEM_NAME, action, task.state, task.state, None, data, verb=verb)


def schedule(runner: Any, engine: Engine, settings: Settings, calendar: Callable[[], CalendarPort]) -> None:
    """Register the daily pass on the kernel's job runner (``runner.every``)."""

    def daily(ctx: Any) -> None:
        now = getattr(ctx, "now", None) or clock.now()
        run_reminders(engine, calendar(), settings, clock.local(now).date())

    runner.every("assessment-reminders", daily, daily_at=settings.remind_at)
