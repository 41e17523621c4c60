"""The demo city (示例): a Nanchang-like city with 9 counties, ~30 streets, 300 communities, 40
member units, ~1,000 sites, ``size`` facilities and 400 vehicles (``size // 12`` for benchmark sizes),
all generated deterministically.

The same generator builds the benchmark data (``size=100_000`` or ``1_000_000``). It writes with
bulk Core inserts (PostgreSQL: ``COPY``), takes the unified numbers from the same templates and
afterwards sets the numbering counters so later registrations continue each sequence. Each seeded
record gets the history row a registration writes (action ``created`` at its ``created_at``, by
``system:demo`` 示例数据; a decommissioned demo site also its ``decommissioned`` row), so a record's
page shows how it came to be; seeded rows get no outbox events (nobody downstream should act on
them). Seeding twice adds nothing (the city division marks a seeded database).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine

from services.registry import numbering, repository
from services.registry.bulk import repository as bulk_repository
from services.registry.config import Settings
from services.registry.models import (
    division_t,
    facility_t,
    site_t,
    unit_t,
    vehicle_t,
)
from services.registry.validation import FACILITY_DEFAULT_CATEGORY, PROVINCES

# The city's data (counties, their streets, names, mixes, member units): ``demo_city.json``.
_DATA = json.loads(Path(__file__).with_name("demo_city.json").read_text(encoding="utf-8"))
CITY: tuple[str, str] = tuple(_DATA["city"])
# code, name, centre (lat, lng), spread in degrees, streets (name, is_town)
COUNTIES: list[tuple[str, str, tuple[float, float], float, list[tuple[str, bool]]]] = [
    (code, name, (centre[0], centre[1]), spread, [(street, town) for street, town in streets])
    for code, name, centre, spread, streets in _DATA["counties"]
]
# Residential coverage each county reaches (the demo shows a spread between 85 % and 95 %).
COVERAGE: dict[str, float] = _DATA["coverage"]
COUNTY_WEIGHTS: list[float] = _DATA["county_weights"]  # where facilities and vehicles are, in COUNTIES' order
PLACE_WORDS = list(_DATA["place_words"])
ROADS: list[str] = _DATA["roads"]
RESIDENTIAL_SUFFIX: list[str] = _DATA["residential_suffix"]
OTHER_SITES: dict[str, list[str]] = _DATA["other_sites"]
SITE_MIX: list[tuple[str, float]] = [(kind, weight) for kind, weight in _DATA["site_mix"]]
FACILITY_MIX: list[tuple[str, float]] = [(kind, weight) for kind, weight in _DATA["facility_mix"]]
FACILITY_NAME: dict[str, str] = _DATA["facility_name"]
FACILITY_CAPACITY: dict[str, float] = _DATA["facility_capacity"]
VEHICLE_CATEGORIES: list[tuple[str, float]] = [(kind, weight) for kind, weight in _DATA["vehicle_categories"]]
ENERGY: list[tuple[str, float]] = [(kind, weight) for kind, weight in _DATA["energy"]]
OPERATORS: list[str] = _DATA["operators"]
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
# name, kind, county, duties; the county governments stand where the data says "county_governments"
UNITS: list[tuple[str, str, str | None, str]] = [
    unit
    for entry in _DATA["units"]
    for unit in (
        [(f"{name}人民政府", "county_government", code, "辖区分类工作主体责任") for code, name, *_ in COUNTIES]
        if entry == "county_governments"
        else [tuple(entry)]
    )
]
BATCH = 20_000


def _pick(rng: random.Random, mix: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]


def _point(rng: random.Random, centre: tuple[float, float], spread: float) -> tuple[float, float]:
    return round(centre[0] + rng.uniform(-spread, spread), 6), round(centre[1] + rng.uniform(-spread, spread), 6)


def _place(rng: random.Random) -> str:
    return "".join(rng.sample(PLACE_WORDS, 2))


def _moment(rng: random.Random, start: date, days: int) -> datetime:
    day = start + timedelta(days=rng.randrange(days))
    return datetime(day.year, day.month, day.day, 1 + rng.randrange(10), rng.randrange(60), tzinfo=UTC)


def _registered(created: datetime, ended: datetime | None = None) -> dict[str, Any]:
    """The last columns of a seeded record: registered at ``created``, decommissioned at ``ended``."""
    return {
        "status": "decommissioned" if ended else "active",
        "external_id": None,
        "created_at": created,
        "updated_at": ended or created,
        "decommissioned_at": ended,
        "version": 2 if ended else 1,
    }


DEMO_ACTOR = ("system:demo", "示例数据")


def _history(kind: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The history rows the API writes for a record registered (and maybe decommissioned) like this one:
    ``after`` is the record as the API shows it (``services.registry.service._create``)."""
    rows = []
    public = {k: v for k, v in record.items() if k != "id"}
    if public["status"] == "decommissioned":
        active = {**public, "status": "active", "decommissioned_at": None, "version": 1}
        active["updated_at"] = public["created_at"]
        rows.append(_history_row(kind, active, "created", public["created_at"], None))
        rows.append(_history_row(kind, public, "decommissioned", public["decommissioned_at"], active))
    else:
        rows.append(_history_row(kind, public, "created", public["created_at"], None))
    return rows


