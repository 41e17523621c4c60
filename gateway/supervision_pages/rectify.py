"""Findings (问题: a list and a map) and rectification orders (整改): the office's board by state
with overdue and escalated orders first, an order's page with before/after photos side by side and
the transition buttons, and 我的整改 of a member unit or a county (sign, submit the fix with
after-photos and a note)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response

from gateway.deps import PageUser
from gateway.render import SECURITY_HEADERS, render, toast
from gateway.security import Principal
from gateway.supervision_pages.api import (
    ACTION_FROM,
    ACTION_ROLES,
    ACTIONS,
    BOARD_STATES,
    FINDING_CATEGORIES,
    PARTY_ROLES,
    READ_ROLES,
    RECT_STATES,
    SEVERITIES,
    Supervision,
    choices,
    label,
    photo_urls,
    require,
    today,
)
from gateway.supervision_pages.office import county_names, ctx, party_names
from services.common.errors import AppError, InvalidInput

router = APIRouter()

BOARD_ROLES = READ_ROLES | {"inspector"}
BOARD_LIMIT = 50


def is_overdue(o: dict[str, Any]) -> bool:
    if "overdue" in o:
        return bool(o["overdue"])
    deadline = str(o.get("deadline") or "")
    return bool(o.get("is_open", o.get("state") != "verified")) and bool(deadline) and deadline < today().isoformat()


def order_row(o: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    party = o.get("party_name") or names.get(o.get("party_code", ""), "")
    return {
        **o,
        "category_label": label(FINDING_CATEGORIES, o.get("category")),
        "severity_label": label(SEVERITIES, o.get("severity")),
        "state_label": label(RECT_STATES, o.get("state")),
        "party_label": party or o.get("party_code", ""),
        "county_name": names.get(o.get("county_code", ""), o.get("county_code", "")),
        "is_overdue": is_overdue(o),
        "is_escalated": int(o.get("escalation_level") or 0) > 0,
    }


def urgency(o: dict[str, Any]) -> tuple[int, int, str, int]:
    """Escalated first, then overdue, then the nearest deadline."""
    return (
        0 if o["is_escalated"] else 1,
        0 if o["is_overdue"] else 1,
        str(o.get("deadline") or ""),
        int(o.get("id") or 0),
    )


# --- findings ----------------------------------------------------------------------------------------


def finding_filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: q.get(k, "").strip() for k in ("plan", "county", "category", "state")}


@router.get("/supervision/findings")
async def findings_page(request: Request, user: PageUser, cursor: str = "") -> Response:
    require(user, BOARD_ROLES)
    filters = finding_filters(request)
    api = Supervision(request, user)
    (rows, next_cursor), names = await asyncio.gather(
        api.items("/findings", **filters, cursor=cursor or None, limit=50), county_names(request, user)
    )
    for f in rows:
        f["category_label"] = label(FINDING_CATEGORIES, f.get("category"))
        f["severity_label"] = label(SEVERITIES, f.get("severity"))
        f["county_name"] = names.get(f.get("county_code", ""), f.get("county_code", ""))
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render(
        request,
        "supervision/findings.html",
        ctx(
            user,
            rows=rows,
            next_cursor=next_cursor,
            filters=filters,
            query=query,
            **choices(names, categories=FINDING_CATEGORIES),
        ),
        block="findings",
    )


@router.get("/supervision/findings/map")
async def findings_map(request: Request, user: PageUser) -> Response:
    require(user, BOARD_ROLES)
    settings = request.app.state.settings
    names = await county_names(request, user)
    return render(
        request,
        "supervision/findings_map.html",
        ctx(
            user,
            filters=finding_filters(request),
            **choices(names, categories=FINDING_CATEGORIES),
            tile_url=settings.map_tile_url,
            tile_attribution=settings.map_tile_attribution,
        ),
    )


@router.get("/supervision/findings/points")
async def findings_points(request: Request, user: PageUser) -> Response:
    """``{"items": [[id, lat, lng, category, label, target, state], ...]}`` for the map, from the
    service's compact ``/findings/points`` (newest first, at most 2,000)."""
    require(user, BOARD_ROLES)
    rows = await Supervision(request, user).get("/findings/points", **finding_filters(request), limit=2000)
    items = [
        [
            f.get("id"),
            f["latitude"],
            f["longitude"],
            f.get("category"),
            f.get("category_name") or label(FINDING_CATEGORIES, f.get("category")),
            f.get("target_code"),
            f.get("state"),
        ]
        for f in rows
        if f.get("latitude") is not None and f.get("longitude") is not None
    ]
    return JSONResponse({"items": items, "total": len(items)}, headers=SECURITY_HEADERS)


