"""The office's planning pages: 督导组 teams, 检查表 checklists (versions, publish), 督导计划 plans
(create by county/kind or a seeded random sample; the schedule per inspector per day) and the
inspections of a round. Leaders read them; only the office writes (the service checks again)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, StringConstraints
from starlette.responses import RedirectResponse, Response

from gateway.deps import PageUser, request_id
from gateway.render import render
from gateway.scope_names import unit_names
from gateway.security import Principal
from gateway.supervision_pages.api import (
    CHECKLIST_STATES,
    FACILITY_KINDS,
    FINDING_CATEGORIES,
    ITEM_TYPES,
    OFFICE_ROLES,
    PLAN_STATES,
    READ_ROLES,
    SITE_KINDS,
    TARGET_KINDS,
    TARGET_SOURCES,
    Supervision,
    choices,
    field_errors,
    label,
    photo_urls,
    require,
    seg,
)
from services.common.errors import AppError, InvalidInput

router = APIRouter()

Trimmed = Annotated[str, StringConstraints(strip_whitespace=True)]


class Coded(BaseModel):
    """What a team's and a checklist's forms post first: the code that keys it and its name."""

    code: Trimmed = ""
    name: Trimmed = ""


class TeamForm(Coded):
    leader: Trimmed = ""
    members: str = ""  # logins, apart by spaces or commas
    counties: str = ""


class ChecklistForm(Coded):
    target_kind: str = ""
    items: str = ""  # one item a line, its fields apart by |


PLAN_READERS = READ_ROLES | {"inspector"}
CORRECT_ROLES = frozenset({"inspector", "office", "admin"})  # who may enter inspections (the service checks again)
TABS = [
    ("/supervision/plans", "督导计划", PLAN_READERS),
    ("/supervision/inspections", "检查记录", PLAN_READERS),
    ("/supervision/findings", "问题", PLAN_READERS),
    ("/supervision/findings/map", "问题地图", PLAN_READERS),
    ("/supervision/rectifications", "整改", PLAN_READERS),
    ("/supervision/enforcement", "执法检查", READ_ROLES),
    ("/supervision/reports", "督导报告", READ_ROLES),
    ("/supervision/circulars", "通报", READ_ROLES | {"inspector", "unit", "county"}),
    ("/supervision/teams", "督导组", PLAN_READERS),
    ("/supervision/checklists", "检查表", PLAN_READERS),
]


def tabs(user: Principal) -> list[tuple[str, str]]:
    return [(href, text) for href, text, roles in TABS if user.role in roles]


def ctx(user: Principal, **values: Any) -> dict[str, Any]:
    """What every supervision office page gets: its tabs and whether the user may write."""
    return {"tabs": tabs(user), "can_write": user.role in OFFICE_ROLES, **values}


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def office_step(request: Request, user: Principal, path: str, step: str) -> Response:
    """An office button on a record's page (publish, finish): the service's ``POST {path}/{step}``,
    then the page again."""
    require(user, OFFICE_ROLES)
    await Supervision(request, user).call("POST", f"{path}/{step}")
    return see_other(f"/supervision{path}")


async def county_names(request: Request, user: Principal) -> dict[str, str]:
    try:
        counties = await request.app.state.clients.registry.counties(user.caller(request_id(request)))
    except AppError:
        return {}
    return {c.code: c.name for c in counties}


async def party_names(request: Request, user: Principal) -> dict[str, str]:
    """Code -> name of every county and member unit: who answers for a rectification order."""
    counties, units = await asyncio.gather(county_names(request, user), unit_names(request, user))
    return counties | units


# --- teams -----------------------------------------------------------------------------------------


@router.get("/supervision/teams")
async def teams_page(request: Request, user: PageUser) -> Response:
    require(user, PLAN_READERS)
    teams, names = await asyncio.gather(Supervision(request, user).all_items("/teams"), county_names(request, user))
    return render(request, "supervision/teams.html", ctx(user, teams=teams, names=names, form={}, errors={}))


@router.post("/supervision/teams")
async def save_team(request: Request, user: PageUser, team: Annotated[TeamForm, Form()]) -> Response:
    require(user, OFFICE_ROLES)
    form = team.model_dump()
    body = {**form, "members": _words(team.members), "counties": _words(team.counties)}
    api = Supervision(request, user)
    try:
        if not form["code"]:
            raise InvalidInput.field("code", "请填写督导组编号")
        await api.call("PUT", f"/teams/{seg(form['code'])}", json=body)
    except InvalidInput as exc:
        teams, names = await asyncio.gather(api.all_items("/teams"), county_names(request, user))
        return render(
            request,
            "supervision/teams.html",
            ctx(user, teams=teams, names=names, form=form, errors=field_errors(exc)),
            status_code=422,
        )
    return see_other("/supervision/teams")


def _words(text: str) -> list[str]:
    return [w for w in text.replace("，", ",").replace("、", ",").replace(",", " ").split() if w]


# --- checklists ----------------------------------------------------------------------------------


@router.get("/supervision/checklists")
async def checklists_page(request: Request, user: PageUser) -> Response:
    require(user, PLAN_READERS)
    rows = await Supervision(request, user).all_items("/checklists")
    rows.sort(key=lambda c: (c.get("code", ""), -int(c.get("version") or 0)))
    for c in rows:
        c["state_label"] = label(CHECKLIST_STATES, c.get("state"))
        c["kind_label"] = c.get("target_kind_name") or label(TARGET_KINDS, c.get("target_kind"))
    return render(request, "supervision/checklists.html", ctx(user, checklists=rows))


def items_text(items: list[dict[str, Any]]) -> str:
    """A checklist's items as the editor's lines: 编号|名称|类型|满分|问题类别|必填."""
    lines = []
    for i in items:
        lines.append(
            "|".join(
                [
                    str(i.get("id", "")),
                    str(i.get("label", "")),
                    str(i.get("type", "")),
                    "" if i.get("max") is None else str(i["max"]),
                    str(i.get("category") or ""),
                    "是" if i.get("required", True) else "否",
                ]
            )
        )
    return "\n".join(lines)


def parse_items(text: str) -> list[dict[str, Any]]:
    items = []
    for n, line in enumerate(text.strip().splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")] + [""] * 6
        item_id, name, kind, top, category, required = parts[:6]
        if kind not in ITEM_TYPES:
            raise InvalidInput.field("items", f"第 {n} 行：类型应为 {'、'.join(ITEM_TYPES)} 之一")
        if top and not top.isdigit():
            raise InvalidInput.field("items", f"第 {n} 行：满分应为整数")
        if category and category not in FINDING_CATEGORIES:
            raise InvalidInput.field("items", f"第 {n} 行：问题类别“{category}”无效")
        item: dict[str, Any] = {"id": item_id, "label": name, "type": kind, "required": required != "否"}
        if top:
            item["max"] = int(top)
        if category:
            item["category"] = category
        items.append(item)
    return items


@router.get("/supervision/checklists/new")
async def checklist_new(request: Request, user: PageUser, copy: int | None = None) -> Response:
    require(user, OFFICE_ROLES)
    form: dict[str, Any] = {"code": "", "name": "", "target_kind": "site:residential", "items": ""}
    if copy is not None:
        src = await Supervision(request, user).get(f"/checklists/{copy}")
        form = {**src, "items": items_text(src.get("items") or [])}
    return _checklist_form(request, user, form, {})


def _checklist_form(request: Request, user: Principal, form: dict[str, Any], errors: dict[str, str]) -> Response:
    return render(
        request,
        "supervision/checklist_form.html",
        ctx(
            user,
            form=form,
            errors=errors,
            kinds=list(TARGET_KINDS.items())[: len(SITE_KINDS) + len(FACILITY_KINDS) + 3],
            **choices(types=ITEM_TYPES, categories=FINDING_CATEGORIES),
        ),
        status_code=422 if errors else 200,
    )


@router.post("/supervision/checklists")
async def checklist_create(request: Request, user: PageUser, checklist: Annotated[ChecklistForm, Form()]) -> Response:
    require(user, OFFICE_ROLES)
    form = checklist.model_dump()
    try:
        body = {**form, "items": parse_items(checklist.items)}
        created = await Supervision(request, user).call("POST", "/checklists", json=body)
    except InvalidInput as exc:
        return _checklist_form(request, user, form, field_errors(exc))
    return see_other(f"/supervision/checklists/{created['id']}")


@router.get("/supervision/checklists/{checklist_id}")
async def checklist_page(request: Request, user: PageUser, checklist_id: int) -> Response:
    require(user, PLAN_READERS)
    c = await Supervision(request, user).get(f"/checklists/{checklist_id}")
    c["state_label"] = label(CHECKLIST_STATES, c.get("state"))
    for i in c.get("items") or []:
        i["type_label"] = label(ITEM_TYPES, i.get("type"))
        i["category_label"] = label(FINDING_CATEGORIES, i.get("category")) if i.get("category") else "—"
    return render(request, "supervision/checklist.html", ctx(user, c=c))


@router.post("/supervision/checklists/{checklist_id}/publish")
async def checklist_publish(request: Request, user: PageUser, checklist_id: int) -> Response:
    return await office_step(request, user, f"/checklists/{checklist_id}", "publish")


# --- plans -----------------------------------------------------------------------------------------


@router.get("/supervision/plans")
async def plans_page(request: Request, user: PageUser, cursor: str = "") -> Response:
    require(user, PLAN_READERS)
    plans, next_cursor = await Supervision(request, user).items("/plans", cursor=cursor or None, limit=50)
    for p in plans:
        p["state_label"] = label(PLAN_STATES, p.get("state"))
    return render(request, "supervision/plans.html", ctx(user, plans=plans, next_cursor=next_cursor))


async def _plan_form(
    request: Request, user: Principal, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    api = Supervision(request, user)
    teams, checklists, names = await asyncio.gather(
        api.all_items("/teams"), api.all_items("/checklists", state="published"), county_names(request, user)
    )
    return render(
        request,
        "supervision/plan_form.html",
        ctx(
            user,
            form=form,
            errors=errors,
            teams=teams,
            checklists=checklists,
            **choices(names, sources=TARGET_SOURCES),
            kinds=[*SITE_KINDS.items(), *FACILITY_KINDS.items()],
        ),
        status_code=status,
    )


@router.get("/supervision/plans/new")
async def plan_new(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    form = {"source": "site", "per_inspector_per_day": "4", "counties": [], "kinds": []}
    return await _plan_form(request, user, form, {})


@router.post("/supervision/plans")
async def plan_create(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    data = await request.form()
    form: dict[str, Any] = {
        k: str(data.get(k) or "").strip()
        for k in (
            "name",
            "starts_on",
            "ends_on",
            "team_code",
            "checklist_id",
            "source",
            "category",
            "sample_per_county",
            "seed",
            "per_inspector_per_day",
        )
    }
    form["counties"] = [str(v) for v in data.getlist("counties")]
    form["kinds"] = [str(v) for v in data.getlist("kinds")]
    try:
        body = {
            "name": form["name"],
            "starts_on": form["starts_on"] or None,
            "ends_on": form["ends_on"] or None,
            "team_code": form["team_code"],
            "checklist_id": _int(form["checklist_id"], "checklist_id", "请选择已发布的检查表"),
            "per_inspector_per_day": _int(form["per_inspector_per_day"] or "4", "per_inspector_per_day", "应为整数"),
            "selection": {
                "source": form["source"],
                "counties": form["counties"],
                "kinds": form["kinds"],
                "category": form["category"] or None,
                "sample_per_county": _int(form["sample_per_county"], "sample_per_county", "应为整数")
                if form["sample_per_county"]
                else None,
                "seed": _int(form["seed"], "seed", "随机种子应为整数") if form["seed"] else None,
            },
        }
        plan = await Supervision(request, user).call("POST", "/plans", json=body)
    except InvalidInput as exc:
        return await _plan_form(request, user, form, field_errors(exc), status=422)
    return see_other(f"/supervision/plans/{plan['id']}")


def _int(value: str, field: str, message: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput.field(field, message) from None


def schedule(targets: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The plan's schedule as a table: one row per working day, one column per inspector."""
    inspectors = sorted({str(t.get("inspector") or "—") for t in targets})
    days: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for t in targets:
        days[str(t.get("scheduled_on") or "")][str(t.get("inspector") or "—")].append(t)
    rows = [{"day": d, "cells": [days[d].get(i, []) for i in inspectors]} for d in sorted(days)]
    return inspectors, rows


