"""Tables of the supervision service: teams, checklists, plans and their targets, inspections and
photos, findings, rectification orders with their events and 督办 records, enforcement records,
reports and circulars. Plus the kernel's outbox and idempotency tables.

Every list is keyset-paginated on ``id`` (newest first) and each filter it offers has a composite
index ending in ``id``; the overdue board walks (open, deadline, id).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.columns import json_value, timestamp
from services.common.db import new_registry
from services.common.service_tables import kernel_tables


class SupervisionTable(SQLModel, registry=new_registry()):
    """Base of every table model of this service (its own metadata)."""


class Team(SupervisionTable, table=True):
    """督导组: a leader and inspectors (gateway usernames) covering some counties."""

    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=64)
    leader: str = Field(max_length=64)
    members: list[str] = json_value()
    counties: list[str] = json_value()
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Checklist(SupervisionTable, table=True):
    """A checklist template version; a published version never changes."""

    __tablename__ = "checklist"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        Index("ix_checklist_target_kind_id", "target_kind", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40)
    version: int = 1
    name: str = Field(max_length=128)
    target_kind: str = Field(max_length=48)
    state: str = Field(default="draft", max_length=16)
    example: bool = False
    items: list[dict[str, Any]] = json_value()
    created_at: datetime = timestamp()
    published_at: datetime | None = timestamp(nullable=True)


class Plan(SupervisionTable, table=True):
    """督导计划: one round of inspections."""

    __tablename__ = "plan"
    __table_args__ = (Index("ix_plan_team_code_id", "team_code", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    starts_on: date
    ends_on: date
    team_code: str = Field(max_length=16)
    checklist_id: int = Field(foreign_key="checklist.id")
    selection: dict[str, Any] = json_value()
    per_inspector_per_day: int = 4
    state: str = Field(default="scheduled", max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = timestamp()
    finished_at: datetime | None = timestamp(nullable=True)


class PlanTarget(SupervisionTable, table=True):
    __tablename__ = "plan_target"
    __table_args__ = (
        UniqueConstraint("plan_id", "target_code"),
        Index("ix_plan_target_inspector_scheduled_on_id", "inspector", "scheduled_on", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    target_code: str = Field(max_length=40)
    kind: str = Field(max_length=48)
    name: str = Field(max_length=128)
    county_code: str = Field(max_length=6)
    lat: float | None = None
    lng: float | None = None
    scheduled_on: date
    inspector: str = Field(max_length=64)


class Inspection(SupervisionTable, table=True):
    """One inspection of one target, identified by the tablet's id (``client_id``)."""

    __tablename__ = "inspection"
    __table_args__ = (
        Index("ix_inspection_plan_id_id", "plan_id", "id"),
        Index("ix_inspection_inspector_id", "inspector", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    plan_id: int = Field(foreign_key="plan.id")
    target_code: str = Field(max_length=40)
    county_code: str = Field(max_length=6)
    inspector: str = Field(max_length=64)
    body_hash: str = Field(max_length=64)
    answers: list[dict[str, Any]] = json_value()
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    taken_at: datetime | None = timestamp(nullable=True)
    received_at: datetime = timestamp()
    state: str = Field(default="draft", max_length=16)
    submitted_at: datetime | None = timestamp(nullable=True)
    replaces: str | None = Field(default=None, max_length=64)
    replaced_by: str | None = Field(default=None, max_length=64)
    passed: bool | None = None
    score: float | None = None


class Photo(SupervisionTable, table=True):
    """A photo of an inspection, a rectification (after-photos) or an enforcement record."""

    __tablename__ = "photo"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_id", "photo_id"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_kind: str = Field(max_length=16)
    owner_id: int
    photo_id: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    key: str = Field(max_length=255)
    size: int
    content_type: str = Field(max_length=64)
    original_name: str = Field(max_length=200)
    thumb_key: str | None = Field(default=None, max_length=255)
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    taken_at: datetime | None = timestamp(nullable=True)
    received_at: datetime = timestamp()
    uploaded_by: str = Field(max_length=64)


class Finding(SupervisionTable, table=True):
    """A problem found at a target; becomes a rectification order."""

    __tablename__ = "finding"
    __table_args__ = (
        Index("ix_finding_plan_id_id", "plan_id", "id"),
        Index("ix_finding_county_code_id", "county_code", "id"),
        Index("ix_finding_category_id", "category", "id"),
        Index("ix_finding_state_id", "state", "id"),
        Index("ix_finding_county_code_category_id", "county_code", "category", "id"),
        Index("ix_finding_target_code_category_state", "target_code", "category", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    inspection_id: int | None = Field(default=None, foreign_key="inspection.id")
    item_id: str | None = Field(default=None, max_length=40)
    target_code: str = Field(max_length=40)
    target_name: str = Field(default="", max_length=128)
    target_kind: str = Field(default="", max_length=48)
    county_code: str = Field(max_length=6)
    category: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    description: str = Field(default="", sa_type=Text)
    photos: list[int] = json_value()
    latitude: float | None = None
    longitude: float | None = None
    party_kind: str = Field(max_length=16)
    party_code: str = Field(max_length=16)
    state: str = Field(default="open", max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = timestamp()


class Rectification(SupervisionTable, table=True):
    """整改通知: one per finding, with its responsible party, deadline and state."""

    __tablename__ = "rectification"
    __table_args__ = (
        Index("ix_rectification_state_id", "state", "id"),
        Index("ix_rectification_party_code_id", "party_code", "id"),
        Index("ix_rectification_party_code_state_id", "party_code", "state", "id"),
        Index("ix_rectification_is_open_deadline_id", "is_open", "deadline", "id"),
        Index("ix_rectification_party_code_is_open_deadline_id", "party_code", "is_open", "deadline", "id"),
        Index("ix_rectification_plan_id_id", "plan_id", "id"),
        Index("ix_rectification_team_code_id", "team_code", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", unique=True)
    plan_id: int | None = Field(default=None, foreign_key="plan.id")
    team_code: str | None = Field(default=None, max_length=16)
    target_code: str = Field(max_length=40)
    # the finding's, copied: lists and boards name the compound, not only its registry code
    target_name: str = Field(default="", max_length=128)
    county_code: str = Field(max_length=6)
    category: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    party_kind: str = Field(max_length=16)
    party_code: str = Field(max_length=16)
    state: str = Field(default="issued", max_length=16)
    is_open: bool = True
    issued_on: date
    deadline: date
    overdue_notified: bool = False
    escalation_level: int = 0
    escalated_to: list[str] = json_value()
    fix_note: str | None = Field(default=None, sa_type=Text)
    fix_photos: list[int] = json_value()
    last_reason: str | None = Field(default=None, sa_type=Text)
    rejections: int = 0
    verified_at: datetime | None = timestamp(nullable=True)
    verified_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class RectificationEvent(SupervisionTable, table=True):
    """Every transition of an order, who made it and why."""

    __tablename__ = "rectification_event"
    __table_args__ = (Index("ix_rectification_event_rectification_id_id", "rectification_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    rectification_id: int = Field(foreign_key="rectification.id")
    action: str = Field(max_length=24)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    role: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_type=Text)
    at: datetime = timestamp()


class Escalation(SupervisionTable, table=True):
    """督办 record: an overdue order raised to the next level with a new deadline."""

    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("rectification_id", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    rectification_id: int = Field(foreign_key="rectification.id")
    level: int
    escalated_to: list[str] = json_value()
    reason: str = Field(sa_type=Text)
    old_deadline: date
    new_deadline: date
    at: datetime = timestamp()


class EnforcementRecord(SupervisionTable, table=True):
    """执法检查记录 of a department with enforcement powers."""

    __tablename__ = "enforcement_record"
    __table_args__ = (
        Index("ix_enforcement_record_department_on_date_id", "department", "on_date", "id"),
        Index("ix_enforcement_record_on_date_id", "on_date", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=24)
    on_date: date
    site_code: str | None = Field(default=None, max_length=40)
    business_name: str | None = Field(default=None, max_length=128)
    county_code: str | None = Field(default=None, max_length=6)
    finding: str = Field(sa_type=Text)
    action: str = Field(max_length=16)
    amount: float | None = Field(default=None, sa_type=Numeric(12, 2))
    case_number: str = Field(max_length=64, unique=True)
    unit_code: str | None = Field(default=None, max_length=16, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Report(SupervisionTable, table=True):
    """督导检查报告 of a round, built by a background job."""

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_plan_id_id", "plan_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    title: str = Field(max_length=200)
    state: str = Field(default="building", max_length=16)
    summary: str = Field(default="", sa_type=Text)
    figures: dict[str, Any] = json_value(nullable=True)
    html_key: str | None = Field(default=None, max_length=255)
    pdf_key: str | None = Field(default=None, max_length=255)
    pdf_size: int | None = None
    job_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_type=Text)
    created_by: str = Field(max_length=64)
    created_at: datetime = timestamp()
    built_at: datetime | None = timestamp(nullable=True)
    published_at: datetime | None = timestamp(nullable=True)


class Circular(SupervisionTable, table=True):
    """通报 made from a report, in the official layout."""

    __tablename__ = "circular"
    __table_args__ = (Index("ix_circular_state_id", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id")
    number: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    addressees: list[str] = json_value()
    body_html: str = Field(sa_type=Text)
    signer: str = Field(max_length=128)
    on_date: date
    cc: list[str] = json_value()
    state: str = Field(default="draft", max_length=16)
    pdf_key: str | None = Field(default=None, max_length=255)
    pdf_size: int | None = None
    created_at: datetime = timestamp()
    published_at: datetime | None = timestamp(nullable=True)


metadata = SupervisionTable.metadata
outbox, idempotency, jobs = kernel_tables(metadata, "supervision")

team_t = Team.__table__  # type: ignore[attr-defined]
checklist_t = Checklist.__table__  # type: ignore[attr-defined]
plan_t = Plan.__table__  # type: ignore[attr-defined]
target_t = PlanTarget.__table__  # type: ignore[attr-defined]
inspection_t = Inspection.__table__  # type: ignore[attr-defined]
photo_t = Photo.__table__  # type: ignore[attr-defined]
finding_t = Finding.__table__  # type: ignore[attr-defined]
rect_t = Rectification.__table__  # type: ignore[attr-defined]
rect_event_t = RectificationEvent.__table__  # type: ignore[attr-defined]
escalation_t = Escalation.__table__  # type: ignore[attr-defined]
enforcement_t = EnforcementRecord.__table__  # type: ignore[attr-defined]
report_t = Report.__table__  # type: ignore[attr-defined]
circular_t = Circular.__table__  # type: ignore[attr-defined]
