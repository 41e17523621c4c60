"""Task states as a table of allowed transitions and who may make them, applied by one function.

    待提交 pending --submit--> 已提交 submitted --approve--> 已通过 approved
                                             \\--return---> 已退回 returned --submit--> submitted ...
    approved --reopen (office, with a reason, until the quarter is locked)--> returned

``apply`` checks the table (a role that may never make the move: 403; a state that does not allow
it: 409; a locked quarter: 409), writes the history row and the outbox event in the caller's
transaction. Overdue is never stored: it is derived (past due and not approved).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlmodel import Session

from services.assessment import errors
from services.assessment.models import Quarter, Task, TaskEvent, outbox
from services.common import clock
from services.common.auth import Caller

State = Literal["pending", "submitted", "approved", "returned"]
Action = Literal["submit", "approve", "return", "reopen"]
Party = Literal["responsible", "office"]

STATE_LABELS = {"pending": "待提交", "submitted": "已提交", "approved": "已通过", "returned": "已退回"}
ACTION_LABELS = {"submit": "提交材料", "approve": "审核通过", "return": "退回", "reopen": "重新打开"}
QUARTER_STATES = {"collecting": "收集中", "reviewing": "审核中", "locked": "已锁定"}
EVENT_VERBS = {"submit": "submitted", "approve": "approved", "return": "returned", "reopen": "reopened"}

# (action, state) -> (new state, parties allowed). Anything not listed is refused.
TRANSITIONS: dict[tuple[Action, State], tuple[State, frozenset[Party]]] = {
    ("submit", "pending"): ("submitted", frozenset({"responsible", "office"})),
    ("submit", "returned"): ("submitted", frozenset({"responsible", "office"})),
    ("submit", "submitted"): ("submitted", frozenset({"responsible", "office"})),  # a newer revision
    ("approve", "submitted"): ("approved", frozenset({"office"})),
    ("return", "submitted"): ("returned", frozenset({"office"})),
    ("reopen", "approved"): ("returned", frozenset({"office"})),
}
NEEDS_REASON: frozenset[Action] = frozenset({"return", "reopen"})


def party_of(caller: Caller, task: Task) -> Party | None:
    """How the caller stands to the task: the office, the responsible unit/county, or neither."""
    if caller.role in ("admin", "office"):
        return "office"
    if caller.role == "unit" and caller.unit_code and caller.unit_code == task.unit_code:
        return "responsible"
    if caller.role == "county" and caller.county_code and caller.county_code == task.county_code:
        return "responsible"
    return None


def can_see(caller: Caller, task: Task) -> bool:
    return caller.is_city_wide or party_of(caller, task) is not None


def allowed(role_party: Party | None, state: str, action: Action) -> State | None:
    rule = TRANSITIONS.get((action, state))  # type: ignore[arg-type]
    if rule is None or role_party is None or role_party not in rule[1]:
        return None
    return rule[0]


def check(caller: Caller, task: Task, quarter: Quarter, action: Action) -> State:
    """The state the action leads to, or the error a caller gets (403 role, 409 state/lock)."""
    party = party_of(caller, task)
    if party is None or not any(party in parties for (a, _), (_, parties) in TRANSITIONS.items() if a == action):
        raise errors.not_allowed(ACTION_LABELS[action])
    if quarter.state == "locked":
        raise errors.quarter_locked(quarter.id)
    new = allowed(party, task.state, action)
    if new is None:
        raise errors.transition_refused(STATE_LABELS.get(task.state, task.state), ACTION_LABELS[action])
    return new


def apply(
    session: Session,
    caller: Caller,
    task: Task,
    quarter: Quarter,
    action: Action,
    *,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Task:
    """Make the move: state, timestamps, history row, outbox event (one transaction, the caller's)."""
    new = check(caller, task, quarter, action)
    reason = (reason or "").strip() or None
    if action in NEEDS_REASON and not reason:
        raise errors.reason_required()
    now = clock.now()
    old = task.state
    task.state = new
    task.updated_at = now
    if action == "submit":
        task.last_submitted_at = now
        task.first_submitted_at = task.first_submitted_at or now
    elif action == "approve":
        task.approved_at = now
        task.reviewer_name = caller.name or caller.sub
        if task.first_pass is None:
            task.first_pass = task.returned_count == 0
    elif action == "return":
        task.returned_count += 1
        task.reviewer_name = caller.name or caller.sub
        if task.first_pass is None:
            task.first_pass = False
    elif action == "reopen":
        task.approved_at = None
    session.add(task)
    record(session, task, caller.sub, caller.name, action, old, new, reason, data)
    return task


def record(
    session: Session,
    task: Task,
    actor: str,
    actor_name: str,
    action: str,
    from_state: str | None,
    to_state: str | None,
    reason: str | None,
    data: dict[str, Any] | None,
    *,
    verb: str | None = None,
) -> None:
    """A history row and its event ``sortline.assessment.task.<verb>``."""
    assert task.id is not None
    session.add(
        TaskEvent(
            task_id=task.id,
            at=clock.now(),
            actor=actor,
            actor_name=actor_name,
            action=action,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            data=data,
        )
    )
    outbox.emit(
        session,
        "task",
        verb or EVENT_VERBS.get(action, action),
        str(task.id),
        {
            "task_id": task.id,
            "title": task.evidence_title,  # what a person reads in the inbox and the OA
            "quarter": task.quarter_id,
            "item_code": task.item_code,
            "unit_code": task.unit_code,
            "state": task.state,
            "due_date": task.due_date.isoformat(),
            "reason": reason,
            **(data or {}),
        },
    )


def is_overdue(task: Task, today: date) -> bool:
    return task.state != "approved" and task.due_date < today
