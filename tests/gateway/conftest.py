"""Gateway fixtures: the gateway on a fresh migrated database, with the real services in-process
(through ``httpx.ASGITransport``), driven by Starlette's TestClient (which runs the lifespan)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gateway import cli
from gateway.app import create_app
from gateway.config import Settings

PASSWORD = "correct-horse-9"
HAS_REGISTRY = importlib.util.find_spec("services.registry.app") is not None


@dataclass
class Gateway:
    client: TestClient
    engine: Engine
    settings: Settings
    service_engines: dict[str, Engine]
    password: str = PASSWORD

    def user(self, username: str, role: str = "admin", password: str = PASSWORD, **scope: Any) -> int:
        return cli.create_user(self.engine, username=username, password=password, role=role, **scope)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.client.post("/login", data={"username": username, "password": password}, follow_redirects=False)

    def login_as(self, role: str, **scope: Any) -> str:
        """Create a user of ``role`` and sign in; returns the session's CSRF token."""
        self.user(f"u_{role}", role, **scope)
        resp = self.login(f"u_{role}")
        assert resp.status_code == 303, resp.text
        return self.csrf()

    def csrf(self) -> str:
        page = self.client.get("/")
        match = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert match, page.text
        return match.group(1)

    def key(self, county_code: str | None = "360102", role: str = "county", **kw: Any) -> str:
        _id, key = cli.create_api_key(self.engine, name=f"k-{county_code}", county_code=county_code, role=role, **kw)
        return key


def seed_registry(engine: Engine) -> None:
    """Two counties of one city: the registry only accepts records in registered divisions."""
    from sqlalchemy import insert

    from services.registry.models import division_t

    with engine.begin() as conn:
        conn.execute(
            insert(division_t),
            [
                {"code": "360100", "name": "南昌市", "level": "city", "parent_code": None},
                {"code": "360102", "name": "东湖区", "level": "county", "parent_code": "360100"},
                {"code": "360103", "name": "西湖区", "level": "county", "parent_code": "360100"},
            ],
        )


def service_transports(
    make_db: Callable[[str], Engine],
) -> tuple[dict[str, httpx.AsyncBaseTransport], dict[str, Engine]]:
    from services.assessment.app import create_app as assessment_app

    engines = {"assessment": make_db("assessment")}
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "assessment": httpx.ASGITransport(app=assessment_app(engine=engines["assessment"]))
    }
    if HAS_REGISTRY:
        from services.registry.app import create_app as registry_app

        engines["registry"] = make_db("registry")
        seed_registry(engines["registry"])
        transports["registry"] = httpx.ASGITransport(app=registry_app(engine=engines["registry"]))
    return transports, engines


@pytest.fixture
def make_gateway(make_db: Callable[[str], Engine]) -> Iterator[Callable[..., Gateway]]:
    opened: list[TestClient] = []

    def build(
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
        base_url: str = "http://testserver",
        **settings_kw: Any,
    ) -> Gateway:
        engine = make_db("gateway")
        engines: dict[str, Engine] = {}
        if transports is None:
            transports, engines = service_transports(make_db)
        settings = Settings(**settings_kw)
        client = TestClient(create_app(settings, engine, transports), base_url=base_url)
        client.__enter__()
        opened.append(client)
        return Gateway(client, engine, settings, engines)

    yield build
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def gw(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway()


# --- supervision pages: the gateway with the real supervision service in-process -------------------

SV_COUNTIES = ["360102", "360103"]


class SvFakeRegistry:
    """The registry paths a supervision plan reads (``/sites``, ``/units``, ``/divisions``),
    as keyset pages like the real one: the supervision service reads them with a sync peer client."""

    def __init__(self, per_county: int = 6) -> None:
        self.sites = [
            {
                "code": f"{county}-S{i:06d}",
                "kind": "residential",
                "name": f"示例小区{county[-2:]}-{i}",
                "county_code": county,
                "lat": 28.6 + i / 1000,
                "lng": 115.9,
            }
            for county in SV_COUNTIES
            for i in range(1, per_county + 1)
        ]

    def get_json(self, path: str, params: dict[str, Any] | None = None, caller: Any = None) -> Any:
        params = dict(params or {})
        if path == "/sites":
            rows = [
                s
                for s in self.sites
                if s["county_code"] == params.get("county") and (not params.get("kind") or s["kind"] == params["kind"])
            ]
            after = params.get("cursor")
            rows = [s for s in rows if not after or s["code"] > after]
            limit = int(params.get("limit", 50))
            return {"items": rows[:limit], "next_cursor": rows[limit - 1]["code"] if len(rows) > limit else None}
        if path == "/units":
            return {"items": [{"code": "U05", "name": "市市场监管局", "county_code": None}]}
        if path == "/divisions":
            return {"items": [{"code": c, "name": f"县区{c}"} for c in SV_COUNTIES]}
        if path == "/calendar":
            return {"items": []}
        raise AssertionError(f"unexpected registry path {path}")


class SvEveryDay:
    """Every day a working day: page tests must find targets scheduled today, whatever the weekday."""

    def is_workday(self, d: Any) -> bool:
        return True

    def add_workdays(self, d: Any, n: int) -> Any:
        from datetime import timedelta

        return d + timedelta(days=n)

    def workdays_between(self, a: Any, b: Any) -> int:
        return max(0, (b - a).days)

    def warning(self, d: Any) -> str | None:
        return None


@dataclass
class SvGateway:
    gw: Gateway
    service: TestClient  # the supervision service itself, for test data made with signed callers
    service_settings: Any

    def headers(self, role: str = "office", name: str = "office", **scope: Any) -> dict[str, str]:
        from services.common.auth import Caller, sign_token

        caller = Caller(sub=f"user:{name}", name=name, role=role, **scope)
        return {"Authorization": f"Bearer {sign_token(caller, self.service_settings.service_token_secret)}"}


@pytest.fixture
def sv_gw(make_db: Callable[[str], Engine], make_gateway: Callable[..., Gateway], tmp_path: Any) -> Iterator[SvGateway]:
    from services.supervision.app import create_app as supervision_app
    from services.supervision.config import Settings as SupervisionSettings

    sv_settings = SupervisionSettings(run_jobs=False, storage_url=str(tmp_path / "sv-files"))
    app = supervision_app(sv_settings, make_db("supervision"))
    app.state.peers = {"registry": SvFakeRegistry()}
    app.state.calendar = SvEveryDay()
    transports, _engines = service_transports(make_db)
    transports["supervision"] = httpx.ASGITransport(app=app)
    gw = make_gateway(transports=transports)
    with TestClient(app, raise_server_exceptions=False) as service:
        yield SvGateway(gw, service, sv_settings)
