"""Every query of the assessment service."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, TypedDict, TypeVar, Unpack

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as columns
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.assessment.models import (
    Archive,
    AssessmentTable,
    Catalogue,
    CatalogueItem,
    EvidenceFile,
    NationalResult,
    Quarter,
    QuarterItem,
    ReminderLog,
    Submission,
    Task,
    TaskEvent,
    UnitAlias,
    UnitRating,
    outbox,
)
from services.common.auth import Caller

Row = TypeVar("Row", bound=AssessmentTable)


def row(session: Session, model: type[Row], key: object) -> Row | None:
    """One row by its primary key (from the session's identity map when it is loaded already)."""
    return session.get(model, key)


def found(session: Session, model: type[Row], key: Any, missing: Callable[[Any], Exception]) -> Row:
    """One row by its primary key; ``missing(key)`` is raised when there is none."""
    got = session.get(model, key)
    if got is None:
        raise missing(key)
    return got


def data_version(session: Session) -> int:
    """The newest outbox sequence number (0 before any event)."""
    return int(session.connection().execute(columns(func.max(outbox.table.c.seq))).scalar() or 0)


def catalogues(session: Session) -> Sequence[Catalogue]:
    return session.exec(select(Catalogue).order_by(col(Catalogue.name), col(Catalogue.version).desc())).all()


def catalogue_items(session: Session, catalogue_id: int) -> Sequence[CatalogueItem]:
    return session.exec(
        select(CatalogueItem).where(CatalogueItem.catalogue_id == catalogue_id).order_by(col(CatalogueItem.position))
    ).all()


def catalogue_item(session: Session, catalogue_id: int, code: str) -> CatalogueItem | None:
    return session.exec(
        select(CatalogueItem).where(CatalogueItem.catalogue_id == catalogue_id, CatalogueItem.code == code)
    ).first()


def latest_version(session: Session, name: str) -> int:
    return int(session.exec(select(func.max(Catalogue.version)).where(Catalogue.name == name)).one() or 0)


def aliases(session: Session) -> dict[str, str]:
    return {a.alias: a.unit_code for a in session.exec(select(UnitAlias)).all()}


def quarters(session: Session) -> Sequence[Quarter]:
    return session.exec(select(Quarter).order_by(col(Quarter.id).desc())).all()


def quarter_ids(session: Session, prefix: str) -> list[str]:
    """The quarters whose id starts with ``prefix`` (a year's), in order."""
    return sorted(session.exec(select(Quarter.id).where(col(Quarter.id).startswith(prefix))).all())


def quarter_items(session: Session, quarter_id: str) -> dict[str, QuarterItem]:
    rows = session.exec(select(QuarterItem).where(QuarterItem.quarter_id == quarter_id)).all()
    return {r.item_code: r for r in rows}


def scope_clause(caller: Caller) -> Any:
    """Which tasks a caller may see: a unit its own, a county its county's, the city roles all."""
    if caller.role == "unit":
        return Task.unit_code == (caller.unit_code or "-")
    if caller.role == "county":
        return Task.county_code == (caller.county_code or "-")
    return bool(caller.is_city_wide)


# The task lists' optional filters: each one given keeps the tasks with that value in its column.
_TASK_FILTERS: dict[str, Any] = {
    "quarter": Task.quarter_id,
    "unit": Task.unit_code,
    "state": Task.state,
    "category": Task.category,
    "item": Task.item_code,
}


def _narrowed(query: SelectOfScalar[Task], given: Mapping[str, object]) -> SelectOfScalar[Task]:
    for name, column in _TASK_FILTERS.items():
        value = given.get(name)
        if value:
            query = query.where(col(column) == value)
    return query


class TaskFilters(TypedDict, total=False):
    """``GET /tasks``' filters as the service and the repository pass them on (``None``: not given)."""

    quarter: str | None
    unit: str | None
    state: str | None
    category: str | None
    item: str | None
    overdue: bool | None


def tasks_page(
    session: Session,
    caller: Caller,
    *,
    today: date,
    after_id: int | None,
    limit: int,
    **filters: Unpack[TaskFilters],
) -> Sequence[Task]:
    query = select(Task).where(scope_clause(caller))
    query = _narrowed(query, filters)
    overdue = filters.get("overdue")
    if overdue is True:
        query = query.where(Task.state != "approved", Task.due_date < today)
    elif overdue is False:
        query = query.where(or_(col(Task.state) == "approved", col(Task.due_date) >= today))
    if after_id is not None:
        query = query.where(col(Task.id) > after_id)
    return session.exec(query.order_by(col(Task.id)).limit(limit + 1)).all()


def quarter_tasks(session: Session, quarter_id: str, caller: Caller | None = None) -> Sequence[Task]:
    query = select(Task).where(Task.quarter_id == quarter_id)
    if caller is not None:
        query = query.where(scope_clause(caller))
    return session.exec(query.order_by(col(Task.id))).all()


def board_counts(session: Session, quarter_id: str, caller: Caller, today: date) -> Sequence[Any]:
    """The board's cells in one pass (an index covers it): per (unit, category) the tasks, how many
    are approved, submitted and overdue, and the first task's id (categories are listed in that
    order). Core rows, not ORM objects."""
    approved = col(Task.state) == "approved"
    query = (
        columns(
            col(Task.unit_code),
            col(Task.category),
            func.count().label("total"),
            func.sum(case((approved, 1), else_=0)).label("approved"),
            func.sum(case((col(Task.state) == "submitted", 1), else_=0)).label("submitted"),
            func.sum(case((and_(~approved, col(Task.due_date) < today), 1), else_=0)).label("overdue"),
            func.min(col(Task.id)).label("first_id"),
        )
        .where(col(Task.quarter_id) == quarter_id, scope_clause(caller))
        .group_by(col(Task.unit_code), col(Task.category))
    )
    return session.connection().execute(query).all()


def item_unit_counts(session: Session, quarter_id: str) -> Sequence[Any]:
    """Per (item, unit, state) the number of tasks (what the forecast shares the points over)."""
    query = (
        columns(col(Task.item_code), col(Task.unit_code), col(Task.state), func.count().label("n"))
        .where(col(Task.quarter_id) == quarter_id)
        .group_by(col(Task.item_code), col(Task.unit_code), col(Task.state))
    )
    return session.connection().execute(query).all()


def open_tasks_by_due(
    session: Session, quarter_id: str, item_codes: Sequence[str], exclude_states: Sequence[str], limit: int
) -> Sequence[Any]:
    """The first ``limit`` tasks of these items not in ``exclude_states``, by due date then id (only
    the columns a risk line needs)."""
    query = (
        columns(col(Task.id), col(Task.item_code), col(Task.unit_code), col(Task.state), col(Task.due_date))
        .where(
            col(Task.quarter_id) == quarter_id,
            col(Task.item_code).in_(list(item_codes)),
            col(Task.state).not_in(list(exclude_states)),
        )
        .order_by(col(Task.due_date), col(Task.id))
        .limit(limit)
    )
    return session.connection().execute(query).all()


def scoring_items(session: Session, catalogue_id: int) -> Sequence[Any]:
    """A catalogue's items in order with only what scoring reads (no evidence, no units)."""
    query = (
        columns(
            col(CatalogueItem.code),
            col(CatalogueItem.name),
            col(CatalogueItem.category),
            col(CatalogueItem.points),
            col(CatalogueItem.rules),
            col(CatalogueItem.data_source),
        )
        .where(col(CatalogueItem.catalogue_id) == catalogue_id)
        .order_by(col(CatalogueItem.position))
    )
    return session.connection().execute(query).all()


def review_queue(
    session: Session, *, quarter: str | None, unit: str | None, category: str | None, limit: int
) -> Sequence[Any]:
    """The submitted tasks, oldest submission first: core rows with the task's columns (read by
    attribute like a Task, without the ORM's cost per row)."""
    table: Any = Task.__table__  # type: ignore[attr-defined]
    query = table.select().where(table.c.state == "submitted")
    for name, value in (("quarter_id", quarter), ("unit_code", unit), ("category", category)):
        if value:
            query = query.where(table.c[name] == value)
    query = query.order_by(table.c.last_submitted_at, table.c.id).limit(limit)
    return session.connection().execute(query).all()


def task_for_update(session: Session, task_id: int) -> Task | None:
    return session.exec(select(Task).where(Task.id == task_id).with_for_update()).first()


def submissions(session: Session, task_id: int) -> Sequence[Submission]:
    return session.exec(
        select(Submission).where(Submission.task_id == task_id).order_by(col(Submission.revision).desc())
    ).all()


def files_of_submissions(session: Session, submission_ids: Sequence[int]) -> Sequence[EvidenceFile]:
    if not submission_ids:
        return []
    return session.exec(
        select(EvidenceFile).where(col(EvidenceFile.submission_id).in_(submission_ids)).order_by(col(EvidenceFile.id))
    ).all()


def task_events(session: Session, task_id: int) -> Sequence[TaskEvent]:
    return session.exec(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(col(TaskEvent.id))).all()


def file_in_scope(session: Session, caller: Caller, file_id: int) -> EvidenceFile | None:
    query = (
        select(EvidenceFile)
        .join(Task, and_(col(Task.id) == EvidenceFile.task_id))
        .where(EvidenceFile.id == file_id, scope_clause(caller))
    )
    return session.exec(query).first()


def latest_files(session: Session, quarter_id: str) -> Sequence[tuple[Task, Submission, EvidenceFile]]:
    """The files of each task's latest revision (for the archive), in item and unit order."""
    latest = (
        select(Submission.task_id, func.max(Submission.revision).label("rev"))
        .group_by(col(Submission.task_id))
        .subquery()
    )
    query = (
        select(Task, Submission, EvidenceFile)
        .join(Submission, col(Submission.task_id) == Task.id)
        .join(latest, and_(latest.c.task_id == Submission.task_id, latest.c.rev == Submission.revision))
        .join(EvidenceFile, col(EvidenceFile.submission_id) == Submission.id)
        .where(Task.quarter_id == quarter_id)
        .order_by(col(Task.item_code), col(Task.unit_code), col(Task.evidence_code), col(EvidenceFile.id))
    )
    return [(t, s, f) for t, s, f in session.exec(query).all()]


def national_results(session: Session) -> Sequence[NationalResult]:
    return session.exec(select(NationalResult).order_by(col(NationalResult.quarter_id))).all()


def ratings(session: Session, period: str) -> dict[str, UnitRating]:
    return {r.unit_code: r for r in session.exec(select(UnitRating).where(UnitRating.period == period)).all()}


def tasks_of_periods(session: Session, quarter_ids: Sequence[str]) -> Sequence[Task]:
    return session.exec(select(Task).where(col(Task.quarter_id).in_(list(quarter_ids)))).all()


def first_reviews(session: Session, task_ids: Sequence[int]) -> dict[int, str]:
    """Each task's first review decision (approve/return)."""
    if not task_ids:
        return {}
    rows = session.exec(
        select(TaskEvent.task_id, TaskEvent.action)
        .where(col(TaskEvent.task_id).in_(list(task_ids)), col(TaskEvent.action).in_(["approve", "return"]))
        .order_by(col(TaskEvent.id))
    ).all()
    out: dict[int, str] = {}
    for task_id, action in rows:
        out.setdefault(task_id, action)
    return out


def unfinished_tasks_of_open_quarters(session: Session) -> Sequence[Task]:
    """The tasks not approved yet of the quarters not locked, by unit then id (what reminders walk)."""
    open_quarters = select(Quarter.id).where(Quarter.state != "locked")
    return session.exec(
        select(Task)
        .where(col(Task.quarter_id).in_(open_quarters), Task.state != "approved")
        .order_by(col(Task.unit_code), col(Task.id))
    ).all()


def reminder_sent(session: Session, subject: str, kind: str, day: date) -> bool:
    sent = (ReminderLog.subject == subject, ReminderLog.kind == kind, ReminderLog.day == day)
    return session.exec(select(ReminderLog.id).where(*sent)).first() is not None


def latest_archive(session: Session, quarter_id: str, states: Sequence[str] | None = None) -> Archive | None:
    """The quarter's newest archive row (in one of ``states`` when given)."""
    query = select(Archive).where(Archive.quarter_id == quarter_id)
    if states is not None:
        query = query.where(col(Archive.state).in_(list(states)))
    return session.exec(query.order_by(col(Archive.id).desc())).first()