@router.get("/supervision/plans/{plan_id}")
async def plan_page(request: Request, user: PageUser, plan_id: int) -> Response:
    require(user, PLAN_READERS)
    api = Supervision(request, user)
    plan, targets, names = await asyncio.gather(
        api.get(f"/plans/{plan_id}"),
        api.all_items(f"/plans/{plan_id}/targets", limit=5000),
        county_names(request, user),
    )
    plan["state_label"] = label(PLAN_STATES, plan.get("state"))
    inspectors, rows = schedule(targets)
    selection = plan.get("selection") or {}
    return render(
        request,
        "supervision/plan.html",
        ctx(
            user,
            plan=plan,
            targets=targets,
            inspectors=inspectors,
            rows=rows,
            names=names,
            source_label=label(TARGET_SOURCES, selection.get("source")),
            kind_labels=[label(TARGET_KINDS, k) for k in selection.get("kinds") or []],
        ),
    )


@router.post("/supervision/plans/{plan_id}/finish")
async def plan_finish(request: Request, user: PageUser, plan_id: int) -> Response:
    return await office_step(request, user, f"/plans/{plan_id}", "finish")


# --- inspections -------------------------------------------------------------------------------------


@router.get("/supervision/inspections")
async def inspections_page(request: Request, user: PageUser, plan: str = "", cursor: str = "") -> Response:
    require(user, PLAN_READERS)
    api = Supervision(request, user)
    (rows, next_cursor), plans = await asyncio.gather(
        api.items("/inspections", plan=plan or None, cursor=cursor or None, limit=50), api.all_items("/plans")
    )
    names = {str(p["id"]): p.get("name", "") for p in plans}
    return render(
        request,
        "supervision/inspections.html",
        ctx(user, rows=rows, next_cursor=next_cursor, plans=plans, plan=plan, plan_names=names),
    )


