"""Functions behind the ``sortline`` command's identity sub-commands (users, API keys, demo users).

Each takes an engine; ``engine()`` builds one from the gateway's Settings (which honour
SORTLINE_DATA_DIR and SORTLINE_GATEWAY_DATABASE_URL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from gateway import repository, security
from gateway.admin import NewUser, add_user
from gateway.config import Settings
from gateway.demo import DEMO_USERS
from services.common import clock
from services.common.db import make_engine, session_scope


def engine(settings: Settings | None = None) -> Engine:
    return make_engine((settings or Settings()).database_url)


def create_user(
    engine: Engine,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    unit_code: str | None = None,
    county_code: str | None = None,
    team_code: str | None = None,
    unit_leader: bool = False,
) -> int:
    """Create a user; raises ``InvalidInput`` (with a Chinese message) on bad input or a taken name."""
    with session_scope(engine) as db:
        new = NewUser(username, role, display_name, unit_code, county_code, team_code, unit_leader=unit_leader)
        return add_user(db, new, password).id or 0


def create_api_key(
    engine: Engine,
    *,
    name: str,
    county_code: str | None,
    role: str = "county",
    permissions: list[str] | None = None,
    created_by: str = "cli",
) -> tuple[int, str]:
    """A new key (county keys need a 6-digit county code; office keys are city-wide, for OA).
    Returns its id and the plaintext key, which is not stored and cannot be shown again."""
    with session_scope(engine) as db:
        row, key = security.create_api_key(
            db, name=name, role=role, county_code=county_code, permissions=permissions, created_by=created_by
        )
        return row.id or 0, key


def list_api_keys(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as db:
        rows = repository.api_keys_by_id(db)
        return [
            {
                "id": r.id,
                "name": r.name,
                "prefix": r.prefix,
                "role": r.role,
                "county_code": r.county_code,
                "permissions": list(r.permissions),
                "created_by": r.created_by,
                "created_at": clock.as_utc(r.created_at),
                "last_used_at": clock.as_utc(r.last_used_at) if r.last_used_at else None,
                "revoked_at": clock.as_utc(r.revoked_at) if r.revoked_at else None,
                "active": r.revoked_at is None,
            }
            for r in rows
        ]


def revoke_api_key(engine: Engine, key_id: int) -> bool:
    """Revoke a key; False when it does not exist or was already revoked. Running gateways stop
    accepting it within their cache time (``SORTLINE_GATEWAY_APIKEY_CACHE_SECONDS``)."""
    with session_scope(engine) as db:
        return security.revoke_api_key(db, key_id)


def seed_demo_users(engine: Engine, password: str) -> list[tuple[str, str, str]]:
    """Create the demo users that are missing (idempotent); returns (username, role, description)."""
    out = []
    with session_scope(engine) as db:
        existing = repository.usernames(db)
        for demo in DEMO_USERS:
            if demo.username not in existing:
                add_user(db, demo.account, password)
            out.append((demo.username, demo.role, demo.description))
    return out
