"""Scores: 得分预测 (the quarter's forecast: totals, by category, by unit, what costs the most points
right now), 国检结果 (national results: entry by the office, trend with forecast beside actual) and
成员单位考核 (the member units' ranking, its circular as PDF). Leaders read; only the office writes."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.assessment_pages.common import (
    OFFICE_ROLES,
    SCORE_ROLES,
    TIER_LABELS,
    call,
    field_errors,
    fmt_points,
    fmt_share,
    pass_file,
    require,
)
from gateway.assessment_pages.tasks import quarters as list_quarters
from gateway.assessment_pages.views import current_quarter
from gateway.deps import PageUser
from gateway.render import render
from gateway.scope_names import unit_names
from gateway.security import Principal
from services.common.errors import AppError, InvalidInput

router = APIRouter()

TOP_RISKS = 20
BY_UNIT_ROWS = 50


def _num(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def score_block(raw: dict[str, Any], label: str = "") -> dict[str, Any]:
    """One line of the forecast: maximum, secured, pending review, at risk, lost, with bar widths."""
    top = _num(raw.get("max_points"))
    parts = {k: _num(raw.get(k)) for k in ("secured", "pending_review", "at_risk", "lost")}
    return {
        "label": label,
        "max": fmt_points(top),
        **{k: fmt_points(v) for k, v in parts.items()},
        "widths": {k: round(v / top * 100, 1) if top else 0 for k, v in parts.items()},
        "share": fmt_share(parts["secured"] / top if top else None),
        "at_risk_value": parts["at_risk"],
    }


def forecast_view(data: dict[str, Any], names: dict[str, str], unit_rows: int | None = BY_UNIT_ROWS) -> dict[str, Any]:
    by_category = [score_block(c, str(c.get("category") or c.get("name") or "")) for c in data.get("by_category", [])]
    # The units with the most points at risk first; only the shown ones are shaped (a province
    # has hundreds).
    all_units = sorted(data.get("by_unit", []), key=lambda u: (-_num(u.get("at_risk")), str(u.get("unit_code"))))
    unit_count = max(int(data.get("units") or 0), len(all_units))  # the service may send the first ones only
    units = []
    shown = all_units if unit_rows is None else all_units[:unit_rows]
    for u in shown:
        code = str(u.get("unit_code") or "")
        units.append({**score_block(u, u.get("unit_name") or names.get(code, code)), "code": code})
    risks = []
    for r in data.get("top_risks", [])[:TOP_RISKS]:
        code = str(r.get("unit_code") or "")
        days = r.get("days_to_due")
        risks.append(
            {
                "item": r.get("item_name") or r.get("item_code", ""),
                "item_code": r.get("item_code", ""),
                "category": r.get("category", ""),
                "unit": r.get("unit_name") or names.get(code, code),
                "points": fmt_points(r.get("points")),
                "days": days,
                "days_words": "" if days is None else (f"已逾期 {-days} 天" if days < 0 else f"还剩 {days} 天"),
                "state": r.get("state", ""),
                "task_id": r.get("task_id"),
            }
        )
    return {
        "total": score_block(data, "全部"),
        "by_category": by_category,
        "by_unit": units,
        "units_more": max(0, unit_count - len(shown)),
        "risks": risks,
    }


@router.get("/assessment/forecast")
async def forecast(request: Request, user: PageUser) -> Response:
    require(user, SCORE_ROLES)
    qs = await list_quarters(request, user)
    quarter = current_quarter(qs, request.query_params.get("quarter"))
    every, rows = request.query_params.get("units") == "all", BY_UNIT_ROWS  # 显示全部: every unit
    view = None
    if quarter:
        data, names = await asyncio.gather(
            call(request, user, "GET", f"/quarters/{quarter}/forecast", params=None if every else {"unit_limit": rows}),
            unit_names(request, user),
        )
        view = forecast_view(data, names, None if every else rows)
    context = {"quarters": qs, "quarter": quarter, "f": view, "office": user.role in OFFICE_ROLES}
    return render(request, "assessment/forecast.html", context)


# --- national results ------------------------------------------------------------------------------------


def trend_data(trend: list[dict[str, Any]]) -> dict[str, Any]:
    """What assessment_charts.js draws: actual and forecast score per quarter, oldest first."""
    rows = sorted(trend, key=lambda r: str(r.get("quarter")))
    return {
        "labels": [str(r.get("quarter")) for r in rows],
        "actual": [r.get("actual") for r in rows],
        "forecast": [r.get("forecast") for r in rows],
        "rank": [r.get("rank") for r in rows],
    }


async def _results_context(request: Request, user: Principal) -> dict[str, Any]:
    data, qs = await asyncio.gather(call(request, user, "GET", "/national-results"), list_quarters(request, user))
    results = data.get("items", [])
    trend = data.get("trend", [])
    forecasts = {str(t.get("quarter")): t.get("forecast") for t in trend}
    rows = []
    for r in sorted(results, key=lambda r: str(r.get("quarter") or r.get("quarter_id")), reverse=True):
        score = r.get("score")
        fc = r.get("forecast_score") if r.get("forecast_score") is not None else forecasts.get(str(r.get("quarter")))
        tier = r.get("tier")
        rows.append(
            {
                **r,
                "quarter": r.get("quarter"),
                "forecast_score": fc,
                "tier_label": TIER_LABELS.get(tier, tier) if isinstance(tier, int) else (tier or ""),
                "diff": None if score is None or fc is None else fmt_points(round(float(fc) - float(score), 2)),
                "lost": sorted((r.get("lost_by_category") or {}).items(), key=lambda kv: -_num(kv[1])),
            }
        )
    entered = {r["quarter"] for r in rows}
    return {
        "rows": rows,
        "chart_json": json.dumps(trend_data(trend), ensure_ascii=False),
        "open_quarters": [q["id"] for q in qs if q["id"] not in entered],
        "office": user.role in OFFICE_ROLES,
        "form": {},
        "errors": {},
    }


@router.get("/assessment/results")
async def results(request: Request, user: PageUser) -> Response:
    require(user, SCORE_ROLES)
    return render(request, "assessment/results.html", await _results_context(request, user))


def parse_lost(text: str) -> dict[str, float]:
    """``体制机制建设 1.5`` per line (or 类别：分) into {category: points}."""
    out: dict[str, float] = {}
    for line in text.replace("：", " ").replace(":", " ").splitlines():
        parts = line.strip().rsplit(None, 1)
        if len(parts) == 2:
            try:
                out[parts[0].strip()] = float(parts[1])
            except ValueError:
                continue
    return out


@router.post("/assessment/results")
async def enter_result(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    form = {k: str(v).strip() for k, v in (await request.form()).items() if k != "csrf_token"}
    body: dict[str, Any] = {
        "quarter": form.get("quarter", ""),
        "score": form.get("score") or None,
        "rank": form.get("rank") or None,
        "class_name": form.get("class_name", ""),
        "class_size": form.get("class_size") or None,
        "tier": form.get("tier", ""),
        "lost_by_category": parse_lost(form.get("lost", "")),
        "note": form.get("note") or None,
    }
    try:
        quarter = str(body.pop("quarter"))
        if not re.fullmatch(r"\d{4}Q[1-4]", quarter):
            raise InvalidInput.field("quarter", "季度应写成 2026Q4 的形式")
        await call(request, user, "PUT", f"/national-results/{quarter}", json=body)
    except AppError as exc:
        if exc.status_code not in (409, 422):
            raise
        context = await _results_context(request, user)
        context.update({"form": form, "errors": field_errors(exc) | {"": exc.message}})
        return render(request, "assessment/results.html", context, status_code=exc.status_code)
    return Response(status_code=303, headers={"location": "/assessment/results"})


# --- member-unit ranking ---------------------------------------------------------------------------------


def period_options(quarter_ids: list[str]) -> list[str]:
    years = sorted({q[:4] for q in quarter_ids}, reverse=True)
    return sorted(quarter_ids, reverse=True) + years


@router.get("/assessment/rankings")
async def rankings(request: Request, user: PageUser) -> Response:
    require(user, SCORE_ROLES)
    qs = await list_quarters(request, user)
    periods = period_options([str(q["id"]) for q in qs])
    period = request.query_params.get("period", "")
    if period not in periods:
        period = current_quarter(qs) or (periods[0] if periods else "")
    rows: list[dict[str, Any]] = []
    supervision = False
    if period:
        data, names = await asyncio.gather(
            call(request, user, "GET", "/rankings", params={"period": period}), unit_names(request, user)
        )
        supervision = bool(data.get("supervision_available"))
        for i, r in enumerate(data.get("items", []), start=1):
            code = str(r.get("unit_code", ""))
            rows.append(
                {
                    "rank": r.get("rank") or i,
                    "unit": r.get("unit_name") or names.get(code, code),
                    "code": code,
                    "total": fmt_points(r.get("total") if r.get("total") is not None else r.get("score")),
                    "on_time": fmt_share(r.get("on_time_rate")),
                    "first_pass": fmt_share(r.get("first_pass_rate")),
                    "overdue_days": r.get("overdue_workdays", r.get("overdue_days", "—")),
                    "qualitative": fmt_points(r.get("qualitative")) if r.get("qualitative") is not None else "—",
                    "tasks": r.get("tasks", ""),
                    "rectification": fmt_share(r.get("rectification_on_time_rate")),
                    "enforcement": r.get("enforcement_cases") if r.get("enforcement_cases") is not None else "—",
                }
            )
    context = {
        "periods": periods,
        "period": period,
        "rows": rows,
        "supervision": supervision,
        "circular_url": f"/assessment/rankings/circular.pdf?period={period}" if period else "",
        "office": user.role in OFFICE_ROLES,
    }
    return render(request, "assessment/rankings.html", context)


@router.get("/assessment/rankings/circular.pdf")
async def circular(request: Request, user: PageUser, period: str = "") -> Response:
    require(user, SCORE_ROLES)
    return await pass_file(request, user, "/rankings/circular.pdf", urlencode({"period": period}))
