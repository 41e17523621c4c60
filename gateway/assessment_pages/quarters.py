"""考核季度: the office's quarters (open one on a published catalogue, move it collecting -> reviewing
-> locked), the quarter board (heat map units x categories, each cell the share approved, clicking
through to the tasks) and the quarter's responsibility list (责任清单, units x items, XLSX)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.assessment_pages.common import (
    OFFICE_ROLES,
    QUARTER_NEXT,
    call,
    field_errors,
    fmt_share,
    pass_file,
    require,
    seg,
    url,
)
from gateway.assessment_pages.tasks import quarters as list_quarters
from gateway.assessment_pages.views import quarter_view
from gateway.deps import PageUser
from gateway.render import render
from gateway.security import Principal
from services.common import clock
from services.common.errors import AppError, InvalidInput

router = APIRouter()

BOARD_ROWS = 40  # units per page of the board


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
    await call(request, user, "POST", f"/quarters/{seg(quarter_id)}/state", json={"state": target})
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


COUNTS = ("total", "approved", "submitted", "overdue")


def _unit_cells(categories: list[str], row: dict[str, Any], quarter: str, unit: str) -> list[dict[str, Any]]:
    cells = []
    for cat, cell in zip(categories, row.get("cells", []), strict=False):
        if not cell:
            cells.append({"category": cat, "total": 0, "heat": "heat-none", "share": "", "href": ""})
            continue
        cells.append(
            {
                "category": cat,
                "total": cell.get("total", 0),
                "approved": cell.get("approved", 0),
                "overdue": cell.get("overdue", 0),
                "share": fmt_share(cell.get("share")),
                "heat": heat_class(cell.get("share")),
                "href": url("/assessment/tasks", {"quarter": quarter, "unit": unit, "category": cat}),
            }
        )
    return cells


def _row_counts(row: dict[str, Any]) -> dict[str, int]:
    if "total" in row:  # the service counts each unit's row
        return {k: int(row.get(k) or 0) for k in COUNTS}
    counts = dict.fromkeys(COUNTS, 0)
    for cell in row.get("cells", []):
        if cell:
            for k in COUNTS:
                counts[k] += int(cell.get(k) or 0)
    return counts


def board_view(data: dict[str, Any], quarter: str, page: int = 1) -> dict[str, Any]:
    """The service's board (units x categories, each cell counts and share approved) as one page
    of ``BOARD_ROWS`` units, weakest first, with the totals over every unit. The service answers
    the page itself when asked ``order=weakest&offset&limit`` (its ``totals`` and ``units`` then
    say what the whole board holds); a full board (no ``totals``) is ranked here."""
    categories = [str(c) for c in data.get("categories", [])]
    if isinstance(data.get("totals"), dict):
        totals = data["totals"]
        sums = {k: int(totals.get(k) or 0) for k in COUNTS}
        units = int(data.get("units") or 0)
        pages = max(1, -(-units // BOARD_ROWS))
        page = min(max(page, 1), pages)
        shown = [(str(r.get("unit_code", "")), r, _row_counts(r)) for r in data.get("rows", [])]
    else:
        sums = dict.fromkeys(COUNTS, 0)
        ranked: list[tuple[float, int, str, dict[str, Any], dict[str, int]]] = []
        for row in data.get("rows", []):
            counts = _row_counts(row)
            for k in COUNTS:
                sums[k] += counts[k]
            share = counts["approved"] / counts["total"] if counts["total"] else 0.0
            ranked.append((share, -counts["overdue"], str(row.get("unit_code", "")), row, counts))
        ranked.sort(key=lambda r: r[:3])
        units = len(ranked)
        pages = max(1, -(-units // BOARD_ROWS))
        page = min(max(page, 1), pages)
        window = ranked[(page - 1) * BOARD_ROWS : page * BOARD_ROWS]
        shown = [(unit, row, counts) for _s, _l, unit, row, counts in window]
    rows = []
    for unit, row, counts in shown:
        unit_share = counts["approved"] / counts["total"] if counts["total"] else None
        rows.append(
            {
                "unit_code": unit,
                "unit_name": row.get("unit_name") or unit,
                "cells": _unit_cells(categories, row, quarter, unit),
                **counts,
                "share": fmt_share(unit_share),
                "heat": heat_class(unit_share),
                "href": url("/assessment/tasks", {"quarter": quarter, "unit": unit}),
            }
        )
    return {
        "categories": categories,
        "rows": rows,
        "units": units,
        "page": page,
        "pages": pages,
        **sums,
        "share": fmt_share(sums["approved"] / sums["total"] if sums["total"] else None),
    }


async def board_data(request: Request, user: Principal, quarter_id: str, page: int) -> dict[str, Any]:
    """One page of the board from the service, weakest units first (the last page when ``page``
    is past it)."""
    path = f"/quarters/{seg(quarter_id)}/board"

    async def fetch(p: int) -> dict[str, Any]:
        params = {"order": "weakest", "offset": (p - 1) * BOARD_ROWS, "limit": BOARD_ROWS}
        data: dict[str, Any] = await call(request, user, "GET", path, params=params)
        return data

    data = await fetch(max(page, 1))
    units = int(data.get("units") or 0)
    last = max(1, -(-units // BOARD_ROWS))
    if page > last and units:
        data = await fetch(last)
    return data


@router.get("/assessment/quarters/{quarter_id}/board")
async def board_page(request: Request, quarter_id: str, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    raw = request.query_params.get("page", "1")
    wanted = int(raw) if raw.isdigit() else 1
    data, quarter = await asyncio.gather(
        board_data(request, user, quarter_id, wanted),
        call(request, user, "GET", f"/quarters/{seg(quarter_id)}"),
    )
    view = board_view(data, quarter_id, wanted)
    page, pages = view["page"], view["pages"]
    base = f"/assessment/quarters/{seg(quarter_id)}/board"
    context = {
        "quarter": quarter_view(quarter),
        "board": view,
        "page": page,
        "pages": pages,
        "first_rank": (page - 1) * BOARD_ROWS + 1,
        "prev_url": url(base, {"page": page - 1}) if page > 1 else "",
        "next_url": url(base, {"page": page + 1}) if page < pages else "",
    }
    return render(request, "assessment/board.html", context)


# --- the responsibility list -------------------------------------------------------------------------


@router.get("/assessment/quarters/{quarter_id}/responsibilities")
async def responsibilities(request: Request, quarter_id: str, user: PageUser) -> Response:
    """责任清单: one row per item (its evidence, lead and co-responsible units), one column per unit."""
    require(user, OFFICE_ROLES)
    data = await call(request, user, "GET", f"/quarters/{seg(quarter_id)}/responsibilities")
    units: dict[str, str] = {}
    items: dict[str, dict[str, Any]] = {}
    for t in data.get("items", []):
        code, unit = str(t.get("item_code", "")), str(t.get("unit_code", ""))
        units.setdefault(unit, str(t.get("unit_name") or unit))
        item = items.setdefault(
            code,
            {"code": code, "name": t.get("item_name") or code, "category": t.get("category", ""), "units": {}},
        )
        if item["units"].get(unit) != "牵头":
            item["units"][unit] = t.get("role") or "牵头"
    rows = sorted(items.values(), key=lambda i: [int(p) if p.isdigit() else 0 for p in i["code"].split(".")])
    context = {
        "quarter_id": quarter_id,
        "units": sorted(units.items()),
        "rows": rows,
        "export_url": f"/assessment/quarters/{seg(quarter_id)}/responsibilities.xlsx",
    }
    return render(request, "assessment/responsibilities.html", context)


@router.get("/assessment/quarters/{quarter_id}/responsibilities.xlsx")
async def responsibilities_xlsx(request: Request, quarter_id: str, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    return await pass_file(request, user, f"/quarters/{seg(quarter_id)}/responsibilities", "format=xlsx")
