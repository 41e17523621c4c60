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


# --- assessment pages (tests/gateway/test_gateway_assessment*.py) ----------------------------------
# The gateway with the assessment service in-process, its registry peer and calendar as small fakes,
# evidence files in a temporary directory; the same units in the real registry (the pages' names).

ASSESSMENT_UNITS: list[dict[str, Any]] = [
    {"code": "U01", "name": "市垃圾分类办", "kind": "municipal_bureau", "county_code": None},
    {"code": "U03", "name": "市城管执法局", "kind": "municipal_bureau", "county_code": None},
    {"code": "U05", "name": "市市场监管局", "kind": "municipal_bureau", "county_code": None},
    {"code": "U21", "name": "东湖区人民政府", "kind": "county_government", "county_code": "360102"},
]

ASSESSMENT_CATALOGUE_YAML = """
name: 测试评估细则
note: 网关页面测试用
categories:
  - name: 体制机制建设
    items:
      - code: "1.1"
        name: 落实城市主体责任
        points: 3
        rules:
          - {text: 市、区建立领导小组, points: 2, method: all_or_nothing}
          - {text: 主要负责同志任组长, points: 1, method: all_or_nothing}
        evidence:
          - {code: e1, title: 成立领导小组的正式文件, frequency: once, kinds: [pdf, image, office]}
        lead_unit: 市垃圾分类办
        co_units: [市城管执法局]
      - code: "1.2"
        name: 分类设施管理制度完善
        points: 3
        rules:
          - {text: 设施运行管理规范, points: 3, method: all_or_nothing}
        evidence:
          - {code: e1, title: 设施运行管理规范文本, frequency: yearly, kinds: [pdf, office]}
        lead_unit: 市城管执法局
  - name: 推动源头减量
    items:
      - code: "2.1"
        name: 限制商品过度包装
        points: 1
        rules:
          - {text: 采取有效措施, points: 1, method: all_or_nothing}
        evidence:
          - {code: e1, title: 过度包装检查落实材料, frequency: quarterly, kinds: [pdf, image]}
        lead_unit: 市市场监管局
        co_units: [东湖区人民政府]
"""


class AssessmentRegistryFake:
    def units(self) -> list[dict[str, Any]]:
        return ASSESSMENT_UNITS

    def coverage(self, as_of: Any) -> dict[str, Any]:
        rate = {"covered": 96, "total": 100, "rate": 0.96}
        return {"as_of": str(as_of), "city": {"residential": rate, "by_kind": {}}, "counties": []}


class NoSupervision:
    """The supervision peer when it does not answer: the ranking goes on without its columns."""

    def enforcement_summary(self, period: str) -> dict[str, Any] | None:
        return None


class WeekdayCalendar:
    """Monday to Friday: enough for the pages (the service tests the real holidays)."""

    def is_workday(self, d: Any) -> bool:
        return bool(d.weekday() < 5)

    def add_workdays(self, d: Any, n: int) -> Any:
        from datetime import timedelta

        while n > 0:
            d += timedelta(days=1)
            n -= self.is_workday(d)
        return d

    def workdays_between(self, a: Any, b: Any) -> int:
        from datetime import timedelta

        if b <= a:
            return 0
        return sum(self.is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))


@dataclass
class AssessmentGateway(Gateway):
    quarter: str = "2026Q4"

    def as_user(self, username: str, role: str, **scope: Any) -> str:
        """Sign in as ``username`` (created on first use); returns the CSRF token."""
        from gateway.models import User

        with self.engine.connect() as conn:
            exists = conn.execute(User.__table__.select().where(User.__table__.c.username == username)).first()  # type: ignore[attr-defined]
        if exists is None:
            self.user(username, role, **scope)
        self.client.cookies.clear()
        resp = self.login(username)
        assert resp.status_code == 303, resp.text
        return self.csrf()

    def api(self, method: str, path: str, csrf: str, **kw: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": csrf, "Origin": "http://testserver", **kw.pop("headers", {})}
        return self.client.request(method, "/api/v1/assessment" + path, headers=headers, **kw)

    def tasks(self, csrf: str, **params: Any) -> list[dict[str, Any]]:
        resp = self.api("GET", "/tasks", csrf, params={"quarter": self.quarter, "limit": 500, **params})
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        return items

    def submit(self, csrf: str, task_id: int, files: list[tuple[str, bytes, str]], note: str = "") -> httpx.Response:
        return self.api(
            "POST",
            f"/tasks/{task_id}/submissions",
            csrf,
            files=[("files", f) for f in files],
            data={"effective_date": "2026-11-20", "note": note},
        )


# A small real PDF (one empty page) and PNG: the service types files by their content.
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def seed_assessment_units(engine: Engine) -> None:
    from sqlalchemy import insert

    from services.registry.models import unit_t

    with engine.begin() as conn:
        conn.execute(insert(unit_t), [{**u, "contact": None, "phone": None, "duties": None} for u in ASSESSMENT_UNITS])


@pytest.fixture
def make_assessment_gateway(
    make_db: Callable[[str], Engine], make_gateway: Callable[..., Gateway], tmp_path: Any
) -> Callable[..., AssessmentGateway]:
    """A gateway whose assessment service holds a published catalogue and quarter 2026Q4 open
    (``open_quarter=False``: only the draft catalogue)."""

    def build(open_quarter: bool = True, **settings_kw: Any) -> AssessmentGateway:
        from services.assessment.app import create_app as assessment_app
        from services.common.storage import LocalStorage

        engines = {"assessment": make_db("assessment")}
        app = assessment_app(
            engine=engines["assessment"],
            registry=AssessmentRegistryFake(),
            supervision=NoSupervision(),
            calendar=WeekdayCalendar,
            storage=LocalStorage(tmp_path / "assessment-files"),
        )
        transports: dict[str, httpx.AsyncBaseTransport] = {"assessment": httpx.ASGITransport(app=app)}
        if HAS_REGISTRY:
            from services.registry.app import create_app as registry_app

            engines["registry"] = make_db("registry")
            seed_registry(engines["registry"])
            seed_assessment_units(engines["registry"])
            transports["registry"] = httpx.ASGITransport(app=registry_app(engine=engines["registry"]))
        base = make_gateway(transports=transports, **settings_kw)
        gw = AssessmentGateway(base.client, base.engine, base.settings, engines)
        csrf = gw.as_user("a_office", "office")
        resp = gw.api(
            "POST",
            "/catalogues/import",
            csrf,
            files={"file": ("catalogue.yaml", ASSESSMENT_CATALOGUE_YAML.encode(), "application/x-yaml")},
        )
        assert resp.status_code == 201, resp.text
        if open_quarter:
            cat = resp.json()["id"]
            assert gw.api("POST", f"/catalogues/{cat}/publish", csrf).status_code == 200
            resp = gw.api("POST", "/quarters", csrf, json={"id": gw.quarter, "catalogue_id": cat})
            assert resp.status_code == 201, resp.text
        return gw

    return build


@pytest.fixture
def agw(make_assessment_gateway: Callable[..., AssessmentGateway]) -> AssessmentGateway:
    return make_assessment_gateway()


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
    engines: dict[str, Engine]  # the other services' databases (the registry's, when it is merged)

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
    transports, engines = service_transports(make_db)
    transports["supervision"] = httpx.ASGITransport(app=app)
    gw = make_gateway(transports=transports)
    with TestClient(app, raise_server_exceptions=False) as service:
        yield SvGateway(gw, service, sv_settings, engines)
