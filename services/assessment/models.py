"""Tables of the assessment service (考核评估).

- ``catalogue`` / ``catalogue_item``: the indicator catalogue (评估细则) as versioned data. A
  published version never changes; editing one makes a new draft. Each item keeps its scoring rules,
  the evidence to hand in and the responsible units as JSON (they are read and written as a whole).
- ``quarter`` / ``quarter_item``: a quarter opened on one published version; per item the due date
  and the office's scoring inputs (cases found, alternative achieved, ...).
- ``task`` (责任清单 rows: one per item evidence x responsible unit), ``submission`` (revisions),
  ``evidence_file`` (the files of each revision), ``task_event`` (history of every change).
- ``reminder_log``: one row per (subject, kind, day); its unique key is what keeps two runners from
  reminding anyone twice on one day.
- ``national_result`` (国检结果), ``unit_rating`` (leaders' qualitative marks), ``archive`` (ZIPs).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.columns import IdKey, json_value, timestamp
from services.common.db import new_registry
from services.common.service_tables import kernel_tables


class AssessmentTable(SQLModel, registry=new_registry()):
    """Base of every table model of this service (its own metadata)."""


def _quarter(**kw: Any) -> Any:
    """A quarter's id (2026Q4), or a period: a quarter or a year."""
    return Field(max_length=6, **kw)


def _code(**kw: Any) -> Any:
    """A member unit's code (registry) or an item's or evidence's code in the catalogue."""
    return Field(max_length=16, **kw)


class Catalogue(AssessmentTable, IdKey, table=True):
    __tablename__ = "catalogue"
    __table_args__ = (UniqueConstraint("name", "version"),)

    name: str = Field(max_length=128)
    version: int
    status: str = Field(max_length=16)  # draft | published
    based_on: int | None = None
    note: str | None = Field(default=None, sa_type=Text)
    total_points: float = 0
    created_at: datetime = timestamp()
    created_by: str = Field(default="", max_length=64)
    published_at: datetime | None = timestamp(nullable=True)


class CatalogueItem(AssessmentTable, IdKey, table=True):
    __tablename__ = "catalogue_item"
    __table_args__ = (
        UniqueConstraint("catalogue_id", "code"),
        Index("ix_catalogue_item_cat_pos", "catalogue_id", "position"),
    )

    catalogue_id: int = Field(sa_column=Column(Integer, ForeignKey("catalogue.id", ondelete="CASCADE"), nullable=False))
    code: str = _code()
    position: int
    category: str = Field(max_length=64)
    name: str = Field(max_length=255)
    points: float
    rules: list[dict[str, Any]] = json_value()
    evidence: list[dict[str, Any]] = json_value()
    lead_unit: str = _code()
    co_units: list[str] = json_value()
    data_source: str = Field(default="manual", max_length=64)


class UnitAlias(AssessmentTable, table=True):
    """Other names of a registry unit (市城管局 = 市城市管理局 = U03), matched on import."""

    __tablename__ = "unit_alias"

    alias: str = Field(primary_key=True, max_length=64)
    unit_code: str = _code()


class Quarter(AssessmentTable, table=True):
    __tablename__ = "quarter"

    id: str = _quarter(primary_key=True)  # 2026Q4
    catalogue_id: int = Field(sa_column=Column(Integer, ForeignKey("catalogue.id"), nullable=False))
    state: str = Field(max_length=16)  # collecting | reviewing | locked
    default_due: date
    opened_at: datetime = timestamp()
    opened_by: str = Field(default="", max_length=64)
    locked_at: datetime | None = timestamp(nullable=True)
    forecast_snapshot: dict[str, Any] | None = json_value(nullable=True)


class QuarterItem(AssessmentTable, IdKey, table=True):
    __tablename__ = "quarter_item"
    __table_args__ = (UniqueConstraint("quarter_id", "item_code"),)

    quarter_id: str = _quarter()
    item_code: str = _code()
    due_date: date | None = None
    inputs: dict[str, Any] | None = json_value(nullable=True)
    lost_points: float | None = None
    note: str | None = Field(default=None, sa_type=Text)


