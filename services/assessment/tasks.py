"""Tasks: lists in scope, detail with revisions and history, evidence submissions, review, files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any, Unpack

from sqlmodel import Session

from services.assessment import errors, quarters, repository
from services.assessment.models import EvidenceFile, Submission, Task
from services.assessment.ports import CalendarPort
from services.assessment.workflow import STATE_LABELS, apply, can_see, is_overdue, record
from services.common import clock
from services.common.auth import Caller
from services.common.columns import values_of
from services.common.errors import ErrorDetail, InvalidInput
from services.common.pagination import clamp_limit
from services.common.storage import StoredFile

KIND_TYPES = {
    "pdf": {"application/pdf"},
    "image": {"image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/heif"},
    "office": {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/x-ole-storage",
    },
    "ofd": {"application/ofd"},
}
KIND_LABELS = {"pdf": "PDF", "image": "图片", "office": "Office 文档", "ofd": "OFD"}


def task_public(task: Task, today: date | None = None) -> dict[str, Any]:
    today = today or clock.today()
    overdue = is_overdue(task, today)
    return {
        "id": task.id,
        "quarter": task.quarter_id,
        "item_code": task.item_code,
        "category": task.category,
        "evidence_code": task.evidence_code,
        "evidence_title": task.evidence_title,
        "unit_code": task.unit_code,
        "county_code": task.county_code,
        "lead": task.lead,
        "state": task.state,
        "state_label": STATE_LABELS[task.state],
        "due_date": task.due_date,
        "due_warning": task.due_warning,
        "overdue": overdue,
        "days_to_due": (task.due_date - today).days,
        "points": task.points,
        "revision": task.revision,
        "last_submitted_at": task.last_submitted_at,
        "approved_at": task.approved_at,
        "returned_count": task.returned_count,
        "reviewer_name": task.reviewer_name,
    }


def list_tasks(
    session: Session,
    caller: Caller,
    *,
    cursor: str | None = None,
    limit: int = 50,
    **filters: Unpack[repository.TaskFilters],
) -> dict[str, Any]:
    limit = clamp_limit(limit)
    after: int | None = None
    if cursor:
        try:
            after = int(cursor)
        except ValueError as exc:
            raise InvalidInput.field("cursor", "游标无效，请从第一页重新开始", cursor) from exc
    today = clock.today()
    rows = repository.tasks_page(session, caller, today=today, after_id=after, limit=limit, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [task_public(t, today) for t in rows], "next_cursor": str(rows[-1].id) if more and rows else None}


def get_task(session: Session, caller: Caller, task_id: int, *, for_update: bool = False) -> Task:
    task = repository.task_for_update(session, task_id) if for_update else repository.row(session, Task, task_id)
    if task is None or not can_see(caller, task):
        raise errors.task_not_found(task_id)
    return task


def file_public(f: EvidenceFile) -> dict[str, Any]:
    return (
        {"id": f.id, "name": f.original_name}
        | values_of(f, "size", "content_type", "sha256", "uploaded_at")
        | {"url": f"/files/{f.id}"}
    )


def revisions(session: Session, task_id: int) -> list[dict[str, Any]]:
    subs = repository.submissions(session, task_id)
    files = repository.files_of_submissions(session, [s.id for s in subs if s.id is not None])
    by_sub: dict[int, list[dict[str, Any]]] = {}
    for f in files:
        by_sub.setdefault(f.submission_id, []).append(file_public(f))
    return [submission_public(s, by_sub.get(s.id or 0, [])) for s in subs]


def submission_public(s: Submission, files: list[dict[str, Any]]) -> dict[str, Any]:
    return values_of(s, "id", "task_id", "revision", "effective_date", "note") | {
        "submitted_by": s.submitted_by_name or s.submitted_by,
        "submitted_at": s.submitted_at,
        "system": s.system,
        "files": files,
    }


def detail(session: Session, caller: Caller, task_id: int) -> dict[str, Any]:
    task = get_task(session, caller, task_id)
    quarter = quarters.get(session, task.quarter_id)
    item = repository.catalogue_item(session, quarter.catalogue_id, task.item_code)
    evidence = next((e for e in (item.evidence if item else []) if e["code"] == task.evidence_code), None)
    history = [
        {
            "at": e.at,
            "actor": e.actor_name or e.actor,
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "reason": e.reason,
            "data": e.data,
        }
        for e in repository.task_events(session, task_id)
    ]
    return task_public(task) | {
        "item_name": item.name if item else None,
        "item_points": item.points if item else None,
        "data_source": item.data_source if item else "manual",
        "rules": item.rules if item else [],
        "evidence": evidence,
        "accepted_kinds": [KIND_LABELS[k] for k in (evidence or {}).get("kinds", [])],
        "quarter_state": quarter.state,
        "revisions": revisions(session, task_id),
        "history": history,
    }


def check_files(task_kinds: Sequence[str], files: Sequence[StoredFile]) -> None:
    """Each file's type (sniffed from its content) must be one the evidence accepts."""
    labels = "、".join(KIND_LABELS.get(k, k) for k in task_kinds)
    allowed = set().union(*(KIND_TYPES.get(k, set()) for k in task_kinds)) if task_kinds else set()
    problems = [
        ErrorDetail(
            field="files",
            message=f"“{f.original_name}”的内容不是可接受的类型（{labels}）",
            value=f.original_name,
        )
        for f in files
        if f.content_type not in allowed
    ]
    if problems:
        error = InvalidInput.of_details(problems)
        error.code = "file_type_refused"
        raise error


