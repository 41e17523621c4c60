"""The in-app inbox (消息中心): one more subscriber of the same events. Who receives an event follows
its data (unit, county, team, owner), a message per user and event; pages to read and mark read, the
unread count in the navigation and the unread list on the home page (both loaded by htmx)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.engine import Connection
from sqlmodel import Session
from starlette.responses import HTMLResponse, Response

from gateway import repository
from gateway.deps import PageUser
from gateway.integration import identity_repository, inbox_repository
from gateway.integration.adapters import CHECKER_STATES, EventView, describe, link_path, parts
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
# An order's inspection team hears of it when a fix waits for its check; in the OA also when the check
# is made (a rejection, the order verified), which moves the inspectors' to-do on (``CHECKER_STATES``).
TEAM_ORDER_VERBS = {"fix_submitted"}
OA_TEAM_ORDER_VERBS = frozenset(CHECKER_STATES)


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
    unit_leaders: set[int] = field(default_factory=set)  # user ids: see ``recipients``

    @classmethod
    def load(cls, conn: Connection) -> Directory:
        return cls(
            repository.active_user_scopes(conn),
            identity_repository.external_ids(conn, "oa"),
            repository.unit_leader_ids(conn),
        )

    @cached_property
    def roles(self) -> dict[int, str]:
        return {u[0]: u[1] for u in self.users}

    def oa_receivers(self, user_ids: list[int]) -> list[tuple[str, str | None]]:
        """(OA login, role) of those of ``user_ids`` mapped to an OA account, by login."""
        return sorted((self.oa[u], self.roles.get(u)) for u in user_ids if u in self.oa)


def recipients(directory: Directory, ev: EventView, *, inbox: bool = False) -> list[int]:
    """The active users an event concerns: without ``inbox``, the OA's receivers; with it, those told in
    the platform's own inbox. An order's inspection team is among them when a fix waits for its check,
    and in the OA also when the check is made, so its to-do there is closed (``CHECKER_STATES``)."""
    service, entity, verb = parts(ev.type)
    data = ev.data
    if service == "gateway":
        owner = data.get("owner_user_id")
        return [u[0] for u in directory.users if (u[0] == owner if owner else u[1] == "admin")]
    units = set(_codes(data, "unit_code", "unit_codes"))
    counties = set(_codes(data, "county_code", "county_codes"))
    teams = set(_codes(data, "team_code", "team_codes"))
    if entity == "rectification":
        # the county or member unit that answers for the order, each step of it (the OA's to-do follows
        # it from 待办 to 已办)
        party = str(data.get("party_code") or "")
        if data.get("party_kind") == "unit":
            units.add(party)
        elif data.get("party_kind") == "county":
            counties.add(party)
        if verb not in (TEAM_ORDER_VERBS if inbox else OA_TEAM_ORDER_VERBS):
            teams = set()
    everyone = entity == "circular" and not (units or counties or teams)
    # A unit's leader hears of its unit's 督办 (an order's or a task's escalation names the unit's
    # leader) and of circulars, not of each step its liaisons handle.
    for_leaders = entity == "circular" or (verb == "escalated" and _names_unit_leader(data))
    out = []
    for uid, role, unit, county, team in directory.users:
        if role == "unit" and uid in directory.unit_leaders:
            if for_leaders and (unit in units or everyone):
                out.append(uid)
            continue
        if (
            (role == "unit" and unit in units)
            or (role == "county" and county in counties)
            or (role == "inspector" and team in teams)
            or (role == "office" and verb in OFFICE_VERBS)
            or (everyone and role != "admin")
        ):
            out.append(uid)
    return out


def _names_unit_leader(data: dict[str, Any]) -> bool:
    """An escalation addressed to the unit's leader: a task's ``to: ["unit_leader", ...]``, an order's
    ``escalated_to: ["office", "unit_leader:U05"]``."""
    named = [str(t) for t in (data.get("to") or []) + (data.get("escalated_to") or [])]
    return any(t == "unit_leader" or t.startswith("unit_leader:") for t in named)


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
        for uid in recipients(directory, ev, inbox=True)
    ]


def store(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert the messages not stored yet (a redelivered event adds nothing twice)."""
    if not rows:
        return
    have = inbox_repository.stored_message_keys(conn, {r["event_id"] for r in rows})
    new = [r for r in rows if (r["user_id"], r["event_id"]) not in have]
    if new:
        inbox_repository.insert_messages(conn, new)


# ---------------------------------------------------------------------------------------------
# Pages

router = APIRouter(include_in_schema=False)


def _page(request: Request, db: Session, user_id: int, unread_only: bool, block: str | None = "panel") -> Response:
    return render(
        request,
        "integration/inbox.html",
        {
            "messages": inbox_repository.messages(db, user_id, unread_only=unread_only, limit=200),
            "unread": inbox_repository.unread_count(db, user_id),
            "unread_only": unread_only,
        },
        block=block,
    )


@router.get("/inbox")
def inbox_page(request: Request, user: PageUser, db: ReadSessionDep, unread: int = 0) -> Response:
    return _page(request, db, user.id if user.kind == "user" else 0, bool(unread))


@router.get("/inbox/unread-count")
def inbox_badge(user: PageUser, db: ReadSessionDep) -> Response:
    count = inbox_repository.unread_count(db, user.id)
    html = f'<span class="badge badge-error" id="inbox-count" title="未读消息">{count}</span>' if count else ""
    return HTMLResponse(html, headers={"Vary": "HX-Request", "Cache-Control": "no-store"})


@router.get("/inbox/unread")
def inbox_home(request: Request, user: PageUser, db: ReadSessionDep) -> Response:
    """The home page's list of unread messages (an htmx fragment)."""
    return render(
        request,
        "integration/inbox_home.html",
        {
            "messages": inbox_repository.messages(db, user.id, unread_only=True, limit=10),
            "unread": inbox_repository.unread_count(db, user.id),
        },
    )


@router.post("/inbox/{message_id}/read")
def inbox_read(request: Request, message_id: int, user: PageUser, db: SessionDep) -> Response:
    inbox_repository.mark_read(db, user.id, clock.now(), message_id)
    db.flush()
    return _page(request, db, user.id, False)


@router.post("/inbox/read-all")
def inbox_read_all(request: Request, user: PageUser, db: SessionDep) -> Response:
    inbox_repository.mark_read(db, user.id, clock.now())
    db.flush()
    return _page(request, db, user.id, False)