class Task(AssessmentTable, IdKey, table=True):
    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("quarter_id", "item_code", "evidence_code", "unit_code"),
        Index("ix_task_quarter_unit_id", "quarter_id", "unit_code", "id"),
        Index("ix_task_quarter_county_id", "quarter_id", "county_code", "id"),
        Index("ix_task_quarter_state_id", "quarter_id", "state", "id"),
        Index("ix_task_state_submitted_id", "state", "last_submitted_at", "id"),
        Index("ix_task_due_date_id", "due_date", "id"),
        # covering the board's and the forecast's counts (GROUP BY without reading the rows)
        Index("ix_task_quarter_unit_category_state", "quarter_id", "unit_code", "category", "state", "due_date"),
        Index("ix_task_quarter_item_unit_state", "quarter_id", "item_code", "unit_code", "state"),
    )

    quarter_id: str = _quarter()
    item_code: str = _code()
    category: str = Field(max_length=64)
    evidence_code: str = _code()
    evidence_title: str = Field(max_length=255)
    unit_code: str = _code()
    county_code: str | None = Field(default=None, max_length=6)
    lead: bool = True
    state: str = Field(max_length=16)  # pending | submitted | approved | returned
    due_date: date
    due_warning: str | None = Field(default=None, max_length=255)
    points: float
    revision: int = 0
    first_submitted_at: datetime | None = timestamp(nullable=True)
    last_submitted_at: datetime | None = timestamp(nullable=True)
    approved_at: datetime | None = timestamp(nullable=True)
    first_pass: bool | None = None
    returned_count: int = 0
    reviewer_name: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Submission(AssessmentTable, IdKey, table=True):
    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("task_id", "revision"),)

    task_id: int = Field(sa_column=Column(Integer, ForeignKey("task.id", ondelete="CASCADE"), nullable=False))
    revision: int
    effective_date: date
    note: str | None = Field(default=None, sa_type=Text)
    submitted_by: str = Field(max_length=64)
    submitted_by_name: str = Field(default="", max_length=64)
    submitted_at: datetime = timestamp()
    system: bool = False


class StoredFileColumns(SQLModel):
    """What the storage tells of a stored file: ``tasks.submit`` fills them from its ``StoredFile``."""

    key: str = Field(max_length=128)
    sha256: str = Field(max_length=64)
    size: int
    content_type: str = Field(max_length=128)
    original_name: str = Field(max_length=255)


class EvidenceFile(AssessmentTable, IdKey, StoredFileColumns, table=True):
    __tablename__ = "evidence_file"
    __table_args__ = (Index("ix_evidence_file_task_id", "task_id", "id"),)

    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    task_id: int
    unit_code: str = _code()
    uploaded_at: datetime = timestamp()


class TaskEvent(AssessmentTable, IdKey, table=True):
    __tablename__ = "task_event"
    __table_args__ = (Index("ix_task_event_task_id_id", "task_id", "id"),)

    task_id: int
    at: datetime = timestamp()
    actor: str = Field(max_length=64)
    actor_name: str = Field(default="", max_length=64)
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, sa_type=Text)
    data: dict[str, Any] | None = json_value(nullable=True)


class ReminderLog(AssessmentTable, IdKey, table=True):
    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("subject", "kind", "day"),)

    subject: str = Field(max_length=64)  # task:<id> or unit:<code>
    kind: str = Field(max_length=16)  # before_7, before_3, before_1, due, overdue, escalated
    day: date
    sent_at: datetime = timestamp()


class NationalResult(AssessmentTable, table=True):
    __tablename__ = "national_result"

    quarter_id: str = _quarter(primary_key=True)
    score: float
    rank: int
    class_name: str = Field(max_length=32)
    class_size: int
    tier: str = Field(max_length=16)
    lost_by_category: dict[str, float] = json_value()
    forecast_score: float | None = None
    note: str | None = Field(default=None, sa_type=Text)
    entered_by: str = Field(default="", max_length=64)
    entered_at: datetime = timestamp()


class UnitRating(AssessmentTable, IdKey, table=True):
    __tablename__ = "unit_rating"
    __table_args__ = (UniqueConstraint("period", "unit_code"),)

    period: str = _quarter()
    unit_code: str = _code()
    score: float
    comment: str | None = Field(default=None, sa_type=Text)
    rated_by: str = Field(default="", max_length=64)
    rated_at: datetime = timestamp()


class Archive(AssessmentTable, IdKey, table=True):
    __tablename__ = "archive"
    __table_args__ = (Index("ix_archive_quarter_id_id", "quarter_id", "id"),)

    quarter_id: str = _quarter()
    state: str = Field(max_length=16)  # queued | running | done | failed
    key: str | None = Field(default=None, max_length=128)
    size: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    files: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = timestamp()
    finished_at: datetime | None = timestamp(nullable=True)


metadata = AssessmentTable.metadata
outbox, idempotency, jobs = kernel_tables(metadata, "assessment")
