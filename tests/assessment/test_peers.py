"""The assessment service reads the real registry over HTTP (the kernel's PeerClient, signed): units for
name matching and task counties, coverage for metric items, the working-day calendar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy.engine import Engine

from services.assessment.config import Settings
from services.assessment.ports import HttpRegistry, HttpSupervision, metric_value

pytest.importorskip("services.common.peers")


def test_registry_over_http(make_db: Callable[[str], Engine], settings: Settings) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from services.registry.app import create_app
    from services.registry.config import Settings as RegistrySettings
    from tests.registry.conftest import seed_divisions

    engine = make_db("registry")
    seed_divisions(engine)
    registry_app = create_app(RegistrySettings(), engine)
    transport = TestClient(registry_app)._transport
    registry = HttpRegistry(settings, transport=transport)
    units = {u["code"]: u for u in registry.units()}
    assert units["U21"]["county_code"] == "360102" and units["U01"]["name"] == "市垃圾分类办"
    coverage = registry.coverage(date(2026, 12, 31))
    assert coverage["as_of"] == "2026-12-31" and "city" in coverage
    assert metric_value("residential_coverage", coverage) is None  # no residential sites seeded: no rate
    calendar = registry.calendar()
    assert calendar.is_workday(date(2026, 10, 9)) and not calendar.is_workday(date(2026, 10, 2))


def test_supervision_absent_is_tolerated(settings: Settings) -> None:
    import httpx

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    assert HttpSupervision(settings, transport=httpx.MockTransport(down)).enforcement_summary("2026Q4") is None
