"""The demo city: deterministic, valid, fast, and seeded only once."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.common import clock
from services.registry import validation as v
from services.registry.demo import COUNTIES, seed_demo
from services.registry.models import division_t, facility_t, site_t, unit_t, vehicle_t
from tests.registry.conftest import headers_for


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = [
            tuple(r)
            for r in conn.execute(
                select(facility_t.c.code, facility_t.c.name, facility_t.c.lat, facility_t.c.lng).order_by(
                    facility_t.c.code
                )
            ).all()
        ]
        rows += [
            tuple(r)
            for r in conn.execute(select(vehicle_t.c.code, vehicle_t.c.plate_number).order_by(vehicle_t.c.code))
        ]
    return rows


def test_seed_counts_and_second_run_adds_nothing(make_db: Callable[[str], Engine]) -> None:
    engine = make_db("registry")
    counts = seed_demo(engine, size=300)
    assert counts["facilities"] == 300 and counts["vehicles"] == 400 and counts["units"] == 40
    assert 950 <= counts["sites"] <= 1050
    with engine.connect() as conn:
        rows = conn.execute(select(division_t.c.level, func.count()).group_by(division_t.c.level)).all()
        levels = {str(level): int(n) for level, n in rows}
        assert levels == {"city": 1, "county": 9, "street": 30, "community": 300}
        assert conn.execute(select(func.count()).select_from(unit_t)).scalar() == 40
    assert seed_demo(engine, size=300) == dict.fromkeys(counts, 0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(facility_t)).scalar() == 300


def test_seed_is_deterministic(make_db: Callable[[str], Engine]) -> None:
    a, b, c = make_db("registry"), make_db("registry"), make_db("registry")
    seed_demo(a, size=120, seed=7)
    seed_demo(b, size=120, seed=7)
    seed_demo(c, size=120, seed=8)
    assert _snapshot(a) == _snapshot(b)
    assert _snapshot(a) != _snapshot(c)


def test_seeded_data_is_valid(make_db: Callable[[str], Engine]) -> None:
    engine = make_db("registry")
    seed_demo(engine, size=500)
    with engine.connect() as conn:
        stores = set(
            conn.execute(select(facility_t.c.county_code).where(facility_t.c.kind == "hazardous_store")).scalars()
        )
        assert stores == {c[0] for c in COUNTIES}
        plates = list(conn.execute(select(vehicle_t.c.plate_number)).scalars())
        assert len(set(plates)) == 400
        assert all(v.check_plate(p) == p and p.startswith("赣A") for p in plates)
        for lat, lng in conn.execute(select(facility_t.c.lat, facility_t.c.lng)).all():
            v.check_lat(lat)
            v.check_lng(lng)
        communities = set(conn.execute(select(division_t.c.code).where(division_t.c.level == "community")).scalars())
        used = set(conn.execute(select(facility_t.c.community_code)).scalars())
        assert used <= communities
        assert conn.execute(select(func.count()).select_from(site_t).where(site_t.c.kind == "residential")).scalar()


def test_numbers_continue_after_the_seed(make_db: Callable[[str], Engine]) -> None:
    from fastapi.testclient import TestClient

    from services.registry.app import create_app
    from services.registry.config import Settings

    engine = make_db("registry")
    seed_demo(engine, size=200)
    with engine.connect() as conn:
        last = conn.execute(
            select(func.max(facility_t.c.code)).where(facility_t.c.county_code == "360102")
        ).scalar_one()
    settings = Settings()
    client = TestClient(create_app(settings, engine))
    body = {"kind": "bin_group", "name": "新桶组", "street_code": "360102001", "lat": 28.68, "lng": 115.9}
    r = client.post("/facilities", json=body, headers=headers_for(settings, "county"))
    assert r.status_code == 201
    assert r.json()["code"] == f"360102-F{int(last.split('-F')[1]) + 1:06d}"


def test_demo_coverage_is_realistic(make_db: Callable[[str], Engine]) -> None:
    from fastapi.testclient import TestClient

    from services.registry.app import create_app
    from services.registry.config import Settings

    engine = make_db("registry")
    seed_demo(engine, size=100)
    settings = Settings()
    client = TestClient(create_app(settings, engine))
    report = client.get(f"/coverage?as_of={clock.today()}", headers=headers_for(settings, "leader")).json()
    assert 0.8 <= report["city"]["residential"]["rate"] <= 0.98
    rates = {c["residential"]["rate"] for c in report["counties"]}
    assert len(rates) > 3


def test_seeded_records_carry_their_registration_in_the_history(make_db: Callable[[str], Engine]) -> None:
    """A seeded record's page shows 变更记录 共 1 次 (a decommissioned demo site 2): what the API writes."""
    from fastapi.testclient import TestClient

    from services.registry.app import create_app
    from services.registry.config import Settings
    from services.registry.models import history_t

    engine = make_db("registry")
    counts = seed_demo(engine, size=150)
    with engine.connect() as conn:
        site = conn.execute(select(site_t.c.code).where(site_t.c.status == "active").limit(1)).scalar_one()
        gone = conn.execute(select(site_t.c.code).where(site_t.c.status == "decommissioned").limit(1)).scalar_one()
        rows = conn.execute(
            select(history_t.c.kind, func.count()).where(history_t.c.action == "created").group_by(history_t.c.kind)
        ).all()
        per_kind = {str(kind): int(n) for kind, n in rows}
    assert per_kind == {"site": counts["sites"], "facility": 150, "vehicle": counts["vehicles"]}
    settings = Settings()
    client = TestClient(create_app(settings, engine))
    office = headers_for(settings, "office")
    record = client.get(f"/sites/{site}", headers=office).json()
    (entry,) = client.get(f"/sites/{site}/history", headers=office).json()["items"]
    assert entry["action"] == "created" and entry["actor_name"] == "示例数据" and entry["before"] is None
    assert entry["after"] == record and entry["at"] == record["created_at"]
    ended = client.get(f"/sites/{gone}", headers=office).json()
    created, decommissioned = client.get(f"/sites/{gone}/history", headers=office).json()["items"]
    assert created["after"]["status"] == "active" and created["after"]["version"] == 1
    assert decommissioned["action"] == "decommissioned" and decommissioned["before"] == created["after"]
    assert decommissioned["after"] == ended and ended["version"] == 2
    assert decommissioned["at"] == ended["decommissioned_at"] == ended["updated_at"]
    vehicle = client.get("/vehicles", headers=office).json()["items"][0]
    (v_entry,) = client.get(f"/vehicles/{vehicle['code']}/history", headers=office).json()["items"]
    assert v_entry["after"] == vehicle
