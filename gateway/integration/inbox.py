"""The in-app inbox (消息中心): one more subscriber of the same events. Who receives an event follows
its data (unit, county, team, owner), a message per user and event; pages to read and mark read, the
unread count in the navigation and the unread list on the home page (both loaded by htmx)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col
from starlette.responses import HTMLResponse, Response

from gateway.deps import PageUser
from gateway.integration.adapters import EventView, describe, link_path, parts
from gateway.integration.models import ExternalIdentity, InboxMessage
from gateway.models import User
from gateway.render import render
from services.common import clock
from services.common.db import ReadSessionDep, SessionDep

INBOX_TYPES = (
    "sortline.assessment.task.*",
    "sortline.supervision.rectification.*",
    "sortline.supervision.circular.*",
    "sortline.gateway.subscription.*",
)
# The office follows what comes back to it: submissions, escalations, failing subscriptions.
OFFICE_VERBS = {"submitted", "escalated", "overdue", "failing", "disabled"}

user_t = User.__table__  # type: ignore[attr-defined]
inbox_t = InboxMessage.__table__  # type: ignore[attr-defined]
identity_t = ExternalIdentity.__table__  # type: ignore[attr-defined]


def _codes(data: dict[str, Any], one: str, many: str) -> list[str]:
    out = [str(v) for v in data.get(many) or [] if v]
    if data.get(one):
        out.append(str(data[one]))
    return out


@dataclass
class Directory:
    """The active users and their OA login ids, loaded once per delivery batch."""

    users: list[tuple[int, str, str | None, str | None, str | None]]  # id, role, unit, county, team
    oa: dict[int, str]

    @classmethod
    def load(cls, conn: Connection) -> Directory:
        users = conn.execute(
            select(user_t.c.id, user_t.c.role, user_t.c.unit_code, user_t.c.county_code, user_t.c.team_code).where(
                user_t.c.is_active.is_(True)
            )
        ).all()
        oa = conn.execute(select(identity_t.c.user_id, identity_t.c.external_id).where(identity_t.c.provider == "oa"))
        return cls([tuple(u) for u in users], {r[0]: r[1] for r in oa.all()})

    def oa_logins(self, user_ids: list[int]) -> list[str]:
        return sorted(self.oa[u] for u in user_ids if u in self.oa)


def recipients(directory: Directory, ev: EventView) -> list[int]:
    """The active users an event concerns."""
    service, entity, verb = parts(ev.type)
    data = ev.data
    if service == "gateway":
        owner = data.get("owner_user_id")
        return [u[0] for u in directory.users if (u[0] == owner if owner else u[1] == "admin")]
    units = set(_codes(data, "unit_code", "unit_codes"))
    counties = set(_codes(data, "county_code", "county_codes"))
    teams = set(_codes(data, "team_code", "team_codes"))
    everyone = entity == "circular" and not (units or counties or teams)
    out = []
    for uid, role, unit, county, team in directory.users:
        if (
            (role == "unit" and unit in units)
            or (role == "county" and county in counties)
            or (role == "inspector" and team in teams)
            or (role == "office" and verb in OFFICE_VERBS)
            or (everyone and role != "admin")
        ):
            out.append(uid)
    return out


def messages_for(directory: Directory, ev: EventView) -> list[dict[str, Any]]:
    title, body = describe(ev)
    _service, entity, _verb = parts(ev.type)
    now = clock.now()
    return [
        {
            "user_id": uid,
            "event_id": ev.id,
            "kind": entity[:32] or "event",
            "title": title,
            "body": body,
            "link": link_path(ev),
            "created_at": now,
            "read_at": None,
        }
        for uid in recipients(directory, ev)
    ]


def store(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert the messages not stored yet (a redelivered event adds nothing twice)."""
    if not rows:
        return
    event_ids = {r["event_id"] for r in rows}
    have = {
        (r[0], r[1])
        for r in conn.execute(
            select(inbox_t.c.user_id, inbox_t.c.event_id).where(inbox_t.c.event_id.in_(event_ids))
        ).all()
    }
    new = [r for r in rows if (r["user_id"], r["event_id"]) not in have]
    if new:
        conn.execute(insert(inbox_t), new)


def unread_count(db: Session, user_id: int) -> int:
    return int(
        db.execute(
            select(func.count()).select_from(inbox_t).where(inbox_t.c.user_id == user_id, inbox_t.c.read_at.is_(None))
        ).scalar_one()
    )


def messages(db: Session, user_id: int, *, unread_only: bool = False, limit: int = 50) -> list[InboxMessage]:
    from sqlmodel import select as sm_select

    query = sm_select(InboxMessage).where(InboxMessage.user_id == user_id)
    if unread_only:
        query = query.where(col(InboxMessage.read_at).is_(None))
    return list(db.exec(query.order_by(col(InboxMessage.id).desc()).limit(limit)).all())


def mark_read(db: Session, user_id: int, message_id: int | None = None) -> int:
    query = update(InboxMessage).where(col(InboxMessage.user_id) == user_id, col(InboxMessage.read_at).is_(None))
    if message_id is not None:
        query = query.where(col(InboxMessage.id) == message_id)
    return int(db.execute(query.values(read_at=clock.now())).rowcount or 0)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Pages

router = APIRouter(include_in_schema=False)


def _page(request: Request, db: Session, user_id: int, unread_only: bool, block: str | None = "panel") -> Response:
    return render(
        request,
        "integration/inbox.html",
        {
            "messages": messages(db, user_id, unread_only=unread_only, limit=200),
            "unread": unread_count(db, user_id),
            "unread_only": unread_only,
        },
        block=block,
    )


@router.get("/inbox")
def inbox_page(request: Request, user: PageUser, db: ReadSessionDep, unread: int = 0) -> Response:
    return _page(request, db, user.id if user.kind == "user" else 0, bool(unread))


@router.get("/inbox/unread-count")
def inbox_badge(user: PageUser, db: ReadSessionDep) -> Response:
    count = unread_count(db, user.id)
    html = f'<span class="badge badge-error" id="inbox-count" title="未读消息">{count}</span>' if count else ""
    return HTMLResponse(html, headers={"Vary": "HX-Request", "Cache-Control": "no-store"})


@router.get("/inbox/unread")
def inbox_home(request: Request, user: PageUser, db: ReadSessionDep) -> Response:
    """The home page's list of unread messages (an htmx fragment)."""
    return render(
        request,
        "integration/inbox_home.html",
        {"messages": messages(db, user.id, unread_only=True, limit=10), "unread": unread_count(db, user.id)},
    )


@router.post("/inbox/{message_id}/read")
def inbox_read(request: Request, message_id: int, user: PageUser, db: SessionDep) -> Response:
    mark_read(db, user.id, message_id)
    db.flush()
    return _page(request, db, user.id, False)


@router.post("/inbox/read-all")
def inbox_read_all(request: Request, user: PageUser, db: SessionDep) -> Response:
    mark_read(db, user.id)
    db.flush()
    return _page(request, db, user.id, False)