@router.get("/supervision/inspections/{client_id}")
async def inspection_page(request: Request, user: PageUser, client_id: str) -> Response:
    require(user, PLAN_READERS)
    api = Supervision(request, user)
    ins = await api.get(f"/inspections/{seg(client_id)}")
    plan: dict[str, Any] = {}
    with contextlib.suppress(AppError):
        plan = await api.get(f"/plans/{seg(ins.get('plan_id'))}")
    labels = {str(i.get("id")): i for i in (plan.get("checklist") or {}).get("items") or []}
    photos = {p["id"]: p for p in photo_urls(ins.get("photos"))}
    for a in ins.get("answers") or []:
        item = labels.get(str(a.get("item_id")), {})
        a["label"] = item.get("label") or a.get("item_id")
        a["type"] = item.get("type", "")
        a["photos"] = [photos[pid] for pid in a.get("photo_ids") or [] if pid in photos]
    correct_href = None
    if ins.get("state") == "submitted" and not ins.get("replaced_by") and user.role in CORRECT_ROLES:
        # 更正: the tablet form of the same target, filled with these answers, sent as a new
        # version that names this one (the service keeps both; a submitted one is never edited)
        correct_href = (
            f"/supervision/inspect/{seg(ins.get('plan_id'))}/{seg(ins.get('target_code'))}"
            f"?replaces={seg(ins.get('client_id'))}"
        )
    return render(request, "supervision/inspection.html", ctx(user, ins=ins, plan=plan, correct_href=correct_href))
