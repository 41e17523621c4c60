"""The outbox's and the idempotency keys' tables, defined into each service's own metadata (as
``job_tables`` defines the job runner's); ``services.common.outbox`` and ``services.common.idempotency``
re-export them."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, UniqueConstraint

MAX_KEY_LENGTH = 200  # an Idempotency-Key's length at the most


def outbox_table(metadata: MetaData) -> Table:
    """Define the outbox table (``services.common.outbox``) in a service's own metadata."""
    return Table(
        "outbox_event",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("source", String(64), nullable=False),
        Column("type", String(128), nullable=False),
        Column("subject", String(128), nullable=False),
        Column("time", DateTime(timezone=True), nullable=False),
        Column("data", JSON, nullable=False),
    )


def idempotency_table(metadata: MetaData) -> Table:
    """Define the idempotency keys' table (``services.common.idempotency``) in a service's own metadata."""
    return Table(
        "idempotency_record",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("scope", String(128), nullable=False),
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", JSON, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("scope", "key"),
    )
