"""The job runner's two tables, defined into a service's own metadata (as ``outbox_table()`` is):
``job`` (one row a job) and ``job_schedule`` (one row a schedule). Re-exported by ``services.common.jobs``."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, Text

JOB_TABLE = "job"
SCHEDULE_TABLE = "job_schedule"


class JobTables(NamedTuple):
    job: Table
    schedule: Table


def job_tables(metadata: MetaData) -> JobTables:
    """Define ``job`` and ``job_schedule`` in a service's own metadata."""
    job = Table(
        JOB_TABLE,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("state", String(16), nullable=False),
        Column("dedupe_key", String(200), nullable=True, unique=True),
        Column("attempts", Integer, nullable=False),
        Column("max_attempts", Integer, nullable=False),
        Column("run_after", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=True),
        Column("heartbeat_at", DateTime(timezone=True), nullable=True),
        Column("finished_at", DateTime(timezone=True), nullable=True),
        Column("worker", String(128), nullable=True),
        Column("progress_done", Integer, nullable=False),
        Column("progress_total", Integer, nullable=True),
        Column("result", JSON, nullable=True),
        Column("result_key", String(500), nullable=True),
        Column("error", Text, nullable=True),
        Index("ix_job_state_run_after", "state", "run_after"),
    )
    schedule = Table(
        SCHEDULE_TABLE,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("cadence", String(32), nullable=False),
        Column("next_run_at", DateTime(timezone=True), nullable=False),
        Column("last_due_at", DateTime(timezone=True), nullable=True),
        Column("last_run_at", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
    )
    return JobTables(job, schedule)
