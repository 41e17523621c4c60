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

from gateway.clients import Change, CountBlock, CoverageReport, RegistryMeta, StatsReport
from gateway.deps import PageUser, ServicesDep
from gateway.render import ALL_ROLES, NavItem, register_nav, render
from services.common import clock
from services.common.errors import AppError

log = logging.getLogger("sortline.gateway.dashboard")

router = APIRouter(include_in_schema=False)
register_nav(NavItem("/", "首页", ALL_ROLES, order=0))
T = TypeVar("T")

# The labels (site kinds, categories, record kinds, actions) are the registry's (``GET /meta``).
# GB/T 19095-2019 colours of the four standard categories, as the cards' CSS classes.
CATEGORY_CLASSES = {"recyclable": "blue", "hazardous": "red", "kitchen": "green", "residual": "grey"}
# /changes names a record kind in the singular; the pages live under the plural.
PLURALS = {"site": "sites", "facility": "facilities", "vehicle": "vehicles"}
RESIDENTIAL_TARGET = 0.95  # the national target for 2024 (domain §4)
CHANGES_LIMIT = 20


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def category_cards(counts: dict[str, int], meta: RegistryMeta) -> list[dict[str, Any]]:
    """The four standard categories always (zero when none), then any other category present."""
    standard = meta.standard_categories or list(CATEGORY_CLASSES)
    names = meta.categories
    cards = [
        {"key": k, "label": names.get(k, k), "colour": CATEGORY_CLASSES.get(k, "plain"), "count": counts.get(k, 0)}
        for k in standard
    ]
    for key, n in sorted(counts.items()):
        if key not in standard and n:
            cards.append({"key": key, "label": names.get(key, key), "colour": "plain", "count": n})
    return cards


def site_kinds(coverage: CoverageReport, meta: RegistryMeta) -> list[str]:
    """The site kinds in the registry's order (those the figures name, if the labels are missing)."""
    if meta.site_kinds:
        return list(meta.site_kinds)
    seen = dict.fromkeys(k for block in (coverage.city, *coverage.counties) for k in block.by_kind)
    return list(seen)


def chart_data(coverage: CoverageReport, meta: RegistryMeta) -> dict[str, Any]:
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
    names = meta.site_kinds
    rates = [(names.get(k, k), block.by_kind[k].rate) for k in site_kinds(coverage, meta) if k in block.by_kind]
    return {
        "title": "各类管理对象分类覆盖率",
        "labels": [name for name, _ in rates],
        "values": [None if r is None else round(r * 100, 1) for _, r in rates],
        "target": None,
    }


def change_rows(changes: list[Change], meta: RegistryMeta) -> list[dict[str, Any]]:
    rows = []
    for c in changes:
        plural = PLURALS.get(c.kind, c.kind)
        rows.append(
            {
                "at": c.at,
                "kind": meta.record_kinds.get(plural, c.kind),
                "href": f"/registry/{plural}/{c.code}" if plural in PLURALS.values() else None,
                "code": c.code,
                "action": c.action,
                "action_name": meta.actions.get(c.action, c.action),
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
async def home(request: Request, user: PageUser, services: ServicesDep) -> Response:
    registry = services.registry
    county = user.county_code if user.role == "county" else None
    since = clock.now() - timedelta(days=7)
    coverage, stats, changes, meta = await asyncio.gather(
        _or_none(registry.coverage(county=county), "coverage"),
        _or_none(registry.stats(county=county), "stats"),
        _or_none(registry.changes(since=since, limit=CHANGES_LIMIT), "changes"),
        _or_none(registry.meta(), "labels"),
    )
    context = dashboard_context(county, coverage, stats, changes, meta or RegistryMeta())
    return render(request, "home.html", {"user": user, **context})


def dashboard_context(
    county: str | None,
    coverage: CoverageReport | None,
    stats: StatsReport | None,
    changes: list[Change] | None,
    meta: RegistryMeta,
) -> dict[str, Any]:
    return {
        "scope_name": _scope_name(county, coverage),
        **(_coverage_context(coverage, meta) if coverage is not None else {"coverage": None}),
        "facilities": _counts(stats.facilities, meta) if stats is not None else None,
        "vehicles": _counts(stats.vehicles, meta) if stats is not None else None,
        "changes": change_rows(changes, meta) if changes is not None else None,
    }


def _scope_name(county: str | None, coverage: CoverageReport | None) -> str:
    if not county:
        return "全市"
    names = {c.county_code: c.county_name for c in coverage.counties} if coverage else {}
    return names.get(county) or f"县区 {county}"


def _counts(block: CountBlock, meta: RegistryMeta) -> dict[str, Any]:
    return {"total": block.total, "cards": category_cards(block.by_category, meta)}


def _coverage_context(coverage: CoverageReport, meta: RegistryMeta) -> dict[str, Any]:
    city = coverage.city
    names = meta.site_kinds
    others = [k for k in site_kinds(coverage, meta) if k != "residential"]
    return {
        "coverage": coverage,
        "as_of": coverage.as_of,
        "residential": city.residential,
        "residential_rate": percent(city.residential.rate),
        "target": percent(RESIDENTIAL_TARGET),
        "kinds": [
            {"label": names.get(k, k), "rate": percent(r.rate), "covered": r.covered, "total": r.total}
            for k in others
            if (r := city.by_kind.get(k)) is not None
        ],
        "kind_headers": [names.get(k, k) for k in others],
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
        "chart_json": json.dumps(chart_data(coverage, meta), ensure_ascii=False),
    }
