"""考核季度: the office's quarters (open one on a published catalogue, move it collecting -> reviewing
-> locked), the quarter board (heat map units x categories, each cell the share approved, clicking
through to the tasks) and the quarter's responsibility list (责任清单, units x items, XLSX)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.assessment_pages.common import (
    OFFICE_ROLES,
    QUARTER_NEXT,
    all_items,
    call,
    field_errors,
    fmt_share,
    pass_file,
    require,
    seg,
    unit_names,
    url,
)
from gateway.assessment_pages.tasks import quarters as list_quarters
from gateway.deps import PageUser
from gateway.render import render
from gateway.security import Principal
from services.common import clock
from services.common.errors import AppError, InvalidInput

router = APIRouter()

BOARD_CAP = 50_000


async def published_catalogues(request: Request, user: Principal) -> list[dict[str, Any]]:
    data = await call(request, user, "GET", "/catalogues")
    items = data.get("items", []) if isinstance(data, dict) else data
    return [c for c in items if c.get("status") == "published"]


def next_quarter_id(existing: list[str]) -> str:
    """The quarter to offer: the one after the newest, else the current calendar quarter."""
    today = clock.local(clock.now()).date()
    if not existing:
        return f"{today.year}Q{(today.month - 1) // 3 + 1}"
    newest = max(existing)
    year, q = int(newest[:4]), int(newest[-1])
    return f"{year + 1}Q1" if q == 4 else f"{year}Q{q + 1}"


async def _quarters_context(request: Request, user: Principal) -> dict[str, Any]:
    qs, catalogues = await asyncio.gather(list_quarters(request, user), published_catalogues(request, user))
    names = {c.get("id"): f"{c.get('name', '')} 第 {c.get('version', '')} 版" for c in catalogues}
    for q in qs:
        q["catalogue_label"] = names.get(q.get("catalogue_id"), str(q.get("catalogue_id", "")))
        q["next"] = QUARTER_NEXT.get(q["state"])
    qs.sort(key=lambda q: str(q["id"]), reverse=True)
    return {
        "quarters": qs,
        "catalogues": catalogues,
        "suggested": next_quarter_id([str(q["id"]) for q in qs]),
        "form": {},
        "errors": {},
    }


@router.get("/assessment/quarters")
async def quarters_page(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    return render(request, "assessment/quarters.html", await _quarters_context(request, user))


@router.post("/assessment/quarters")
async def open_quarter(request: Request, user: PageUser) -> Response:
    """Open a quarter on a published catalogue: the service makes the tasks (the 责任清单)."""
    require(user, OFFICE_ROLES)
    form = {k: str(v).strip() for k, v in (await request.form()).items() if k != "csrf_token"}
    body: dict[str, Any] = {"id": form.get("id", ""), "catalogue_id": form.get("catalogue_id", "")}
    if form.get("default_due"):
        body["default_due"] = form["default_due"]
    errors: dict[str, str] = {}
    try:
        if not body["catalogue_id"].isdigit():
            raise InvalidInput.field("catalogue_id", "请选择已发布的评估细则版本")
        body["catalogue_id"] = int(body["catalogue_id"])
        await call(request, user, "POST", "/quarters", json=body)
    except AppError as exc:
        if exc.status_code not in (409, 422):
            raise
        errors = field_errors(exc) or {"": exc.message}
        errors.setdefault("", exc.message)
        context = await _quarters_context(request, user)
        context.update({"form": form, "errors": errors})
        return render(request, "assessment/quarters.html", context, status_code=exc.status_code)
    return Response(status_code=303, headers={"location": f"/assessment/quarters/{seg(body['id'])}/board"})


@router.post("/assessment/quarters/{quarter_id}/state")
async def move_quarter(request: Request, quarter_id: str, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    form = await request.form()
    target = str(form.get("state", ""))
    await call(request, user, "POST", f"/quarters/{seg(quarter_id)}/transition", json={"state": target})
    context = await _quarters_context(request, user)
    context["toast"] = (f"{quarter_id} 已改为“{dict(QUARTER_NEXT.values()).get(target, target)}”", "success")
    return render(request, "assessment/quarters.html", context, block="quarter_table")


# --- the board -----------------------------------------------------------------------------------


def heat_class(share: float | None) -> str:
    if share is None:
        return "heat-none"
    if share >= 1:
        return "heat-5"
    return f"heat-{min(4, int(share * 5))}"


def board(tasks: list[dict[str, Any]], names: dict[str, str], quarter: str) -> dict[str, Any]:
    """Units x categories: approved / all tasks of the cell; units sorted weakest first."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    categories: list[str] = []
    for t in tasks:
        cat = str(t.get("category", ""))
        if cat not in categories:
            categories.append(cat)
        cell = counts[(str(t.get("unit_code", "")), cat)]
        cell[0] += 1
        cell[1] += t.get("state") == "approved"
        cell[2] += bool(t.get("overdue"))
    units: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (unit, _cat), (total, approved, overdue) in counts.items():
        units[unit][0] += total
        units[unit][1] += approved
        units[unit][2] += overdue
    rows = []
    for unit, (total, approved, overdue) in units.items():
        cells = []
        for cat in categories:
            n, ok, late = counts.get((unit, cat), (0, 0, 0))
            share = ok / n if n else None
            cells.append(
                {
                    "category": cat,
                    "total": n,
                    "approved": ok,
                    "overdue": late,
                    "share": fmt_share(share),
                    "heat": heat_class(share),
                    "href": url("/assessment/tasks", {"quarter": quarter, "unit": unit, "category": cat}) if n else "",
                }
            )
        share = approved / total if total else None
        rows.append(
            {
                "unit_code": unit,
                "unit_name": names.get(unit, unit),
                "cells": cells,
                "total": total,
                "approved": approved,
                "overdue": overdue,
                "share": fmt_share(share),
                "share_value": share or 0,
                "heat": heat_class(share),
                "href": url("/assessment/tasks", {"quarter": quarter, "unit": unit}),
            }
        )
    rows.sort(key=lambda r: (r["share_value"], -r["overdue"], r["unit_code"]))
    total = sum(r["total"] for r in rows)
    approved = sum(r["approved"] for r in rows)
    return {
        "categories": categories,
        "rows": rows,
        "total": total,
        "approved": approved,
        "share": fmt_share(approved / total if total else None),
        "by_state": {s: sum(1 for t in tasks if t.get("state") == s) for s in ("pending", "submitted", "returned")},
        "overdue": sum(r["overdue"] for r in rows),
    }


