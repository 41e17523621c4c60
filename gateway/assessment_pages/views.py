"""The service's answers shaped for the templates: one place that knows the field names of the
assessment API (tasks, revisions, files, events, quarters), so the pages read plain dicts."""

from __future__ import annotations

from typing import Any

from gateway.assessment_pages.common import (
    EVENT_LABELS,
    QUARTER_STATES,
    TASK_STATES,
    days_to,
    due_words,
    fmt_points,
    state_label,
    state_view,
)

INLINE_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def quarter_of(task: dict[str, Any]) -> str:
    return str(task.get("quarter") or task.get("quarter_id") or "")


def task_row(task: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One task for a list or the queue."""
    state = str(task.get("state", ""))
    overdue = bool(task.get("overdue"))
    unit = str(task.get("unit_code", ""))
    due = task.get("due_date")
    return {
        "id": task.get("id"),
        "quarter": quarter_of(task),
        "item_code": task.get("item_code", ""),
        "item_name": task.get("item_name") or task.get("item_code", ""),
        "category": task.get("category", ""),
        "asked": task.get("evidence_title") or task.get("evidence") or task.get("item_name") or "",
        "unit_code": unit,
        "unit_name": task.get("unit_name") or names.get(unit, unit),
        **state_view(TASK_STATES, state),
        "due_date": due or "",
        "due_words": due_words(due, overdue, state),
        "days_left": days_to(due),
        "overdue": overdue,
        "points": fmt_points(task.get("points")),
        "revision": task.get("revision") or 0,
        "submitted_at": task.get("last_submitted_at") or task.get("submitted_at"),
        "due_warning": task.get("due_warning"),
        "lead": task.get("lead", True),
        "kinds": task.get("accepted_kinds") or task.get("kinds") or [],
        "frequency": task.get("frequency"),
    }


def file_view(f: dict[str, Any]) -> dict[str, Any]:
    ctype = str(f.get("content_type", ""))
    fid = f.get("id")
    if ctype == "application/pdf":
        show = "pdf"
    elif ctype in INLINE_IMAGE_TYPES:
        show = "image"
    else:
        show = "download"
    size = int(f.get("size") or 0)
    return {
        "id": fid,
        "name": f.get("name") or f.get("original_name") or f"文件 {fid}",
        "content_type": ctype,
        "size": f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(size, 1) // 1024 or 1} KB",
        "sha256": f.get("sha256", ""),
        "show": show,
        "href": f"/assessment/files/{fid}",
        "download": f"/assessment/files/{fid}?download=1",
    }


def revision_view(rev: dict[str, Any], reviews: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One revision with its files and the review it got (from the history: the approve or
    return event that names this revision)."""
    review = reviews.get(int(rev.get("revision") or 0), {})
    return {
        "revision": rev.get("revision") or rev.get("version"),
        "effective_date": rev.get("effective_date", ""),
        "note": rev.get("note") or "",
        "submitted_at": rev.get("submitted_at"),
        "submitted_by": rev.get("submitted_by_name") or rev.get("submitted_by") or "",
        "system": bool(rev.get("system")),
        "files": [file_view(f) for f in rev.get("files", [])],
        "decision": review.get("action"),
        "reason": review.get("reason") or "",
        "reviewer": review.get("actor") or "",
        "reviewed_at": review.get("at"),
    }


def event_view(ev: dict[str, Any]) -> dict[str, Any]:
    action = str(ev.get("action", ""))
    return {
        "at": ev.get("at"),
        "action": action,
        "label": EVENT_LABELS.get(action, action),
        "actor": ev.get("actor_name") or ev.get("actor") or "",
        "reason": ev.get("reason") or "",
        "to_state": state_label(str(ev["to_state"])) if ev.get("to_state") else "",
    }


def task_detail(task: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The task page: the row, what is asked, its revisions (newest first) and history."""
    row = task_row(task, names)
    history = task.get("history") or []
    reviews: dict[int, dict[str, Any]] = {}
    for e in history:  # the latest decision on each revision wins (a reopen undoes an approval)
        revision = (e.get("data") or {}).get("revision")
        if e.get("action") in ("approve", "return", "reopen") and revision is not None:
            reviews[int(revision)] = e
    revisions = [revision_view(r, reviews) for r in task.get("revisions") or []]
    revisions.sort(key=lambda r: r["revision"] or 0, reverse=True)
    events = [event_view(e) for e in reversed(history)]
    return {
        **row,
        "rules": task.get("rules") or [],
        "revisions": revisions,
        "events": events,
        "quarter_state": task.get("quarter_state"),
    }


def quarter_view(q: dict[str, Any]) -> dict[str, Any]:
    return {**q, "id": q.get("id"), **state_view(QUARTER_STATES, str(q.get("state", "")))}


def current_quarter(quarters: list[dict[str, Any]], wanted: str | None = None) -> str | None:
    """The quarter a page shows: the one asked for, else the newest still open, else the newest."""
    ids = [str(q.get("id")) for q in quarters]
    if wanted and wanted in ids:
        return wanted
    open_ids = sorted((str(q.get("id")) for q in quarters if q.get("state") != "locked"), reverse=True)
    if open_ids:
        return open_ids[0]
    return max(ids) if ids else None
