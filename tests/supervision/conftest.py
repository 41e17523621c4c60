"""Supervision fixtures: a migrated database, the app with a fake registry and a working-day
calendar, signed callers, and helpers that build a team, a published checklist and a plan."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from services.common.auth import Caller, sign_token
from services.supervision.app import create_app
from services.supervision.config import Settings

COUNTIES = ["360102", "360103"]
SITE_KINDS = ["residential", "education"]


def registry_sites(per_county: int = 30) -> list[dict[str, Any]]:
    sites = []
    for county in COUNTIES:
        for i in range(1, per_county + 1):
            kind = SITE_KINDS[i % 2]
            sites.append(
                {
                    "code": f"{county}-S{i:06d}",
                    "kind": kind,
                    "name": f"示例小区{county[-2:]}{i}",
                    "county_code": county,
                    "lat": 28.6 + i / 1000,
                    "lng": 115.9,
                }
            )
    return sites


class FakeRegistry:
    """Answers the registry paths a plan reads (``/sites``, ``/units``, ``/divisions``) with
    keyset pages, like the real one; counts the calls."""

    def __init__(self, sites: list[dict[str, Any]]) -> None:
        self.sites = sites
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_json(self, path: str, params: dict[str, Any] | None = None, caller: Any = None) -> Any:
        params = dict(params or {})
        self.calls.append((path, params))
        if path == "/sites":
            rows = [
                s
                for s in self.sites
                if s["county_code"] == params.get("county") and (not params.get("kind") or s["kind"] == params["kind"])
            ]
            rows.sort(key=lambda s: s["code"])
            after = params.get("cursor")
            if after:
                rows = [s for s in rows if s["code"] > after]
            limit = int(params.get("limit", 50))
            page = rows[:limit]
            return {"items": page, "next_cursor": page[-1]["code"] if len(rows) > limit else None}
        if path == "/units":
            return {"items": [{"code": "U05", "name": "市市场监管局", "county_code": None}]}
        if path == "/divisions":
            return {"items": [{"code": c, "name": f"县区{c}"} for c in COUNTIES]}
        raise AssertionError(f"unexpected registry path {path}")


class WeekdayCalendar:
    """Monday to Friday: enough for tests that are not about holidays (those use the kernel's)."""

    def is_workday(self, d: date) -> bool:
        return d.weekday() < 5

    def add_workdays(self, d: date, n: int) -> date:
        while n > 0:
            d += timedelta(days=1)
            if self.is_workday(d):
                n -= 1
        return d

    def workdays_between(self, a: date, b: date) -> int:
        count, d = 0, a
        while d < b:
            d += timedelta(days=1)
            count += self.is_workday(d)
        return count

    def warning(self, d: date) -> str | None:
        return None


@pytest.fixture
def engine(make_db: Callable[[str], Engine]) -> Engine:
    return make_db("supervision")


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(run_jobs=False, storage_url=str(tmp_path / "files"))


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry(registry_sites())


@pytest.fixture
def app(engine: Engine, settings: Settings, registry: FakeRegistry) -> Any:
    app = create_app(settings, engine)
    app.state.peers = {"registry": registry}
    app.state.calendar = WeekdayCalendar()
    return app


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield TestClient(app, raise_server_exceptions=False)


CALLERS: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin"},
    "office": {"role": "office"},
    "leader": {"role": "leader"},
    "inspector": {"role": "inspector", "team_code": "T01", "name": "inspector"},
    "inspector2": {"role": "inspector", "team_code": "T02", "name": "wang"},
    "county": {"role": "county", "county_code": "360102"},
    "county_other": {"role": "county", "county_code": "360103"},
    "county_key": {"role": "county", "county_code": "360102", "permissions": ["supervision:read"]},
    "county_registry_key": {"role": "county", "county_code": "360102", "permissions": ["registry:read"]},
    "unit": {"role": "unit", "unit_code": "U05"},
    "unit_other": {"role": "unit", "unit_code": "U07"},
}


def headers_for(settings: Settings, who: str, **extra: str) -> dict[str, str]:
    spec = dict(CALLERS[who])
    sub = f"key:{who}" if who.endswith("_key") else f"user:{who}"
    name = spec.pop("name", f"测试{who}")
    token = sign_token(Caller(sub=sub, name=name, **spec), settings.service_token_secret)
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
def as_(settings: Settings) -> Callable[..., dict[str, str]]:
    def make(who: str, **extra: str) -> dict[str, str]:
        return headers_for(settings, who, **extra)

    return make


CHECKLIST: dict[str, Any] = {
    "code": "RES",
    "name": "居民小区督导检查表",
    "target_kind": "site:residential",
    "items": [
        {"id": "bins", "label": "四分类桶组齐全", "type": "yesno", "weight": 2, "category": "facility_damage"},
        {"id": "quality", "label": "分类质量", "type": "score", "max": 10, "pass_min": 6, "category": "mixed_disposal"},
        {"id": "overflow", "label": "满溢桶数", "type": "count", "pass_max": 0, "category": "overflow"},
        {"id": "photo", "label": "全景照片", "type": "photo"},
        {"id": "remark", "label": "其他", "type": "text", "required": False},
    ],
}


def make_team(
    client: TestClient, as_: Callable[..., dict[str, str]], code: str = "T01", **extra: Any
) -> dict[str, Any]:
    body = {
        "code": code,
        "name": "第一督导组",
        "leader": "inspector",
        "members": ["inspector", "lisi"],
        "counties": COUNTIES,
    }
    r = client.put(f"/teams/{code}", json=body | extra, headers=as_("office"))
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def make_checklist(client: TestClient, as_: Callable[..., dict[str, str]], body: dict[str, Any] | None = None) -> int:
    r = client.post("/checklists", json=body or CHECKLIST, headers=as_("office"))
    assert r.status_code == 201, r.text
    checklist_id = int(r.json()["id"])
    r = client.post(f"/checklists/{checklist_id}/publish", headers=as_("office"))
    assert r.status_code == 200, r.text
    return checklist_id


def make_plan(
    client: TestClient,
    as_: Callable[..., dict[str, str]],
    *,
    starts_on: str = "2026-11-02",
    ends_on: str = "2026-11-13",
    team: str = "T01",
    sample: int | None = 3,
    seed: int = 7,
    per_day: int = 4,
) -> dict[str, Any]:
    checklist_id = make_checklist(client, as_)
    body = {
        "name": "测试轮次",
        "starts_on": starts_on,
        "ends_on": ends_on,
        "team_code": team,
        "checklist_id": checklist_id,
        "selection": {"source": "site", "counties": COUNTIES, "sample_per_county": sample, "seed": seed},
        "per_inspector_per_day": per_day,
    }
    r = client.post("/plans", json=body, headers=as_("office"))
    assert r.status_code == 201, r.text
    return dict(r.json())