@router.get("/assessment/quarters/{quarter_id}/board")
async def board_page(request: Request, quarter_id: str, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    qs, tasks, names = await asyncio.gather(
        list_quarters(request, user),
        all_items(request, user, "/tasks", {"quarter": quarter_id}, cap=BOARD_CAP),
        unit_names(request, user),
    )
    quarter = next((q for q in qs if q["id"] == quarter_id), None)
    if quarter is None:
        await call(request, user, "GET", f"/quarters/{seg(quarter_id)}")  # the service's 404
    context = {"quarter": quarter or {"id": quarter_id}, "quarters": qs, "board": board(tasks, names, quarter_id)}
    return render(request, "assessment/board.html", context)


# --- the responsibility list -------------------------------------------------------------------------


@router.get("/assessment/quarters/{quarter_id}/responsibilities")
async def responsibilities(request: Request, quarter_id: str, user: PageUser) -> Response:
    """责任清单: one row per item (its evidence and lead / co units), one column per unit."""
    require(user, OFFICE_ROLES)
    tasks, names = await asyncio.gather(
        all_items(request, user, "/tasks", {"quarter": quarter_id}, cap=BOARD_CAP), unit_names(request, user)
    )
    units = sorted({str(t.get("unit_code", "")) for t in tasks})
    items: dict[str, dict[str, Any]] = {}
    for t in tasks:
        code = str(t.get("item_code", ""))
        item = items.setdefault(
            code,
            {
                "code": code,
                "name": t.get("item_name") or code,
                "category": t.get("category", ""),
                "points": t.get("points"),
                "units": {},
            },
        )
        mark = "牵头" if t.get("lead", True) else "配合"
        if item["units"].get(t.get("unit_code")) != "牵头":
            item["units"][t.get("unit_code")] = mark
    rows = sorted(items.values(), key=lambda i: [int(p) if p.isdigit() else p for p in i["code"].split(".")])
    context = {
        "quarter_id": quarter_id,
        "units": [(u, names.get(u, u)) for u in units],
        "rows": rows,
        "export_url": f"/assessment/quarters/{seg(quarter_id)}/responsibilities.xlsx",
    }
    return render(request, "assessment/responsibilities.html", context)


@router.get("/assessment/quarters/{quarter_id}/responsibilities.xlsx")
async def responsibilities_xlsx(request: Request, quarter_id: str, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    return await pass_file(request, user, f"/quarters/{seg(quarter_id)}/responsibilities", "format=xlsx")
