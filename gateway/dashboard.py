"""The home dashboard (首页): residential coverage, facilities and vehicles by category, and what
changed in the registry this week. Every signed-in role sees it; a county user sees its county."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from gateway.clients import Change, CountBlock, CoverageReport, StatsReport
from gateway.deps import PageUser, request_id
from gateway.render import render
from services.common import clock
from services.common.errors import AppError

log = logging.getLogger("sortline.gateway.dashboard")

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

SITE_KIND_NAMES = {
    "residential": "居民小区",
    "public_institution": "公共机构",
    "public_place": "公共场所",
    "business_area": "经营区域",
    "education": "教育机构",
    "medical": "医疗机构",
    "farmers_market": "农贸市场",
}
# GB/T 19095-2019: the four categories and their colours, in the standard's order.
CATEGORIES = [
    ("recyclable", "可回收物", "blue"),
    ("hazardous", "有害垃圾", "red"),
    ("kitchen", "厨余垃圾", "green"),
    ("residual", "其他垃圾", "grey"),
]
OTHER_CATEGORY_NAMES = {"mixed": "多类别", "bulky": "大件垃圾"}
RECORD_KINDS = {"sites": "管理对象", "facilities": "设施", "vehicles": "车辆"}
# /changes names a record kind in the singular; the pages live under the plural.
PLURALS = {"site": "sites", "facility": "facilities", "vehicle": "vehicles"}
ACTIONS = {
    "created": "登记",
    "registered": "登记",
    "updated": "修改",
    "decommissioned": "注销",
    "imported": "批量导入",
}
RESIDENTIAL_TARGET = 0.95  # the national target for 2024 (domain §4)
CHANGES_LIMIT = 20


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def category_cards(counts: dict[str, int]) -> list[dict[str, Any]]:
    """The four standard categories always (zero when none), then any other category present."""
    cards = [{"key": k, "label": label, "colour": colour, "count": counts.get(k, 0)} for k, label, colour in CATEGORIES]
    for key, n in sorted(counts.items()):
        if key not in {c[0] for c in CATEGORIES} and n:
            cards.append({"key": key, "label": OTHER_CATEGORY_NAMES.get(key, key), "colour": "plain", "count": n})
    return cards


def chart_data(coverage: CoverageReport) -> dict[str, Any]:
    """What dashboard.js draws: residential rate per county, or per site kind for one county."""
    if len(coverage.counties) > 1:
        return {
            "title": "各县区居民小区分类覆盖率",
            "labels": [c.county_name or c.county_code for c in coverage.counties],
            "values": [
                None if c.residential.rate is None else round(c.residential.rate * 100, 1) for c in coverage.counties
            ],
            "target": RESIDENTIAL_TARGET * 100,
        }
    block = coverage.counties[0] if coverage.counties else coverage.city
    rates = [(SITE_KIND_NAMES.get(k, k), block.by_kind[k].rate) for k in SITE_KIND_NAMES if k in block.by_kind]
    return {
        "title": "各类管理对象分类覆盖率",
        "labels": [name for name, _ in rates],
        "values": [None if r is None else round(r * 100, 1) for _, r in rates],
        "target": None,
    }


def change_rows(changes: list[Change]) -> list[dict[str, Any]]:
    rows = []
    for c in changes:
        plural = PLURALS.get(c.kind, c.kind)
        rows.append(
            {
                "at": c.at,
                "kind": RECORD_KINDS.get(plural, c.kind),
                "href": f"/registry/{plural}/{c.code}" if plural in RECORD_KINDS else None,
                "code": c.code,
                "action": c.action,
                "action_name": ACTIONS.get(c.action, c.action),
                "actor": c.actor_name or "",
                "summary": c.summary or "",
            }
        )
    return rows


async def _or_none(call: Awaitable[T], what: str) -> T | None:
    """One panel's data, or ``None`` when the registry cannot give it: the home page is where
    everyone lands after logging in, so it shows what it has and says what is missing."""
    try:
        return await call
    except (AppError, ValidationError) as exc:
        log.warning("dashboard: %s unavailable: %s", what, getattr(exc, "message", exc))
        return None


@router.get("/")
async def home(request: Request, user: PageUser) -> Response:
    registry = request.app.state.clients.registry
    caller = user.caller(request_id(request))
    county = user.county_code if user.role == "county" else None
    since = clock.now() - timedelta(days=7)
    coverage, stats, changes = await asyncio.gather(
        _or_none(registry.coverage(caller, county=county), "coverage"),
        _or_none(registry.stats(caller, county=county), "stats"),
        _or_none(registry.changes(caller, since=since, limit=CHANGES_LIMIT), "changes"),
    )
    return render(request, "home.html", {"user": user, **dashboard_context(county, coverage, stats, changes)})


def dashboard_context(
    county: str | None, coverage: CoverageReport | None, stats: StatsReport | None, changes: list[Change] | None
) -> dict[str, Any]:
    return {
        "scope_name": _scope_name(county, coverage),
        **(_coverage_context(coverage) if coverage is not None else {"coverage": None}),
        "facilities": _counts(stats.facilities) if stats is not None else None,
        "vehicles": _counts(stats.vehicles) if stats is not None else None,
        "changes": change_rows(changes) if changes is not None else None,
    }


def _scope_name(county: str | None, coverage: CoverageReport | None) -> str:
    if not county:
        return "全市"
    names = {c.county_code: c.county_name for c in coverage.counties} if coverage else {}
    return names.get(county) or f"县区 {county}"


def _counts(block: CountBlock) -> dict[str, Any]:
    return {"total": block.total, "cards": category_cards(block.by_category)}


def _coverage_context(coverage: CoverageReport) -> dict[str, Any]:
    city = coverage.city
    others = [k for k in SITE_KIND_NAMES if k != "residential"]
    return {
        "coverage": coverage,
        "as_of": coverage.as_of,
        "residential": city.residential,
        "residential_rate": percent(city.residential.rate),
        "target": percent(RESIDENTIAL_TARGET),
        "kinds": [
            {"label": SITE_KIND_NAMES[k], "rate": percent(r.rate), "covered": r.covered, "total": r.total}
            for k in others
            if (r := city.by_kind.get(k)) is not None
        ],
        "kind_headers": [SITE_KIND_NAMES[k] for k in others],
        "counties": [
            {
                "code": c.county_code,
                "name": c.county_name or c.county_code,
                "covered": c.residential.covered,
                "total": c.residential.total,
                "rate": percent(c.residential.rate),
                "below_target": c.residential.rate is not None and c.residential.rate < RESIDENTIAL_TARGET,
                "kinds": [percent(c.by_kind[k].rate) if k in c.by_kind else "—" for k in others],
            }
            for c in coverage.counties
        ],
        "chart_json": json.dumps(chart_data(coverage), ensure_ascii=False),
    }
