"""Choosing a plan's targets from the registry (over HTTP), sampling them reproducibly, and
spreading them over the window's working days.

``schedule`` is pure: it takes the working days (from the kernel calendar) and gives every target
a day and an inspector, K per inspector per day at most, spread evenly over the window.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Protocol

from services.supervision.errors import invalid

PAGE = 500
_PATHS = {"site": "/sites", "facility": "/facilities", "vehicle": "/vehicles"}


class Calendar(Protocol):
    def is_workday(self, d: date) -> bool: ...


class Peer(Protocol):
    def get_json(self, path: str, params: dict[str, Any] | None = None, caller: Any = None) -> Any: ...


def _kind_of(source: str, record: dict[str, Any]) -> str:
    if source in ("site", "facility"):
        return f"{source}:{record['kind']}"
    return source


def fetch_candidates(peer: Peer, selection: dict[str, Any], counties: Sequence[str]) -> list[dict[str, Any]]:
    """Every registry record the selection names, in the given counties, sorted by code."""
    source = selection["source"]
    out: list[dict[str, Any]] = []
    if source == "county":
        rows = peer.get_json("/divisions", params={"level": "county", "limit": 500})
        items = rows["items"] if isinstance(rows, dict) else rows
        for d in items:
            if not counties or d["code"] in counties:
                out.append(_target("county", d["code"], d["name"], d["code"], None, None))
        return sorted(out, key=lambda t: t["target_code"])
    if source == "unit":
        rows = peer.get_json("/units")
        items = rows["items"] if isinstance(rows, dict) else rows
        for u in items:
            county = u.get("county_code") or "360100"
            if not counties or county in counties or u.get("county_code") is None:
                out.append(_target("unit", u["code"], u["name"], county, None, None))
        return sorted(out, key=lambda t: t["target_code"])
    kinds = selection.get("kinds") or [None]
    for county in counties:
        for kind in kinds:
            cursor = None
            while True:
                params: dict[str, Any] = {"county": county, "status": "active", "limit": PAGE}
                if kind and source != "vehicle":
                    params["kind"] = kind
                if selection.get("category") and source != "site":
                    params["category"] = selection["category"]
                if cursor:
                    params["cursor"] = cursor
                page = peer.get_json(_PATHS[source], params=params)
                for r in page["items"]:
                    name = r.get("name") or r.get("plate_number") or r["code"]
                    out.append(
                        _target(_kind_of(source, r), r["code"], name, r["county_code"], r.get("lat"), r.get("lng"))
                    )
                cursor = page.get("next_cursor")
                if not cursor:
                    break
    unique = {t["target_code"]: t for t in out}
    return sorted(unique.values(), key=lambda t: t["target_code"])


def _target(kind: str, code: str, name: str, county: str, lat: Any, lng: Any) -> dict[str, Any]:
    return {"target_code": code, "kind": kind, "name": name[:128], "county_code": county, "lat": lat, "lng": lng}


def sample(candidates: list[dict[str, Any]], per_county: int | None, seed: int) -> list[dict[str, Any]]:
    """N per county, drawn with a generator seeded by (seed, county): the same seed and the same
    registry give the same sample, whatever order the registry answered in."""
    if per_county is None:
        return candidates
    by_county: dict[str, list[dict[str, Any]]] = {}
    for c in sorted(candidates, key=lambda t: t["target_code"]):
        by_county.setdefault(c["county_code"], []).append(c)
    chosen: list[dict[str, Any]] = []
    for county in sorted(by_county):
        pool = by_county[county]
        rng = random.Random(f"{seed}:{county}")
        chosen.extend(rng.sample(pool, min(per_county, len(pool))))
    return sorted(chosen, key=lambda t: (t["county_code"], t["target_code"]))


def workdays(cal: Calendar, start: date, end: date) -> list[date]:
    days = []
    d = start
    while d <= end:
        if cal.is_workday(d):
            days.append(d)
        d += timedelta(days=1)
    return days


def schedule(
    targets: list[dict[str, Any]], days: list[date], inspectors: Sequence[str], per_day: int
) -> list[dict[str, Any]]:
    """Give each target a working day and an inspector.

    Targets are spread evenly over the days (target i goes to day ``i * D // T``), so no day holds
    more than ⌈T / D⌉; within a day they go round the inspectors, so nobody gets more than K when
    T ≤ K × inspectors × D. More targets than that is refused, naming the capacity.
    """
    if not targets:
        return []
    if not days:
        raise invalid("ends_on", "督导窗口内没有工作日")
    if not inspectors:
        raise invalid("team_code", "督导组没有组员")
    capacity = per_day * len(inspectors) * len(days)
    if len(targets) > capacity:
        raise invalid(
            "per_inspector_per_day",
            f"共 {len(targets)} 个检查对象，超过窗口内 {len(days)} 个工作日 × {len(inspectors)} 名督导员 × "
            f"每人每天 {per_day} 个 = {capacity} 个的能力；请延长窗口、增加人数或减少抽样",
        )
    total, n_days = len(targets), len(days)
    out = []
    position: dict[int, int] = {}
    for i, t in enumerate(targets):
        day_index = i * n_days // total
        slot = position.get(day_index, 0)
        position[day_index] = slot + 1
        out.append(t | {"scheduled_on": days[day_index], "inspector": inspectors[slot % len(inspectors)]})
    return out
