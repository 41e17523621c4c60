"""The daily pass over rectification orders, run by the kernel's schedule once a day across
replicas: ``...overdue`` once per order that has passed its deadline, and escalation (督办) of an
order that has stayed overdue ``escalate_after_workdays`` working days — a 督办 record, the next
level told, a new deadline in working days. Every update is conditional on the value it read, so
a second runner working the same slot changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from services.common import clock
from services.common.db import session_scope
from services.supervision.config import Settings
from services.supervision.rectification import repository as repo

MAX_LEVEL = 2


def escalation_targets(order: dict[str, Any], level: int) -> list[str]:
    """Who is told at a level: a county's order goes to the city office, a unit's order to the
    office and the unit's leader; the second level goes to the leading group (领导小组)."""
    if level >= 2:
        return ["leading_group"]
    if order["party_kind"] == "unit":
        return ["office", f"unit_leader:{order['party_code']}"]
    return ["office"]


def daily(engine: Engine, settings: Settings, cal: Any, today: date | None = None) -> dict[str, int]:
    """Reminders (``...overdue`` once per order) and escalations (督办), in one transaction."""
    today = today or clock.today()
    counts = {"overdue": 0, "escalated": 0}
    with session_scope(engine) as session:
        for order in repo.due_for_daily(session, today):
            if not order["overdue_notified"] and repo.update_order(
                session, order["id"], {"overdue_notified": True}, where={"overdue_notified": False}
            ):
                counts["overdue"] += 1
                repo.emit_order(
                    session,
                    "overdue",
                    order,
                    deadline=order["deadline"].isoformat(),
                )
            level = order["escalation_level"]
            if level >= MAX_LEVEL or cal.workdays_between(order["deadline"], today) < settings.escalate_after_workdays:
                continue
            new_level = level + 1
            new_deadline = cal.add_workdays(today, settings.deadline_days(order["severity"]))
            targets = escalation_targets(order, new_level)
            changed = repo.update_order(
                session,
                order["id"],
                {
                    "escalation_level": new_level,
                    "escalated_to": targets,
                    "deadline": new_deadline,
                    "overdue_notified": False,
                    "updated_at": clock.now(),
                },
                where={"escalation_level": level},
            )
            if not changed:
                continue
            days = cal.workdays_between(order["deadline"], today)
            repo.insert_escalation(
                session,
                {
                    "rectification_id": order["id"],
                    "level": new_level,
                    "escalated_to": targets,
                    "reason": f"逾期 {days} 个工作日未完成整改，督办",
                    "old_deadline": order["deadline"],
                    "new_deadline": new_deadline,
                    "at": clock.now(),
                },
            )
            counts["escalated"] += 1
            repo.emit_order(
                session,
                "escalated",
                order,
                level=new_level,
                escalated_to=targets,
                new_deadline=new_deadline.isoformat(),
            )
    return counts
