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
