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

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.db import new_registry
from services.common.idempotency import Idempotency, idempotency_table
from services.common.jobs import job_tables
from services.common.outbox import Outbox, outbox_table


class AssessmentTable(SQLModel, registry=new_registry()):
    """Base of every table model of this service (its own metadata)."""


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable)


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class Catalogue(AssessmentTable, table=True):
    __tablename__ = "catalogue"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    version: int
    status: str = Field(max_length=16)  # draft | published
    based_on: int | None = None
    note: str | None = Field(default=None, sa_type=Text)
    total_points: float = 0
    created_at: datetime = _ts()
    created_by: str = Field(default="", max_length=64)
    published_at: datetime | None = _ts(nullable=True)


class CatalogueItem(AssessmentTable, table=True):
    __tablename__ = "catalogue_item"
    __table_args__ = (
        UniqueConstraint("catalogue_id", "code"),
        Index("ix_catalogue_item_cat_pos", "catalogue_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    catalogue_id: int = Field(sa_column=Column(Integer, ForeignKey("catalogue.id", ondelete="CASCADE"), nullable=False))
    code: str = Field(max_length=16)
    position: int
    category: str = Field(max_length=64)
    name: str = Field(max_length=255)
    points: float
    rules: list[dict[str, Any]] = _json()
    evidence: list[dict[str, Any]] = _json()
    lead_unit: str = Field(max_length=16)
    co_units: list[str] = _json()
    data_source: str = Field(default="manual", max_length=64)


class UnitAlias(AssessmentTable, table=True):
    """Other names of a registry unit (市城管局 = 市城市管理局 = U03), matched on import."""

    __tablename__ = "unit_alias"

    alias: str = Field(primary_key=True, max_length=64)
    unit_code: str = Field(max_length=16)


class Quarter(AssessmentTable, table=True):
    __tablename__ = "quarter"

    id: str = Field(primary_key=True, max_length=6)  # 2026Q4
    catalogue_id: int = Field(sa_column=Column(Integer, ForeignKey("catalogue.id"), nullable=False))
    state: str = Field(max_length=16)  # collecting | reviewing | locked
    default_due: date
    opened_at: datetime = _ts()
    opened_by: str = Field(default="", max_length=64)
    locked_at: datetime | None = _ts(nullable=True)
    forecast_snapshot: dict[str, Any] | None = _json(nullable=True)


class QuarterItem(AssessmentTable, table=True):
    __tablename__ = "quarter_item"
    __table_args__ = (UniqueConstraint("quarter_id", "item_code"),)

    id: int | None = Field(default=None, primary_key=True)
    quarter_id: str = Field(max_length=6)
    item_code: str = Field(max_length=16)
    due_date: date | None = None
    inputs: dict[str, Any] | None = _json(nullable=True)
    lost_points: float | None = None
    note: str | None = Field(default=None, sa_type=Text)


class Task(AssessmentTable, table=True):
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

    id: int | None = Field(default=None, primary_key=True)
    quarter_id: str = Field(max_length=6)
    item_code: str = Field(max_length=16)
    category: str = Field(max_length=64)
    evidence_code: str = Field(max_length=16)
    evidence_title: str = Field(max_length=255)
    unit_code: str = Field(max_length=16)
    county_code: str | None = Field(default=None, max_length=6)
    lead: bool = True
    state: str = Field(max_length=16)  # pending | submitted | approved | returned
    due_date: date
    due_warning: str | None = Field(default=None, max_length=255)
    points: float
    revision: int = 0
    first_submitted_at: datetime | None = _ts(nullable=True)
    last_submitted_at: datetime | None = _ts(nullable=True)
    approved_at: datetime | None = _ts(nullable=True)
    first_pass: bool | None = None
    returned_count: int = 0
    reviewer_name: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Submission(AssessmentTable, table=True):
    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("task_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(sa_column=Column(Integer, ForeignKey("task.id", ondelete="CASCADE"), nullable=False))
    revision: int
    effective_date: date
    note: str | None = Field(default=None, sa_type=Text)
    submitted_by: str = Field(max_length=64)
    submitted_by_name: str = Field(default="", max_length=64)
    submitted_at: datetime = _ts()
    system: bool = False


class EvidenceFile(AssessmentTable, table=True):
    __tablename__ = "evidence_file"
    __table_args__ = (Index("ix_evidence_file_task_id", "task_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(
        sa_column=Column(Integer, ForeignKey("submission.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    task_id: int
    unit_code: str = Field(max_length=16)
    key: str = Field(max_length=128)
    sha256: str = Field(max_length=64)
    size: int
    content_type: str = Field(max_length=128)
    original_name: str = Field(max_length=255)
    uploaded_at: datetime = _ts()


class TaskEvent(AssessmentTable, table=True):
    __tablename__ = "task_event"
    __table_args__ = (Index("ix_task_event_task_id_id", "task_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int
    at: datetime = _ts()
    actor: str = Field(max_length=64)
    actor_name: str = Field(default="", max_length=64)
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, sa_type=Text)
    data: dict[str, Any] | None = _json(nullable=True)


class ReminderLog(AssessmentTable, table=True):
    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("subject", "kind", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=64)  # task:<id> or unit:<code>
    kind: str = Field(max_length=16)  # before_7, before_3, before_1, due, overdue, escalated
    day: date
    sent_at: datetime = _ts()


class NationalResult(AssessmentTable, table=True):
    __tablename__ = "national_result"

    quarter_id: str = Field(primary_key=True, max_length=6)
    score: float
    rank: int
    class_name: str = Field(max_length=32)
    class_size: int
    tier: str = Field(max_length=16)
    lost_by_category: dict[str, float] = _json()
    forecast_score: float | None = None
    note: str | None = Field(default=None, sa_type=Text)
    entered_by: str = Field(default="", max_length=64)
    entered_at: datetime = _ts()


class UnitRating(AssessmentTable, table=True):
    __tablename__ = "unit_rating"
    __table_args__ = (UniqueConstraint("period", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=6)
    unit_code: str = Field(max_length=16)
    score: float
    comment: str | None = Field(default=None, sa_type=Text)
    rated_by: str = Field(default="", max_length=64)
    rated_at: datetime = _ts()


class Archive(AssessmentTable, table=True):
    __tablename__ = "archive"
    __table_args__ = (Index("ix_archive_quarter_id_id", "quarter_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    quarter_id: str = Field(max_length=6)
    state: str = Field(max_length=16)  # queued | running | done | failed
    key: str | None = Field(default=None, max_length=128)
    size: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    files: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)


metadata = AssessmentTable.metadata
outbox = Outbox(outbox_table(metadata), "assessment")
idempotency = Idempotency(idempotency_table(metadata))
jobs = job_tables(metadata)
