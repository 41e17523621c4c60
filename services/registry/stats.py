"""Dashboard counters (``record_count``): how many sites, facilities and vehicles exist per
(kind, county, category, sub-kind, status).

The counters change in the same transaction as the records: ``apply_change`` from the service
layer for every create, change and decommission, ``repository.add_counts`` from the bulk import,
``repository.recompute`` after demo seeding (one ``INSERT ... SELECT ... GROUP BY`` per table).
``GET /stats`` then reads a few hundred counter rows instead of counting a million facilities.

Key per kind: facilities (category, facility kind), vehicles (category, energy type), sites
("", site kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.registry import repository as repo
from services.registry.repository import CountKey


def key_of(kind: str, record: Mapping[str, Any]) -> CountKey:
    """The counter a record (as stored or as the API shows it) counts in."""
    if kind == "vehicle":
        category, sub_kind = record["category"], record["energy_type"]
    elif kind == "facility":
        category, sub_kind = record["category"], record["kind"]
    else:
        category, sub_kind = "", record["kind"]
    return kind, record["county_code"], category or "", sub_kind or "", record.get("status") or "active"


def apply_change(
    session: Session, kind: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> None:
    """Move one record between counters: created (no ``before``), changed, decommissioned."""
    deltas: dict[CountKey, int] = {}
    if before is not None:
        k = key_of(kind, before)
        deltas[k] = deltas.get(k, 0) - 1
    if after is not None:
        k = key_of(kind, after)
        deltas[k] = deltas.get(k, 0) + 1
    repo.add_counts(session, {k: n for k, n in deltas.items() if n})


def _bump(block: dict[str, int], key: str, n: int) -> None:
    block[key] = block.get(key, 0) + n


def report(session: Session | Connection, county: str | None) -> dict[str, Any]:
    """``GET /stats`` from the counters: active records by category and kind / energy type, the
    same per county (``by_county``), and how many are decommissioned."""
    facilities: dict[str, Any] = {"total": 0, "by_category": {}, "by_kind": {}}
    vehicles: dict[str, Any] = {"total": 0, "by_category": {}, "by_energy_type": {}}
    sites: dict[str, Any] = {"total": 0, "by_kind": {}}
    by_county: dict[str, dict[str, Any]] = {}
    decommissioned = {"facilities": 0, "vehicles": 0, "sites": 0}
    names = {"facility": "facilities", "vehicle": "vehicles", "site": "sites"}
    for kind, county_code, category, sub_kind, status, n in repo.counts(session, county):
        name = names[kind]
        if status != "active":
            decommissioned[name] += n
            continue
        block = {"facilities": facilities, "vehicles": vehicles, "sites": sites}[name]
        local = by_county.setdefault(
            county_code,
            {
                "facilities": {"total": 0, "by_category": {}},
                "vehicles": {"total": 0, "by_category": {}},
                "sites": {"total": 0, "by_kind": {}},
            },
        )[name]
        block["total"] += n
        local["total"] += n
        if kind == "site":
            _bump(block["by_kind"], sub_kind, n)
            _bump(local["by_kind"], sub_kind, n)
            continue
        _bump(block["by_category"], category, n)
        _bump(local["by_category"], category, n)
        _bump(block["by_kind" if kind == "facility" else "by_energy_type"], sub_kind, n)
    return {
        "county_code": county,
        "facilities": facilities,
        "vehicles": vehicles,
        "sites": sites,
        "by_county": dict(sorted(by_county.items())),
        "decommissioned": decommissioned,
    }