def _history_row(
    kind: str, after: dict[str, Any], action: str, at: datetime, before: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        **repository.history_row(kind, after, action, DEMO_ACTOR, at),
        "before": repository.jsonable(before) if before is not None else None,
        "after_json": orjson.dumps(after).decode(),
    }


def _copy_with_history(
    conn: Connection, table: Table, kind: str, rows: Iterable[dict[str, Any]], columns: list[str]
) -> None:
    """Bulk insert records batch by batch, each batch followed by its history rows (the import's
    ``insert_history``), so memory stays flat at the benchmark sizes."""
    for records in _batched(rows):
        bulk_repository.copy_rows(conn, table, records, columns, batch=BATCH)
        history = [h for record in records for h in _history(kind, record)]
        plain = [{k: v for k, v in h.items() if k != "before"} for h in history if h["before"] is None]
        changed = [h for h in history if h["before"] is not None]
        for group in (plain, changed):
            if group:
                bulk_repository.insert_history(conn, group)


def _batched(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(itertools.islice(it, BATCH)):
        yield batch


def demo_vehicle_count(size: int) -> int:
    """400 vehicles for the demo city (5,000 facilities), more for the benchmark sizes."""
    return 400 if size <= 5000 else size // 12


def seed_demo(engine: Engine, *, size: int = 5000, seed: int = 42, settings: Settings | None = None) -> dict[str, int]:
    """Build the demo city; returns how many rows of each kind were added (zeros the second time)."""
    settings = settings or Settings()
    rng = random.Random(seed)
    counts = {"divisions": 0, "units": 0, "sites": 0, "facilities": 0, "vehicles": 0}
    with engine.begin() as conn:
        if repository.division(conn, CITY[0]) is not None:
            return counts
        counters: dict[tuple[str, str], int] = {}

        def number(kind: str, county: str, sub_kind: str, category: str | None) -> str:
            seq = counters.get((county, kind), 0) + 1
            counters[(county, kind)] = seq
            return numbering.render(
                settings.code_template(kind), county_code=county, seq=seq, kind=sub_kind, category=category
            )

        # divisions
        divisions = [{"code": CITY[0], "name": CITY[1], "level": "city", "parent_code": None}]
        streets: dict[str, list[tuple[str, str]]] = {}
        communities: dict[str, list[tuple[str, str, str]]] = {}
        for county, county_name, _, _, street_names in COUNTIES:
            divisions.append({"code": county, "name": county_name, "level": "county", "parent_code": CITY[0]})
            for i, (street_name, town) in enumerate(street_names, start=1):
                street = f"{county}{i:03d}"
                divisions.append({"code": street, "name": street_name, "level": "street", "parent_code": county})
                streets.setdefault(county, []).append((street, street_name))
                used: set[str] = set()
                for j in range(1, 11):
                    name = _place(rng)
                    while name in used:
                        name = _place(rng)
                    used.add(name)
                    code = f"{street}{(200 + j) if town else j:03d}"
                    full = f"{name}{'村' if town else '社区'}"
                    divisions.append({"code": code, "name": full, "level": "community", "parent_code": street})
                    communities.setdefault(county, []).append((code, street, full))
        bulk_repository.insert_records(conn, division_t, divisions)
        counts["divisions"] = len(divisions)

        units = [
            {
                "code": f"U{i:02d}",
                "name": name,
                "kind": kind,
                "county_code": county,
                "contact": f"联络员{i:02d}",
                "phone": f"0791-8{i:07d}",
                "duties": duties,
            }
            for i, (name, kind, county, duties) in enumerate(UNITS, start=1)
        ]
        bulk_repository.insert_records(conn, unit_t, units)
        counts["units"] = len(units)

        # sites: about 110 per county, residential ones covered at the county's rate
        sites: list[dict[str, Any]] = []
        residential_by_county: dict[str, list[str]] = {}
        street_label = {code: name for values in streets.values() for code, name in values}
        for county, county_name, centre, spread, _ in COUNTIES:
            for _ in range(111):
                kind = _pick(rng, SITE_MIX)
                community, street, _community_name = rng.choice(communities[county])
                place = _place(rng)
                if kind == "residential":
                    name = place + rng.choice(RESIDENTIAL_SUFFIX)
                else:
                    name = rng.choice(OTHER_SITES[kind]).format(c=county_name, p=place)
                lat, lng = _point(rng, centre, spread)
                created = _moment(rng, date(2018, 1, 1), 365)
                target = COVERAGE[county] if kind == "residential" else 0.97
                covered = rng.random() < target
                since = (created + timedelta(days=rng.randrange(30, 1800))).date() if covered else None
                code = number("site", county, kind, None)
                decommissioned = rng.random() < 0.01
                address = f"{county_name}{street_label[street]}{rng.choice(ROADS)}{rng.randrange(1, 999)}号"
                ended = _moment(rng, date(2025, 1, 1), 300) if decommissioned else None  # after the address
                sites.append(
                    {
                        "code": code,
                        "kind": kind,
                        "name": name,
                        "county_code": county,
                        "street_code": street,
                        "community_code": community,
                        "address": address,
                        "lat": lat,
                        "lng": lng,
                        "covered": covered,
                        "covered_since": since,
                        "sorted_collection": covered,
                        "sorted_transport": covered,
                        **_registered(created, ended),
                    }
                )
                if kind == "residential":
                    residential_by_county.setdefault(county, []).append(code)
        _copy_with_history(conn, site_t, "site", sites, [c.name for c in site_t.c if c.name != "id"])
        counts["sites"] = len(sites)

        # facilities: every county gets a hazardous-waste store first
        facility_columns = [c.name for c in facility_t.c if c.name != "id"]

        def facilities() -> Iterable[dict[str, Any]]:
            for i in range(size):
                if i < len(COUNTIES):
                    county_row, kind = COUNTIES[i], "hazardous_store"
                else:
                    county_row = rng.choices(COUNTIES, weights=COUNTY_WEIGHTS)[0]
                    kind = _pick(rng, FACILITY_MIX)
                county, county_name, centre, spread, _ = county_row
                community, street, community_name = rng.choice(communities[county])
                category = FACILITY_DEFAULT_CATEGORY.get(kind, "mixed")
                site_code = None
                if kind in ("bin_group", "smart_box", "drop_point") and rng.random() < 0.5:
                    site_code = rng.choice(residential_by_county[county])
                place = (
                    community_name
                    if kind in ("bin_group", "smart_box", "drop_point", "recycling_point")
                    else street_label[street]
                )
                lat, lng = _point(rng, centre, spread)
                created = _moment(rng, date(2019, 1, 1), 2000)
                yield {
                    "code": number("facility", county, kind, category),
                    "kind": kind,
                    "category": category,
                    "name": f"{place}{FACILITY_NAME[kind]}{i % 97 + 1}号",
                    "county_code": county,
                    "street_code": street,
                    "community_code": community,
                    "site_code": site_code,
                    "address": f"{county_name}{street_label[street]}{rng.choice(ROADS)}{rng.randrange(1, 999)}号",
                    "lat": lat,
                    "lng": lng,
                    "capacity": FACILITY_CAPACITY[kind],
                    **_registered(created),
                }

        _copy_with_history(conn, facility_t, "facility", facilities(), facility_columns)
        counts["facilities"] = size

        # vehicles: 400 for the demo city, one per 12 facilities for benchmark sizes (a province
        # has ~30,000 vehicles for ~1,000,000 facilities); valid, distinct 赣A plates
        assert PROVINCES.index("赣") >= 0
        plates: set[str] = set()
        vehicles = []
        for _ in range(demo_vehicle_count(size)):
            county = rng.choices(COUNTIES, weights=COUNTY_WEIGHTS)[0][0]
            category = _pick(rng, VEHICLE_CATEGORIES)
            energy = _pick(rng, ENERGY)
            while True:
                if energy in ("electric", "hybrid", "hydrogen"):
                    letter = "D" if energy == "electric" else "F"
                    digits = f"{rng.randrange(100000):05d}"
                    plate = f"赣A{letter}{digits}" if rng.random() < 0.6 else f"赣A{digits}{letter}"
                else:
                    plate = "赣A" + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))
                if plate not in plates:
                    plates.add(plate)
                    break
            created = _moment(rng, date(2020, 1, 1), 1500)
            vehicles.append(
                {
                    "code": number("vehicle", county, "vehicle", category),
                    "plate_number": plate,
                    "category": category,
                    "energy_type": energy,
                    "capacity_tonnes": rng.choice([1.5, 2.5, 3.0, 5.0, 8.0, 10.0, 15.0]),
                    "operator_name": rng.choice(OPERATORS),
                    "county_code": county,
                    "road_permit_expires_on": date(2026, 1, 1) + timedelta(days=rng.randrange(900)),
                    "inspection_due_on": date(2026, 1, 1) + timedelta(days=rng.randrange(365)),
                    "gps_device_id": f"GPS{rng.randrange(10**8):08d}",
                    **_registered(created),
                }
            )
        _copy_with_history(conn, vehicle_t, "vehicle", vehicles, [c.name for c in vehicle_t.c if c.name != "id"])
        counts["vehicles"] = len(vehicles)
        repository.raise_counters(conn, counters)
        # The dashboard counters, from the tables in one INSERT ... SELECT ... GROUP BY each.
        repository.recompute(conn)
    return counts
