"""The inspector's tablet pages: today's targets, one target's checklist (filled offline by
``static/js/inspect.js`` and kept in IndexedDB until the queue has sent it), what waits to be sent,
and the service worker that lets these pages open again without a network."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.deps import PageUser
from gateway.render import SECURITY_HEADERS, render
from gateway.supervision_pages.api import (
    FINDING_CATEGORIES,
    ITEM_TYPES,
    SEVERITIES,
    TARGET_KINDS,
    Supervision,
    choices,
    item_label,
    label,
    require,
    seg,
    today,
)
from services.common.errors import Conflict, InvalidInput, NotFound

router = APIRouter()

INSPECT_ROLES = frozenset({"inspector", "admin", "office"})
SW_FILE = Path(__file__).resolve().parent.parent / "static" / "js" / "inspect-sw.js"


def _day(value: Any) -> date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def is_current(plan: dict[str, Any], day: date) -> bool:
    start, end = _day(plan.get("starts_on")), _day(plan.get("ends_on"))
    return plan.get("state") != "finished" and (start is None or start <= day) and (end is None or day <= end)


def target_name(t: dict[str, Any]) -> str:
    return str(t.get("name") or t.get("target_code") or "")


def target_row(t: dict[str, Any], plan_names: dict[Any, str]) -> dict[str, Any]:
    return {
        **t,
        "name": target_name(t),
        "kind_label": label(TARGET_KINDS, t.get("kind")),
        "plan_name": plan_names.get(t.get("plan_id"), ""),
        "href": f"/supervision/inspect/{seg(t['plan_id'])}/{seg(t['target_code'])}",
    }


@router.get("/supervision/today")
async def today_page(request: Request, user: PageUser, all: str = "", inspector: str = "") -> Response:
    """Today's list of the signed-in inspector, who the service knows from the signed token
    (``all=1``: every target of their current plans). The office may look at one inspector's
    list with ``?inspector=<username>``; an inspector always sees their own."""
    require(user, INSPECT_ROLES)
    api = Supervision(request, user)
    day = today()
    plans = [p for p in await api.all_items("/plans") if is_current(p, day)]
    names = {p["id"]: p.get("name", "") for p in plans}
    own = user.role == "inspector"
    whose = user.username if own else inspector.strip()
    if all:
        mine = whose or None
        lists = await asyncio.gather(*(api.all_items(f"/plans/{seg(p['id'])}/targets", inspector=mine) for p in plans))
        targets = [{**t, "plan_id": p["id"]} for p, ts in zip(plans, lists, strict=True) for t in ts]
    elif own:
        targets = (await api.get("/today")).get("items", [])
    elif whose:
        targets = (await api.get("/today", inspector=whose)).get("items", [])
    else:
        targets = []
    rows = [target_row(t, names) for t in targets]
    rows.sort(key=lambda t: (str(t.get("scheduled_on") or ""), t["name"]))
    return render(
        request,
        "supervision/today.html",
        {"day": day, "targets": rows, "plans": plans, "show_all": bool(all), "inspector": whose, "own": own},
    )


async def _replaced(api: Supervision, client_id: str, plan_id: str, target_code: str) -> dict[str, Any]:
    """The submitted inspection ``?replaces=`` names, checked before the form opens (the service
    checks again when the correction arrives)."""
    old = await api.get(f"/inspections/{seg(client_id)}")
    if str(old.get("plan_id")) != str(plan_id) or old.get("target_code") != target_code:
        raise InvalidInput.field("replaces", "被更正的检查不是该计划、该对象的检查")
    if old.get("state") != "submitted":
        raise InvalidInput.field("replaces", "只能更正已提交的检查；未提交的检查请直接修改草稿")
    if old.get("replaced_by"):
        raise Conflict(f"检查 {client_id} 已被 {old['replaced_by']} 更正，请更正最新的版本")
    return dict(old)


@router.get("/supervision/inspect/{plan_id}/{target_code}")
async def inspect_page(
    request: Request, user: PageUser, plan_id: str, target_code: str, replaces: str = ""
) -> Response:
    """One target's checklist. ``?replaces=<client_id>`` (更正此检查 on an inspection's page): the
    form opens with that inspection's answers and sends a new version naming it."""
    require(user, INSPECT_ROLES)
    api = Supervision(request, user)
    plan, targets = await asyncio.gather(
        api.get(f"/plans/{seg(plan_id)}"), api.all_items(f"/plans/{seg(plan_id)}/targets")
    )
    target = next((t for t in targets if str(t.get("target_code")) == target_code), None)
    if target is None:
        raise NotFound(f"督导计划中没有检查对象“{target_code}”")
    old = await _replaced(api, replaces, plan_id, target_code) if replaces else None
    checklist = plan.get("checklist") or {}
    items = []
    for item in checklist.get("items") or []:
        items.append(
            {
                "id": str(item.get("id")),
                "type": item.get("type", "yesno"),
                "type_label": label(ITEM_TYPES, item.get("type")),
                "label": item_label(item),
                "max": item.get("max"),
                "required": bool(item.get("required")),
                "hint": item.get("hint") or item.get("description") or "",
            }
        )
    meta = {
        "plan_id": plan.get("id", plan_id),
        "plan_name": plan.get("name", ""),
        "target_code": target_code,
        "target_name": target_name(target),
        "county_code": target.get("county_code"),
        "items": [{"id": i["id"], "type": i["type"], "required": i["required"], "max": i["max"]} for i in items],
        # already inspected: what the tablet sends now is a correction naming the one it replaces
        "replaces": old["client_id"] if old else target.get("inspection"),
        # a correction asked for from the inspection's page starts from its answers (not its
        # photos: those stay with the original; the correction takes its own)
        "prefill": [
            {"item_id": a.get("item_id"), "value": a.get("value"), "note": a.get("note")}
            for a in (old or {}).get("answers") or []
        ],
    }
    return render(
        request,
        "supervision/inspect.html",
        {
            "plan": plan,
            "target": {**target, "name": target_name(target), "kind_label": label(TARGET_KINDS, target.get("kind"))},
            "checklist": checklist,
            "items": items,
            "meta_json": json.dumps(meta, ensure_ascii=False),
            "correcting": old,
            **choices(finding_categories=FINDING_CATEGORIES, severities=SEVERITIES),
        },
    )


@router.get("/supervision/outbox")
async def outbox_page(request: Request, user: PageUser) -> Response:
    """待发送: what this tablet still holds (read from IndexedDB by the page's script)."""
    require(user, INSPECT_ROLES)
    return render(request, "supervision/outbox.html", {})


@router.get("/supervision/inspect-sw.js")
async def service_worker() -> Response:
    """Served from /supervision/ so its scope covers the inspector's pages (a worker's scope is
    the folder of its script)."""
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    return Response(SW_FILE.read_bytes(), media_type="text/javascript", headers=headers)