def submit(
    session: Session,
    caller: Caller,
    task_id: int,
    files: Sequence[StoredFile],
    *,
    effective_date: date,
    note: str | None,
    max_files: int = 10,
    system: bool = False,
) -> dict[str, Any]:
    """A new revision with 1-10 files; the task becomes 已提交."""
    task = get_task(session, caller, task_id, for_update=True)
    quarter = quarters.get(session, task.quarter_id)
    if not 1 <= len(files) <= max_files:
        raise InvalidInput.field("files", f"每次提交 1 到 {max_files} 个文件", len(files))
    item = repository.catalogue_item(session, quarter.catalogue_id, task.item_code)
    kinds: list[str] = next(
        (e.get("kinds", []) for e in (item.evidence if item else []) if e["code"] == task.evidence_code), []
    )
    check_files(kinds or list(KIND_TYPES), files)
    now = clock.now()
    task.revision += 1
    apply(session, caller, task, quarter, "submit", data={"revision": task.revision, "files": len(files)})
    sub = Submission(
        task_id=task_id,
        revision=task.revision,
        effective_date=effective_date,
        note=(note or "").strip() or None,
        submitted_by=caller.sub,
        submitted_by_name=caller.name,
        submitted_at=now,
        system=system,
    )
    session.add(sub)
    session.flush()
    assert sub.id is not None
    rows = [
        EvidenceFile(
            submission_id=sub.id,
            task_id=task_id,
            unit_code=task.unit_code,
            **asdict(f),  # the StoredFile: key, sha256, size, content_type, original_name
            uploaded_at=now,
        )
        for f in files
    ]
    session.add_all(rows)
    session.flush()
    return submission_public(sub, [file_public(r) for r in rows]) | {"task": task_public(task)}


def review(session: Session, caller: Caller, task_id: int, decision: str, reason: str | None) -> dict[str, Any]:
    task = get_task(session, caller, task_id, for_update=True)
    quarter = quarters.get(session, task.quarter_id)
    action = {"approve": "approve", "return": "return", "reopen": "reopen"}.get(decision)
    if action is None:
        raise InvalidInput.field("decision", "应为 approve（通过）、return（退回）或 reopen（重新打开）", decision)
    apply(session, caller, task, quarter, action, reason=reason, data={"revision": task.revision})  # type: ignore[arg-type]
    return task_public(task)


def queue(
    session: Session, caller: Caller, *, quarter: str | None, unit: str | None, category: str | None, limit: int
) -> dict[str, Any]:
    """The office's review queue: oldest submission first."""
    if not caller.is_city_wide:
        raise errors.not_allowed("查看审核队列")
    rows = repository.review_queue(session, quarter=quarter, unit=unit, category=category, limit=clamp_limit(limit))
    today = clock.today()
    return {"items": [task_public(t, today) for t in rows]}


def set_due(session: Session, caller: Caller, calendar: CalendarPort, task_id: int, due: date) -> dict[str, Any]:
    if caller.role not in ("admin", "office"):
        raise errors.not_allowed("修改截止日期")
    task = get_task(session, caller, task_id, for_update=True)
    quarter = quarters.get(session, task.quarter_id)
    if quarter.state == "locked":
        raise errors.quarter_locked(quarter.id)
    old = task.due_date
    task.due_date, task.due_warning, task.updated_at = due, quarters.due_warning(calendar, due), clock.now()
    session.add(task)
    record(
        session,
        task,
        caller.sub,
        caller.name,
        "set_due",
        task.state,
        task.state,
        None,
        {"from": old.isoformat(), "to": due.isoformat()},
        verb="due_changed",
    )
    return task_public(task)


def file_for(session: Session, caller: Caller, file_id: int) -> EvidenceFile:
    f = repository.file_in_scope(session, caller, file_id)
    if f is None:
        raise errors.file_not_found(file_id)
    return f
