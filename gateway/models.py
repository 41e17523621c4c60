"""Tables of the gateway: users, sessions, login events and API keys (identity lives here only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel

from services.common import clock
from services.common.db import new_registry


class GatewayTable(SQLModel, registry=new_registry()):
    """Base of every table model of the gateway (its own metadata)."""


metadata = GatewayTable.metadata


def _utc() -> datetime:
    return clock.now()


class User(GatewayTable, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    county_code: str | None = Field(default=None, max_length=6)
    team_code: str | None = Field(default=None, max_length=32)
    # A member unit's leader (单位领导, role ``unit``): told of the 督办 of the unit's orders and
    # tasks and of circulars, not of every routine step its liaisons handle.
    unit_leader: bool = False
    is_active: bool = True
    failed_count: int = 0
    last_failed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    locked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_login_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))


class UserSession(GatewayTable, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    csrf_token: str = Field(max_length=64)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    last_seen_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))


class LoginEvent(GatewayTable, table=True):
    """Every login attempt: success, failure, throttled, locked (and the lockout itself)."""

    __tablename__ = "login_event"
    __table_args__ = (Index("ix_login_event_ip_at", "ip", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    username: str = Field(max_length=64)
    ip: str = Field(default="", max_length=64)
    at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    outcome: str = Field(max_length=16)


class ApiKey(GatewayTable, table=True):
    """A county (or OA) system's key. Only the SHA-256 of the key is stored."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    role: str = Field(max_length=16)
    county_code: str | None = Field(default=None, max_length=6)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=_utc, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


import gateway.integration.models  # noqa: E402,F401  (the integration tables share this metadata)
from services.common.jobs import job_tables  # noqa: E402

# The kernel job runner's tables (`job`, `job_schedule`): the integration's delivery schedule runs on them.
jobs = job_tables(metadata)


class LoginUnknownName(GatewayTable, table=True):
    """Failed-login bookkeeping of a username that has no account, kept exactly like the columns
    of ``user_account`` (``failed_count``, ``last_failed_at``, ``locked_until``): a made-up name is
    throttled and locked just like a real one, so the answers do not tell which accounts exist.
    Rows whose last failure is older than the lock window are pruned."""

    __tablename__ = "login_unknown_name"
    __table_args__ = (Index("ix_login_unknown_name_last_failed_at", "last_failed_at"),)

    username: str = Field(max_length=64, primary_key=True)
    failed_count: int = 0
    last_failed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    locked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
