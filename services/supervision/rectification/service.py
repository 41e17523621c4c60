"""The rules of findings and rectification orders (整改).

The transition table says, for each (state, action), the next state and who may act; one
function (``transition``) applies it and writes the order's event row and the outbox event.
Overdue is derived (open and past the deadline). The daily pass (``daily``), run by the kernel's
schedule once a day across replicas, emits ``...overdue`` once per order and escalates (督办)
an order that has stayed overdue ``escalate_after_workdays`` working days: a 督办 record, the next
level told, a new deadline. Every update is conditional on the state it read, so a second runner
doing the same slot changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Unpack

import orjson
from sqlmodel import Session

from services.common import clock
from services.common.auth import Caller
from services.common.errors import Conflict, ErrorDetail, Forbidden
from services.common.idempotency import IdempotentWrite, Written
from services.common.pagination import clamp_limit
from services.supervision import photo_repository as photo_repo
from services.supervision import photos as photo_store
from services.supervision import scope
from services.supervision.config import Settings
from services.supervision.deps import utc
from services.supervision.errors import conflict, invalid, not_found
from services.supervision.models import finding_t, outbox, plan_t, rect_t
from services.supervision.plans import repository as plans_repo
from services.supervision.rectification import repository as repo
from services.supervision.rectification.schemas import FindingIn, TransitionIn
from services.supervision.vocab import ACTION_NAMES, CATEGORY_NAMES, RECT_STATE_NAMES

Who = Callable[[Caller, dict[str, Any]], bool]


def _party(caller: Caller, order: dict[str, Any]) -> bool:
    return scope.is_party(caller, order)


def _checker(caller: Caller, order: dict[str, Any]) -> bool:
    """The inspector (of the order's team) or the office verifies or rejects the fix."""
    if caller.role in ("admin", "office"):
        return True
    return caller.role == "inspector" and scope.sees_team(caller, order.get("team_code"))


# (state, action) -> (next state, who may, reason required)
TRANSITIONS: dict[tuple[str, str], tuple[str, Who, bool]] = {
    ("issued", "accept"): ("accepted", _party, False),
    ("accepted", "submit_fix"): ("fix_submitted", _party, True),
    ("fix_submitted", "verify"): ("verified", _checker, True),
    ("fix_submitted", "reject"): ("accepted", _checker, True),
}


def allowed_actions(caller: Caller, order: dict[str, Any]) -> list[str]:
    return [a for (s, a), (_, who, _) in TRANSITIONS.items() if s == order["state"] and who(caller, order)]


def is_overdue(order: dict[str, Any], today: date) -> bool:
    return bool(order["is_open"]) and order["deadline"] < today


# What the public forms copy from the rows as they are: what and where, whose and in which state.
_SUBJECT = ("plan_id", "target_code", "county_code", "category", "severity")
_PARTY = ("party_kind", "party_code", "state")
ORDER_KEYS: tuple[str, ...] = (
    "id",
    "finding_id",
    *_SUBJECT,
    "target_name",
    *_PARTY,
    "issued_on",
    "deadline",
    "escalation_level",
    "escalated_to",
)
ORDER_KEYS += ("fix_note", "last_reason", "rejections", "verified_by")
FINDING_KEYS: tuple[str, ...] = (
    "id",
    "inspection_id",
    *_SUBJECT,
    "target_name",
    "description",
    "latitude",
    "longitude",
    *_PARTY,
)
FINDING_KEYS += ("created_by",)


def order_public(caller: Caller, order: dict[str, Any], today: date) -> dict[str, Any]:
    return {k: order[k] for k in ORDER_KEYS} | {
        "category_name": CATEGORY_NAMES.get(order["category"], order["category"]),
        "state_name": RECT_STATE_NAMES[order["state"]],
        "overdue": is_overdue(order, today),
        "verified_at": utc(order["verified_at"]),
        "allowed_actions": allowed_actions(caller, order),
        "created_at": utc(order["created_at"]),
        "updated_at": utc(order["updated_at"]),
    }


def finding_public(row: dict[str, Any], order_id: int | None) -> dict[str, Any]:
    return {k: row[k] for k in FINDING_KEYS} | {
        "category_name": CATEGORY_NAMES.get(row["category"], row["category"]),
        "rectification_id": order_id,
        "created_at": utc(row["created_at"]),
    }


# --- findings ---------------------------------------------------------------------------------


def raise_finding(
    session: Session,
    settings: Settings,
    cal: Any,
    *,
    plan: dict[str, Any] | None,
    target: dict[str, Any],
    category: str,
    severity: str,
    description: str,
    photo_rows: list[int],
    latitude: float | None,
    longitude: float | None,
    created_by: str,
    inspection_id: int | None = None,
    item_id: str | None = None,
    party: tuple[str, str] | None = None,
    check_duplicate: bool = True,
) -> tuple[int, int | None]:
    """A finding and its rectification order (issued at once). Returns (finding id, order id).

    An open finding of the same target and category already exists: nothing new is made and
    that one is returned (the order id is then None), so a failed item does not pile up orders.
    """
    duplicate = repo.open_duplicate(session, target["target_code"], category) if check_duplicate else None
    if duplicate is not None:
        return duplicate["id"], None
    kind = target.get("kind", "")
    if party is None:
        party = ("unit", target["target_code"]) if kind == "unit" else ("county", target["county_code"])
    now = clock.now()
    finding_id = repo.insert_finding(
        session,
        {
            "plan_id": plan["id"] if plan else None,
            "inspection_id": inspection_id,
            "item_id": item_id,
            "target_code": target["target_code"],
            "target_name": target.get("name", "")[:128],
            "target_kind": kind,
            "county_code": target["county_code"],
            "category": category,
            "severity": severity,
            "description": description,
            "photos": photo_rows,
            "latitude": latitude,
            "longitude": longitude,
            "party_kind": party[0],
            "party_code": party[1],
            "state": "open",
            "created_by": created_by,
            "created_at": now,
        },
    )
    today = clock.today()
    deadline = cal.add_workdays(today, settings.deadline_days(severity))
    order = {
        "finding_id": finding_id,
        "plan_id": plan["id"] if plan else None,
        "team_code": plan["team_code"] if plan else None,
        "target_code": target["target_code"],
        "target_name": target.get("name", "")[:128],
        "county_code": target["county_code"],
        "category": category,
        "severity": severity,
        "party_kind": party[0],
        "party_code": party[1],
        "state": "issued",
        "is_open": True,
        "issued_on": today,
        "deadline": deadline,
        "escalated_to": [],
        "fix_photos": [],
        "created_at": now,
        "updated_at": now,
    }
    order_id = repo.insert_order(session, order)
    repo.insert_event(
        session,
        {
            "rectification_id": order_id,
            "action": "issue",
            "from_state": None,
            "to_state": "issued",
            "actor": created_by,
            "role": "inspector",
            "reason": description,
            "at": now,
        },
    )
    _emit_issued(session, finding_id, order | {"id": order_id})
    return finding_id, order_id


def _emit_issued(session: Session, finding_id: int, order: dict[str, Any]) -> None:
    outbox.emit(
        session,
        "finding",
        "created",
        str(finding_id),
        {"id": finding_id, "target_code": order["target_code"], "category": order["category"]},
    )
    deadline = order["deadline"].isoformat()
    repo.emit_order(session, "issued", order, finding_id=finding_id, deadline=deadline, category=order["category"])


def create_finding(
    session: Session,
    settings: Settings,
    cal: Any,
    caller: Caller,
    body: FindingIn,
    write: IdempotentWrite | None = None,
) -> Written:
    """A free finding. A likely duplicate (open, same target and category) is a 409 naming it,
    unless ``allow_duplicate``. With an ``Idempotency-Key`` (the tablet's id of the finding) a
    resend of the same body answers the first finding again and makes nothing; another body
    under the key is a 409 (the tablet's offline queue, as for inspections and photos)."""
    scope.require_inspector(caller)

    def make() -> Written:
        # as JSON (times as ISO text): the idempotency record keeps this answer for a resend
        return Written(orjson.loads(orjson.dumps(_create_finding(session, settings, cal, caller, body))), created=True)

    return write.run(session, body, make) if write is not None else make()


def _create_finding(session: Session, settings: Settings, cal: Any, caller: Caller, body: FindingIn) -> dict[str, Any]:
    from services.supervision.inspections import service as inspections

    plan = None
    if body.plan_id is not None:
        plan = plans_repo.plan(session, body.plan_id)
        if plan is None or not scope.sees_team(caller, plan["team_code"]):
            raise invalid("plan_id", "督导计划不存在或不属于本组", body.plan_id)
    photo_rows: list[int] = []
    if body.photo_ids:
        if not body.inspection:
            raise invalid("inspection", "引用照片时须给出照片所属检查的 client_id")
        row, _ = inspections.visible(session, caller, body.inspection)
        have = {p["photo_id"]: p["id"] for p in photo_repo.photos_of(session, "inspection", row["id"])}
        missing = [p for p in body.photo_ids if p not in have]
        if missing:
            raise invalid("photo_ids", f"照片尚未上传：{'、'.join(missing)}")
        photo_rows = [have[p] for p in body.photo_ids]
    duplicate = repo.open_duplicate(session, body.target_code, body.category)
    if duplicate is not None and not body.allow_duplicate:
        raise Conflict(
            f"该对象已有未结的同类问题（问题 {duplicate['id']}），可能重复；确认仍要新建请设置 allow_duplicate",
            code="likely_duplicate",
            details=[ErrorDetail(field="target_code", message="疑似重复", value=duplicate["id"])],
        )
    target = {"target_code": body.target_code, "county_code": body.county_code, "name": body.target_name}
    finding_id, _ = raise_finding(
        session,
        settings,
        cal,
        plan=plan,
        target=target,
        category=body.category,
        severity=body.severity,
        description=body.description,
        photo_rows=photo_rows,
        latitude=body.latitude,
        longitude=body.longitude,
        created_by=caller.name or caller.sub,
        party=(body.party_kind, body.party_code or body.county_code),
        check_duplicate=False,
    )
    created = repo.finding(session, finding_id)
    assert created is not None
    return finding_public(created, (repo.order_of_finding(session, finding_id) or {}).get("id"))


def duplicates(session: Session, caller: Caller, target_code: str, category: str) -> list[dict[str, Any]]:
    """What to offer before a new finding is made."""
    scope.require_reader(caller)
    row = repo.open_duplicate(session, target_code, category)
    if row is None:
        return []
    return [finding_public(row, (repo.order_of_finding(session, row["id"]) or {}).get("id"))]


def _finding_condition(caller: Caller) -> Any:
    scope.require_reader(caller)
    if caller.is_city_wide:
        return finding_t.c.id.is_not(None)
    return finding_t.c.plan_id.in_(plans_repo.plan_ids(scope.team_filter(caller, plan_t.c.team_code)))


def list_findings(
    session: Session, caller: Caller, filters: dict[str, Any], cursor: str | None, limit: int
) -> dict[str, Any]:
    limit = clamp_limit(limit)
    rows, next_cursor = repo.findings(session, _finding_condition(caller), filters, cursor, limit)
    orders = repo.orders_of_findings(session, [r["id"] for r in rows])
    return {"items": [finding_public(r, orders.get(r["id"])) for r in rows], "next_cursor": next_cursor}


def finding_points(session: Session, caller: Caller, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    rows = repo.points(session, _finding_condition(caller), filters, min(limit, 5000))
    return [r | {"category_name": CATEGORY_NAMES.get(r["category"], r["category"])} for r in rows]


def get_finding(session: Session, caller: Caller, finding_id: int) -> dict[str, Any]:
    row = repo.finding(session, finding_id)
    order = repo.order_of_finding(session, finding_id)
    visible = row is not None and ((order is not None and scope.sees_order(caller, order)) or (caller.is_city_wide))
    if not visible or row is None:
        raise not_found("问题", finding_id)
    out = finding_public(row, order["id"] if order else None)
    return out | {"photos": [photo_store.photo_public(p) for p in photo_repo.photos_by_ids(session, row["photos"])]}


# --- orders -----------------------------------------------------------------------------------


def visible_order(session: Session, caller: Caller, order_id: int) -> dict[str, Any]:
    scope.require_key_permission(caller)
    order = repo.order(session, order_id)
    if order is None or not scope.sees_order(caller, order):
        raise not_found("整改通知", order_id)
    return order


def list_orders(
    session: Session,
    caller: Caller,
    *,
    cursor: str | None,
    limit: int,
    **filters: Unpack[repo.OrderFilters],
) -> dict[str, Any]:
    scope.require_key_permission(caller)
    limit = clamp_limit(limit)
    today = clock.today()
    condition = scope.order_filter(caller, rect_t)
    rows, next_cursor = repo.orders(session, condition, today=today, cursor=cursor, limit=limit, **filters)
    return {"items": [order_public(caller, r, today) for r in rows], "next_cursor": next_cursor}


def get_order(session: Session, caller: Caller, order_id: int) -> dict[str, Any]:
    """The order with its finding, before/after photos, events and 督办 records."""
    order = visible_order(session, caller, order_id)
    finding = repo.finding(session, order["finding_id"])
    assert finding is not None
    before = photo_repo.photos_by_ids(session, finding["photos"])
    after = photo_repo.photos_of(session, "rectification", order_id)
    fix = set(order["fix_photos"] or [])
    return order_public(caller, order, clock.today()) | {
        "finding": finding_public(finding, order_id),
        "before_photos": [photo_store.photo_public(p) for p in before],
        "after_photos": [photo_store.photo_public(p) for p in after if not fix or p["id"] in fix],
        "events": [
            {k: e[k] for k in ("action", "from_state", "to_state", "actor", "role", "reason")}
            | {
                "action_name": ACTION_NAMES.get(e["action"], "下发" if e["action"] == "issue" else e["action"]),
                "at": utc(e["at"]),
            }
            for e in repo.events(session, order_id)
        ],
        "escalations": [
            {k: e[k] for k in ("level", "escalated_to", "reason", "old_deadline", "new_deadline")}
            | {"at": utc(e["at"])}
            for e in repo.escalations(session, order_id)
        ],
    }


def transition(session: Session, caller: Caller, order_id: int, body: TransitionIn) -> dict[str, Any]:
    """Apply one row of the transition table, or refuse: 403 for the wrong actor, 409 for the
    wrong state, 422 for a missing reason or after-photo."""
    order = visible_order(session, caller, order_id)
    rule = TRANSITIONS.get((order["state"], body.action))
    if rule is None:
        allowed = [a for (s, a) in TRANSITIONS if s == order["state"]]
        names = "、".join(ACTION_NAMES[a] for a in allowed) or "无"
        raise conflict(
            f"整改通知当前为“{RECT_STATE_NAMES[order['state']]}”，不能{ACTION_NAMES[body.action]}（可执行：{names}）",
            code="invalid_transition",
            field="action",
        )
    next_state, who, needs_reason = rule
    if not who(caller, order):
        raise Forbidden(f"您不能对此整改通知执行“{ACTION_NAMES[body.action]}”")
    reason = (body.reason or "").strip() or None
    if needs_reason and not reason:
        raise invalid("reason", f"{ACTION_NAMES[body.action]}须填写说明")
    now = clock.now()
    values: dict[str, Any] = {"state": next_state, "updated_at": now}
    if body.action == "submit_fix":
        have = {p["photo_id"]: p["id"] for p in photo_repo.photos_of(session, "rectification", order_id)}
        if not body.photo_ids:
            raise invalid("photo_ids", "提交整改须附整改后的照片")
        missing = [p for p in body.photo_ids if p not in have]
        if missing:
            raise invalid("photo_ids", f"照片尚未上传：{'、'.join(missing)}")
        values |= {"fix_note": reason, "fix_photos": [have[p] for p in body.photo_ids]}
    elif body.action == "verify":
        values |= {
            "is_open": False,
            "verified_at": now,
            "verified_by": caller.name or caller.sub,
            "last_reason": reason,
        }
    elif body.action == "reject":
        values |= {"last_reason": reason, "rejections": order["rejections"] + 1}
    if repo.update_order(session, order_id, values, where={"state": order["state"]}) != 1:
        raise conflict("整改通知刚被他人处理，请刷新后重试", code="concurrent_transition")
    if body.action == "verify":
        repo.set_finding_state(session, order["finding_id"], "closed")
    repo.insert_event(
        session,
        {
            "rectification_id": order_id,
            "action": body.action,
            "from_state": order["state"],
            "to_state": next_state,
            "actor": caller.name or caller.sub,
            "role": caller.role,
            "reason": reason,
            "at": now,
        },
    )
    verb = {"accept": "accepted", "submit_fix": "fix_submitted", "verify": "verified", "reject": "rejected"}[
        body.action
    ]
    repo.emit_order(session, verb, order, state=next_state, reason=reason)
    return get_order(session, caller, order_id)


def board(session: Session, caller: Caller) -> dict[str, Any]:
    """Counts by state, with overdue and escalated, for the rectification board."""
    by_state, overdue, escalated = repo.board_counts(session, scope.order_filter(caller, rect_t), clock.today())
    return {
        "by_state": [
            {"state": s, "state_name": n, "count": int(by_state.get(s, 0))} for s, n in RECT_STATE_NAMES.items()
        ],
        "overdue": overdue,
        "escalated": escalated,
    }