# --- the rectification board -------------------------------------------------------------------------


@router.get("/supervision/rectifications")
async def board(request: Request, user: PageUser) -> Response:
    require(user, BOARD_ROLES)
    api = Supervision(request, user)
    overdue_only = request.query_params.get("overdue") == "1"
    params = {"overdue": "true" if overdue_only else None, "limit": BOARD_LIMIT}
    answers, counts, names = await asyncio.gather(
        asyncio.gather(*(api.items("/rectifications", state=s, **params) for s in BOARD_STATES)),
        api.get("/rectifications/board"),
        party_names(request, user),
    )
    totals = {c["state"]: c["count"] for c in counts.get("by_state", [])}
    columns = []
    for state, (items, more) in zip(BOARD_STATES, answers, strict=True):
        rows = sorted((order_row(o, names) for o in items), key=urgency)
        total = len(rows) if overdue_only else totals.get(state, len(rows))
        columns.append({"state": state, "label": RECT_STATES[state], "rows": rows, "more": bool(more), "total": total})
    return render(
        request,
        "supervision/board.html",
        ctx(
            user,
            columns=columns,
            overdue_only=overdue_only,
            overdue=counts.get("overdue", 0),
            escalated=counts.get("escalated", 0),
        ),
    )


@router.get("/supervision/rectifications/list")
async def order_list(
    request: Request, user: PageUser, state: str = "", overdue: str = "", cursor: str = ""
) -> Response:
    """Every order of a state (the board shows the first 50 of each), page by page."""
    require(user, BOARD_ROLES)
    api = Supervision(request, user)
    params = {"state": state or None, "overdue": "true" if overdue == "1" else None}
    (items, next_cursor), names = await asyncio.gather(
        api.items("/rectifications", **params, cursor=cursor or None, limit=50), party_names(request, user)
    )
    rows = [order_row(o, names) for o in items]
    return render(
        request,
        "supervision/orders.html",
        ctx(user, rows=rows, state=state, overdue=overdue, next_cursor=next_cursor, states=list(RECT_STATES.items())),
    )


@router.get("/supervision/my")
async def my_orders(request: Request, user: PageUser, state: str = "") -> Response:
    """我的整改: the orders a member unit or a county answers for (the service scopes them)."""
    require(user, PARTY_ROLES | READ_ROLES)
    api = Supervision(request, user)
    items = await api.all_items("/rectifications", limit=500, state=state or None)
    names = await party_names(request, user)
    rows = sorted((order_row(o, names) for o in items), key=lambda o: (o.get("state") == "verified", *urgency(o)))
    return render(
        request,
        "supervision/my.html",
        ctx(user, rows=rows, state=state, states=list(RECT_STATES.items())),
    )


# --- one order -------------------------------------------------------------------------------------


def allowed_actions(user: Principal, order: dict[str, Any]) -> list[tuple[str, str]]:
    if isinstance(order.get("allowed_actions"), list):  # the service says what this caller may do
        return [(a, ACTIONS.get(a, a)) for a in order["allowed_actions"] if a in ACTIONS]
    state = order.get("state")
    return [(a, ACTIONS[a]) for a in ACTIONS if user.role in ACTION_ROLES[a] and state in ACTION_FROM[a]]


async def _order_context(request: Request, user: Principal, order_id: int) -> dict[str, Any]:
    api = Supervision(request, user)
    order = await api.get(f"/rectifications/{order_id}")
    names = await party_names(request, user)
    row = order_row(order, names)
    finding = order.get("finding") or {}
    before = photo_urls(order.get("before_photos") or finding.get("photos"))
    after = photo_urls(order.get("after_photos"))
    row["target_name"] = finding.get("target_name") or ""
    return ctx(
        user,
        o=row,
        finding=finding,
        before=before,
        after=after,
        events=order.get("events") or [],
        escalations=order.get("escalations") or [],
        actions=allowed_actions(user, order),
        action_labels=ACTIONS,
        state_labels=RECT_STATES,
        errors={},
    )


@router.get("/supervision/rectifications/{order_id}")
async def order_page(request: Request, user: PageUser, order_id: int) -> Response:
    require(user, BOARD_ROLES | PARTY_ROLES)
    return render(request, "supervision/order.html", await _order_context(request, user, order_id))


