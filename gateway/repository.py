"""Every query of the gateway's identity tables: users, sessions, login events and the failed-login
rows of made-up names, API keys. Each function takes the caller's session and neither commits nor
decides anything: the rules (throttle, lock, session lifetime, key checks) live in ``security.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from gateway.models import ApiKey, LoginEvent, LoginUnknownName, User, UserSession

# ---------------------------------------------------------------------------------------------
# Users


def user_by_id(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def user_by_username(db: Session, username: str, *, for_update: bool = False) -> User | None:
    """The account of ``username``; ``for_update`` locks its row until the transaction ends."""
    query = select(User).where(User.username == username)
    if for_update:
        query = query.with_for_update()
    return db.exec(query).first()


def users_by_ids(db: Session, user_ids: Sequence[int | None]) -> list[User]:
    """The accounts of ``user_ids`` (in no particular order; unknown ids are skipped)."""
    return list(db.exec(select(User).where(col(User.id).in_(user_ids))).all())


def users_by_username(db: Session) -> list[User]:
    """Every account, in username order."""
    return list(db.exec(select(User).order_by(User.username)).all())


def usernames(db: Session) -> set[str]:
    return set(db.exec(select(User.username)).all())


def active_user_scopes(conn: Connection) -> list[tuple[int, str, str | None, str | None, str | None]]:
    """(id, role, unit_code, county_code, team_code) of every active user."""
    t = User.__table__  # type: ignore[attr-defined]
    query = sa.select(t.c.id, t.c.role, t.c.unit_code, t.c.county_code, t.c.team_code).where(t.c.is_active.is_(True))
    return [(r[0], r[1], r[2], r[3], r[4]) for r in conn.execute(query).all()]


def unit_leader_ids(conn: Connection) -> set[int]:
    """The active accounts marked as a member unit's leader."""
    t = User.__table__  # type: ignore[attr-defined]
    query = sa.select(t.c.id).where(t.c.is_active.is_(True), t.c.unit_leader.is_(True))
    return set(conn.execute(query).scalars())


def first_admin(db: Session) -> User | None:
    """The oldest admin account."""
    return db.exec(select(User).where(User.role == "admin").order_by(col(User.id))).first()


# ---------------------------------------------------------------------------------------------
# Sessions


def session_and_user(db: Session, token_hash: str) -> tuple[UserSession, User] | None:
    """The session whose cookie hashes to ``token_hash``, with its user."""
    row = db.exec(select(UserSession, User).join(User).where(UserSession.token_hash == token_hash)).first()
    return None if row is None else (row[0], row[1])


def touch_session(db: Session, session_id: int | None, seen_at: datetime) -> None:
    db.execute(update(UserSession).where(col(UserSession.id) == session_id).values(last_seen_at=seen_at))


def delete_session(db: Session, token_hash: str) -> None:
    db.execute(delete(UserSession).where(col(UserSession.token_hash) == token_hash))


def delete_user_sessions(db: Session, user_id: int, *, except_token_hash: str | None = None) -> None:
    """Every session of the user (but the one whose cookie hashes to ``except_token_hash``)."""
    query = delete(UserSession).where(col(UserSession.user_id) == user_id)
    if except_token_hash is not None:
        query = query.where(col(UserSession.token_hash) != except_token_hash)
    db.execute(query)


# ---------------------------------------------------------------------------------------------
# Login throttling


def count_login_events(db: Session, ip: str, since: datetime, outcomes: Sequence[str]) -> int:
    """Login attempts from ``ip`` at or after ``since`` that ended in one of ``outcomes``."""
    return db.exec(
        select(func.count())
        .select_from(LoginEvent)
        .where(LoginEvent.ip == ip, LoginEvent.at >= since, col(LoginEvent.outcome).in_(outcomes))
    ).one()


def delete_unknown_names_failed_before(db: Session, before: datetime) -> None:
    db.exec(delete(LoginUnknownName).where(col(LoginUnknownName.last_failed_at) < before))


def locked_unknown_name(db: Session, username: str) -> LoginUnknownName:
    """The failed-login row of a name without an account, inserted if missing and locked
    (``FOR UPDATE``) like a user row, so concurrent guesses of one name are counted in turn."""
    table = LoginUnknownName.__table__  # type: ignore[attr-defined]
    dialect = db.get_bind().dialect.name
    if dialect in {"sqlite", "postgresql"}:
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        db.exec(insert(table).values(username=username, failed_count=0).on_conflict_do_nothing())
    row = db.exec(select(LoginUnknownName).where(LoginUnknownName.username == username).with_for_update()).first()
    if row is None:  # another database: plain insert
        row = LoginUnknownName(username=username)
        db.add(row)
    return row


# ---------------------------------------------------------------------------------------------
# API keys


def api_key_by_id(db: Session, key_id: int) -> ApiKey | None:
    return db.get(ApiKey, key_id)


def api_key_by_hash(db: Session, key_hash: str) -> ApiKey | None:
    return db.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()


def api_keys_by_id(db: Session, *, newest_first: bool = False) -> list[ApiKey]:
    """Every key, revoked ones too, in id order (``newest_first``: the reverse)."""
    order = col(ApiKey.id).desc() if newest_first else col(ApiKey.id)
    return list(db.exec(select(ApiKey).order_by(order)).all())


def touch_api_key(db: Session, key_id: int, used_at: datetime) -> None:
    db.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=used_at))
