"""Tables of the integration part of the gateway: subscriptions, the events read from the services'
feeds (with a cursor per service), deliveries and their attempts, the in-app inbox, identities
(OA login ids, SSO subjects), the SSO role mapping and the inbound document queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from gateway.models import GatewayTable, _utc

BIGINT = BigInteger().with_variant(Integer, "sqlite")


class Subscription(GatewayTable, table=True):
    """An endpoint that receives events. ``adapter`` decides the body; ``internal`` (set by an admin)
    allows private addresses and redirects. The secret is stored encrypted (AES-GCM)."""

    __tablename__ = "integration_subscription"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=100)
    url: str = Field(max_length=1000)
    types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    adapter: str = Field(default="standard", max_length=32)
    payload: str = Field(default="full", max_length=8)
    internal: bool = False
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    secret_enc: str = Field(sa_column=Column(Text, nullable=False))
    old_secret_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    old_secret_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    status: str = Field(default="active", max_length=16)  # active | disabled | ended
    status_reason: str = Field(default="", max_length=255)
    owner_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    owner_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    failing_since: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    warned_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_success_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Robots take 20 messages a minute: the next send waits until this instant (digests meanwhile).
    next_send_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class FeedCursor(GatewayTable, table=True):
    """How far the gateway has read one service's event feed."""

    __tablename__ = "integration_cursor"

    service: str = Field(primary_key=True, max_length=32)
    after: int = Field(default=0, sa_column=Column(BIGINT, nullable=False))
    updated_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))


class FeedEvent(GatewayTable, table=True):
    """A CloudEvent read from a service's feed, kept for delivery, replay and the inbox."""

    __tablename__ = "integration_event"
    __table_args__ = (Index("ix_integration_event_time", "time"),)

    seq: int | None = Field(default=None, sa_column=Column(BIGINT, primary_key=True, autoincrement=True))
    id: str = Field(max_length=36, unique=True)
    service: str = Field(max_length=32)
    source: str = Field(max_length=64)
    type: str = Field(max_length=128)
    subject: str = Field(max_length=128)
    time: datetime = Field(sa_type=DateTime(timezone=True))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))


class Delivery(GatewayTable, table=True):
    """One event for one subscription. ``state``: pending -> sending -> delivered | failed (gave up) |
    dropped (subscription ended). Claimed by one worker at a time (``claimed_until``)."""

    __tablename__ = "integration_delivery"
    __table_args__ = (
        Index("ix_integration_delivery_due", "state", "event_seq"),
        Index("ix_integration_delivery_sub_subject", "subscription_id", "subject", "state", "event_seq"),
        Index("ix_integration_delivery_sub_state", "subscription_id", "state", "event_seq"),
    )

    id: int | None = Field(default=None, sa_column=Column(BIGINT, primary_key=True, autoincrement=True))
    subscription_id: int = Field(foreign_key="integration_subscription.id")
    event_seq: int = Field(sa_column=Column(BIGINT, nullable=False))
    event_id: str = Field(max_length=36)
    subject: str = Field(max_length=128)
    state: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    first_failed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_status: int | None = None
    last_error: str = Field(default="", max_length=255)
    replay: bool = False


class DeliveryAttempt(GatewayTable, table=True):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "integration_attempt"
    __table_args__ = (Index("ix_integration_attempt_sub_at", "subscription_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BIGINT, primary_key=True, autoincrement=True))
    delivery_id: int = Field(sa_column=Column(BIGINT, nullable=False, index=True))
    subscription_id: int = Field(foreign_key="integration_subscription.id")
    event_id: str = Field(max_length=36)
    attempt: int
    at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    status_code: int | None = None
    duration_ms: int = 0
    error: str = Field(default="", max_length=255)
    response_excerpt: str = Field(default="", max_length=500)


class InboxMessage(GatewayTable, table=True):
    """The in-app inbox (消息中心): one message per user per event."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        Index("ix_inbox_message_user_read", "user_id", "read_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    event_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=1000)
    link: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ExternalIdentity(GatewayTable, table=True):
    """A local user's name elsewhere: an OA login id (``oa``) or an SSO subject (``oidc``/``cas``)."""

    __tablename__ = "integration_identity"
    __table_args__ = (UniqueConstraint("provider", "external_id"), UniqueConstraint("user_id", "provider"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    provider: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))


class RoleMapping(GatewayTable, table=True):
    """SSO: a claim (or group) value -> role and scope. Kept by the admin, never taken from the IdP alone."""

    __tablename__ = "integration_role_mapping"

    id: int | None = Field(default=None, primary_key=True)
    claim: str = Field(max_length=64)
    value: str = Field(max_length=128)
    role: str = Field(max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    county_code: str | None = Field(default=None, max_length=6)
    team_code: str | None = Field(default=None, max_length=32)
    priority: int = 100


class InboundDocument(GatewayTable, table=True):
    """A document the OA posted, waiting to be attached as evidence (idempotent by the OA's id)."""

    __tablename__ = "integration_inbound_document"

    id: int | None = Field(default=None, primary_key=True)
    doc_id: str = Field(max_length=128, unique=True)
    title: str = Field(max_length=300)
    issuer: str = Field(default="", max_length=200)
    doc_number: str = Field(default="", max_length=100)
    storage_key: str = Field(max_length=300)
    sha256: str = Field(max_length=64)
    size: int = 0
    content_type: str = Field(default="application/octet-stream", max_length=128)
    original_name: str = Field(default="", max_length=255)
    received_by: str = Field(default="", max_length=64)
    received_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    state: str = Field(default="queued", max_length=12)  # queued | attached | dismissed
    task_id: str | None = Field(default=None, max_length=64)
    attached_by: str | None = Field(default=None, max_length=64)
    attached_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    note: str = Field(default="", max_length=500)


class ReadReceipt(GatewayTable, table=True):
    """The OA confirms that a to-do (an event subject) was read by one of its users."""

    __tablename__ = "integration_read_receipt"
    __table_args__ = (UniqueConstraint("subject", "oa_login"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=128)
    oa_login: str = Field(max_length=128)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    read_at: datetime = Field(sa_type=DateTime(timezone=True))
    recorded_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))


def fields_of(row: SQLModel, names: str) -> dict[str, Any]:
    """The named columns of a row, in that order (what an API answer shows of it)."""
    return {name: getattr(row, name) for name in names.split()}