@router.post("/supervision/rectifications/{order_id}/transition")
async def transition(request: Request, user: PageUser, order_id: int) -> Response:
    """A button of the order's page: accept, submit_fix (with after-photos), verify or reject."""
    require(user, BOARD_ROLES | PARTY_ROLES)
    form = await request.form()
    action = str(form.get("action") or "")
    reason = str(form.get("reason") or "").strip()
    api = Supervision(request, user)
    try:
        if action not in ACTIONS:
            raise InvalidInput.field("action", "操作无效")
        body: dict[str, Any] = {"action": action, "reason": reason or None}
        if action == "submit_fix":
            files = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
            if not files:
                raise InvalidInput.field("photos", "提交整改须附整改后的照片")
            body["photo_ids"] = [await api.put_photo(f"/rectifications/{order_id}", f) for f in files]
        await api.call("POST", f"/rectifications/{order_id}/transition", json=body)
    except AppError as exc:
        if exc.status_code >= 500:
            raise
        context = await _order_context(request, user, order_id)
        context["errors"] = {"form": exc.message, **{d.field or "form": d.message for d in exc.details}}
        context["reason"] = reason
        if request.headers.get("hx-request") == "true":
            return Response(toast(exc.message, "error"), status_code=exc.status_code, media_type="text/html")
        return render(request, "supervision/order.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/supervision/rectifications/{order_id}", status_code=303)


# --- a finding added freely (outside a checklist item) ------------------------------------------

FINDING_ROLES = frozenset({"inspector", "office", "admin"})
FINDING_FIELDS = ("plan_id", "target_code", "target_name", "county_code", "category", "severity", "description")


async def _finding_form(
    request: Request, user: Principal, form: dict[str, Any], errors: dict[str, str], duplicates: list[Any], status: int
) -> Response:
    names = await county_names(request, user)
    return render(
        request,
        "supervision/finding_form.html",
        ctx(
            user,
            form=form,
            errors=errors,
            duplicates=duplicates,
            **choices(names, categories=FINDING_CATEGORIES, severities=SEVERITIES),
        ),
        status_code=status,
    )


@router.get("/supervision/findings/new")
async def finding_new(request: Request, user: PageUser, plan: str = "", target: str = "") -> Response:
    require(user, FINDING_ROLES)
    form: dict[str, Any] = {"plan_id": plan, "target_code": target, "severity": "minor", "party_kind": "county"}
    if plan.isdigit() and target:
        targets = await Supervision(request, user).all_items(f"/plans/{plan}/targets")
        found = next((t for t in targets if t.get("target_code") == target), None)
        if found:
            form |= {"target_name": found.get("name", ""), "county_code": found.get("county_code", "")}
    return await _finding_form(request, user, form, {}, [], 200)


@router.post("/supervision/findings")
async def finding_create(request: Request, user: PageUser) -> Response:
    """A new finding; an open one of the same target and category is offered first (the
    service answers 409), and made anyway only when the inspector confirms."""
    require(user, FINDING_ROLES)
    data = await request.form()
    form: dict[str, Any] = {k: str(data.get(k) or "").strip() for k in (*FINDING_FIELDS, "party_kind", "party_code")}
    allow = data.get("allow_duplicate") == "1"
    body: dict[str, Any] = {k: form[k] for k in FINDING_FIELDS if form[k]}
    body["plan_id"] = int(form["plan_id"]) if form["plan_id"].isdigit() else None
    body["party_kind"] = form["party_kind"] or "county"
    if form["party_code"]:
        body["party_code"] = form["party_code"]
    body["allow_duplicate"] = allow
    api = Supervision(request, user)
    try:
        finding = await api.call("POST", "/findings", json=body)
    except AppError as exc:
        if exc.status_code == 409 and not allow:
            dups = await api.get("/findings/duplicates", target_code=form["target_code"], category=form["category"])
            return await _finding_form(request, user, form, {"form": exc.message}, dups, 409)
        if exc.status_code >= 500 or exc.status_code == 403:
            raise
        errors = {"form": exc.message, **{d.field or "form": d.message for d in exc.details}}
        return await _finding_form(request, user, form, errors, [], exc.status_code)
    order_id = finding.get("rectification_id")
    return RedirectResponse(f"/supervision/rectifications/{order_id}" if order_id else "/supervision/findings", 303)
