"""Concurrent retries of one write answer as a single write does: two identical ``PUT
/<kind>s/by-external-id/X`` at once give 201 and 200 (not 409), and a real clash names its field and
value. The race happens on PostgreSQL (run with SORTLINE_TEST_DATABASE_URL); SQLite writers queue."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.registry.app import create_app
from services.registry.config import Settings
from services.registry.models import facility_t, vehicle_t
from tests.registry.conftest import FACILITY, VEHICLE, headers_for

ROUNDS = 20


async def _pairs(engine: Engine, settings: Settings, requests: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    """Each round's requests sent together (the PUT routes run in the thread pool: truly at once)."""
    app = create_app(settings, engine)
    headers = headers_for(settings, "key")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
        return await asyncio.gather(
            *(client.request(method, url, json=body, headers=headers) for method, url, body in requests)
        )


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def test_two_identical_upserts_at_once_answer_201_and_200(engine: Engine, settings: Settings) -> None:
    body = {k: v for k, v in VEHICLE.items() if k != "external_id"}
    for i in range(ROUNDS):
        plate = f"赣AC{i:04d}"
        url = f"/vehicles/by-external-id/RACE-{i}"
        first, second = await _pairs(engine, settings, [("PUT", url, {**body, "plate_number": plate})] * 2)
        assert sorted([first.status_code, second.status_code]) == [200, 201], (first.text, second.text)
        assert first.json()["code"] == second.json()["code"]
    facility = {**FACILITY}
    for i in range(ROUNDS):
        url = f"/facilities/by-external-id/F-RACE-{i}"
        first, second = await _pairs(engine, settings, [("PUT", url, facility)] * 2)
        assert sorted([first.status_code, second.status_code]) == [200, 201], (first.text, second.text)
    assert _count(engine, vehicle_t) == ROUNDS and _count(engine, facility_t) == ROUNDS
    # no number was lost to a race: the codes run without gaps
    with engine.connect() as conn:
        codes = sorted(conn.execute(select(vehicle_t.c.code)).scalars())
    assert codes == [f"360102-K{i:05d}" for i in range(1, ROUNDS + 1)]


async def test_a_plate_race_answers_409_naming_the_plate(engine: Engine, settings: Settings) -> None:
    body = {k: v for k, v in VEHICLE.items() if k != "external_id"}
    seen: Counter[int] = Counter()
    for i in range(ROUNDS):
        plate = f"赣AP{i:04d}"
        answers = await _pairs(
            engine,
            settings,
            [
                ("PUT", f"/vehicles/by-external-id/A-{i}", {**body, "plate_number": plate}),
                ("PUT", f"/vehicles/by-external-id/B-{i}", {**body, "plate_number": plate}),
                ("POST", "/vehicles", {**body, "plate_number": plate, "external_id": f"C-{i}"}),
            ],
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409, 409], [a.text for a in answers]
        for answer in answers:
            seen[answer.status_code] += 1
            if answer.status_code == 409:
                detail = answer.json()["details"][0]
                assert detail["field"] == "plate_number" and detail["value"] == plate, answer.text
                assert plate in answer.json()["message"]
    assert seen == {201: ROUNDS, 409: 2 * ROUNDS}
