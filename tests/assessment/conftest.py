"""Assessment fixtures: a migrated database, in-memory registry and supervision peers, a working-day
calendar, local file storage, signed callers and a small published catalogue."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.assessment import catalogues
from services.assessment.app import create_app
from services.assessment.config import Settings
from services.common.auth import Caller, sign_token
from services.common.db import session_scope
from services.common.storage import LocalStorage

UNITS: list[dict[str, Any]] = [
    {"code": "U01", "name": "市垃圾分类办", "kind": "municipal_bureau", "county_code": None},
    {"code": "U02", "name": "市司法局", "kind": "municipal_bureau", "county_code": None},
    {"code": "U03", "name": "市城管执法局", "kind": "municipal_bureau", "county_code": None},
    {"code": "U05", "name": "市市场监管局", "kind": "municipal_bureau", "county_code": None},
    {"code": "U06", "name": "市商务局", "kind": "municipal_bureau", "county_code": None},
    {"code": "U13", "name": "市发改委", "kind": "municipal_bureau", "county_code": None},
    {"code": "U15", "name": "市委组织部", "kind": "municipal_bureau", "county_code": None},
    {"code": "U21", "name": "东湖区人民政府", "kind": "county_government", "county_code": "360102"},
    {"code": "U22", "name": "西湖区人民政府", "kind": "county_government", "county_code": "360103"},
]


class FakeRegistry:
    def __init__(self, rate: float = 0.93) -> None:
        self.rate = rate
        self.coverage_calls: list[date] = []

    def units(self) -> list[dict[str, Any]]:
        return UNITS

    def coverage(self, as_of: date) -> dict[str, Any]:
        self.coverage_calls.append(as_of)
        return {
            "as_of": as_of.isoformat(),
            "city": {"residential": {"covered": 93, "total": 100, "rate": self.rate}, "by_kind": {}},
            "counties": [],
        }


class ChinaCalendar:
    """Working days from the chinese-calendar package (what the kernel's calendar builds on)."""

    def is_workday(self, d: date) -> bool:
        return bool(chinese_calendar.is_workday(d))

    def add_workdays(self, d: date, n: int) -> date:
        while n > 0:
            d += timedelta(days=1)
            n -= self.is_workday(d)
        return d

    def workdays_between(self, a: date, b: date) -> int:
        if b <= a:
            return -self.workdays_between(b, a) if b < a else 0
        return sum(self.is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))


class FakeSupervision:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data

    def enforcement_summary(self, period: str) -> dict[str, Any] | None:
        return self.data


CALLERS: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin"},
    "office": {"role": "office"},
    "leader": {"role": "leader"},
    "unit": {"role": "unit", "unit_code": "U02"},
    "unit_u03": {"role": "unit", "unit_code": "U03"},
    "unit_u05": {"role": "unit", "unit_code": "U05"},
    "county": {"role": "county", "county_code": "360102"},
    "county_other": {"role": "county", "county_code": "360103"},
    "inspector": {"role": "inspector", "team_code": "T1"},
}


def caller(who: str) -> Caller:
    return Caller(sub=f"user:{who}", name=f"测试{who}", **CALLERS[who])


@pytest.fixture
def engine(make_db: Callable[[str], Engine]) -> Engine:
    return make_db("assessment")


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def calendar() -> ChinaCalendar:
    return ChinaCalendar()


@pytest.fixture
def app(
    engine: Engine, settings: Settings, registry: FakeRegistry, storage: LocalStorage, calendar: ChinaCalendar
) -> Any:
    return create_app(
        settings, engine, registry=registry, supervision=FakeSupervision(), calendar=lambda: calendar, storage=storage
    )


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def as_(settings: Settings) -> Callable[[str], dict[str, str]]:
    def make(who: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + sign_token(caller(who), settings.service_token_secret)}

    return make


SPEC: dict[str, Any] = {
    "name": "测试细则",
    "note": None,
    "categories": [
        {
            "name": "体制机制建设",
            "items": [
                {
                    "code": "1.1",
                    "name": "落实城市主体责任",
                    "rules": [
                        {"text": "市、区建立领导小组", "points": 2, "method": "all_or_nothing"},
                        {"text": "主要负责同志任组长", "points": 1, "method": "all_or_nothing"},
                    ],
                    "evidence": [
                        {
                            "code": "e1",
                            "title": "成立领导小组的正式文件",
                            "frequency": "once",
                            "kinds": ["pdf", "image"],
                        }
                    ],
                    "lead_unit": "U01",
                    "co_units": [],
                },
                {
                    "code": "1.2",
                    "name": "出台地方性法规或政府规章",
                    "rules": [
                        {
                            "text": "地方性法规2分或政府规章1分",
                            "points": 2,
                            "method": "either_or",
                            "alternatives": [{"label": "地方性法规", "points": 2}, {"label": "政府规章", "points": 1}],
                        }
                    ],
                    "evidence": [{"code": "e1", "title": "法规/规章文本", "frequency": "once", "kinds": ["pdf"]}],
                    "lead_unit": "U02",
                    "co_units": ["U01"],
                },
            ],
        },
        {
            "name": "分类投放",
            "items": [
                {
                    "code": "2.1",
                    "name": "居民小区分类覆盖率",
                    "rules": [
                        {
                            "text": "居民小区生活垃圾分类覆盖率",
                            "points": 3,
                            "method": "metric_band",
                            "metric": "residential_coverage",
                            "bands": [{"min": 0.95, "points": 3}, {"min": 0.9, "points": 2}, {"min": 0.8, "points": 1}],
                        }
                    ],
                    "evidence": [
                        {"code": "e1", "title": "覆盖率统计台账", "frequency": "quarterly", "kinds": ["pdf", "office"]}
                    ],
                    "lead_unit": "U03",
                    "co_units": ["U21", "U22"],
                    "data_source": "registry:residential_coverage",
                },
                {
                    "code": "2.2",
                    "name": "混投混放整治",
                    "rules": [{"text": "混投混放", "points": 3, "method": "deduction", "per_case": 0.5, "floor": 0}],
                    "evidence": [
                        {"code": "e1", "title": "执法台账", "frequency": "monthly", "kinds": ["pdf", "image", "office"]}
                    ],
                    "lead_unit": "U05",
                    "co_units": [],
                },
            ],
        },
    ],
}


def publish_spec(engine: Engine, spec: dict[str, Any] | None = None) -> int:
    import copy

    with session_scope(engine) as session:
        cat = catalogues.create_from_spec(session, caller("office"), copy.deepcopy(spec or SPEC))
        assert cat.id is not None
        catalogues.publish(session, caller("office"), cat.id)
        return cat.id


@pytest.fixture
def published(engine: Engine) -> int:
    return publish_spec(engine)


@pytest.fixture
def quarter(engine: Engine, published: int, settings: Settings, registry: FakeRegistry, calendar: ChinaCalendar) -> str:
    from services.assessment import quarters

    with session_scope(engine) as session:
        quarters.open_quarter(session, caller("office"), settings, registry, calendar, "2026Q4", published)
    return "2026Q4"
