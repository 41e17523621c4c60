"""Every query of the local users' names elsewhere (``integration_identity``: OA login ids, SSO
subjects) and of the admin's SSO role mappings (``integration_role_mapping``). Functions take the
caller's connection or session and neither commit nor decide: which link is allowed stays in
``identities.py``, which mapping applies and who may sign in in ``sso.py``."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from gateway.integration.models import ExternalIdentity, RoleMapping

identity_t = ExternalIdentity.__table__  # type: ignore[attr-defined]


def external_ids(conn: Connection, provider: str) -> dict[int, str]:
    """Every user's id in ``provider``, by user id."""
    query = select(identity_t.c.user_id, identity_t.c.external_id).where(identity_t.c.provider == provider)
    return {r[0]: r[1] for r in conn.execute(query).all()}


def identity_of(db: Session, provider: str, external_id: str) -> ExternalIdentity | None:
    """The link of ``external_id`` in ``provider`` to a local user."""
    query = select(ExternalIdentity).where(
        col(ExternalIdentity.provider) == provider, col(ExternalIdentity.external_id) == external_id
    )
    return db.scalars(query).first()


def identity_links(db: Session) -> dict[tuple[int, str], str]:
    """Every link: (user_id, provider) -> external id."""
    return {(i.user_id, i.provider): i.external_id for i in db.scalars(select(ExternalIdentity)).all()}


def delete_identity(db: Session, user_id: int, provider: str) -> None:
    """The user's link in ``provider``, if any."""
    db.execute(
        delete(ExternalIdentity).where(
            col(ExternalIdentity.user_id) == user_id, col(ExternalIdentity.provider) == provider
        )
    )


# ---------------------------------------------------------------------------------------------
# SSO role mappings


def role_mappings(db: Session) -> list[RoleMapping]:
    """Every mapping, in the order they are tried: by priority, then id."""
    return list(db.scalars(select(RoleMapping).order_by(col(RoleMapping.priority), col(RoleMapping.id))).all())


def role_mapping_by_id(db: Session, mapping_id: int) -> RoleMapping | None:
    return db.get(RoleMapping, mapping_id)
