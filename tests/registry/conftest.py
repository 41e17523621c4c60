"""Registry fixtures: a migrated database with a small division tree, an app, signed callers; a real
SeaweedFS S3 server when SORTLINE_TEST_S3=1."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette's note about httpx versions, not about this code
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from services.common.auth import Caller, sign_token
from services.registry.app import create_app
from services.registry.config import Settings
from services.registry.models import division_t, unit_t
from tests.support.seaweed import seaweed_s3  # noqa: F401  (a fixture, used by name)

DIVISIONS = [
    ("360100", "南昌市", "city", None),
    ("360102", "东湖区", "county", "360100"),
    ("360103", "西湖区", "county", "360100"),
    ("360102001", "公园街道", "street", "360102"),
    ("360102002", "八一桥街道", "street", "360102"),
    ("360103001", "朝阳洲街道", "street", "360103"),
    ("360102001001", "墩子塘社区", "community", "360102001"),
    ("360102002001", "豫章社区", "community", "360102002"),
    ("360103001001", "朝阳社区", "community", "360103001"),
]


def seed_divisions(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(division_t),
            [{"code": c, "name": n, "level": lv, "parent_code": p} for c, n, lv, p in DIVISIONS],
        )
        conn.execute(
            insert(unit_t),
            [
                {
                    "code": "U01",
                    "name": "市垃圾分类办",
                    "kind": "municipal_bureau",
                    "county_code": None,
                    "duties": "牵头抓总",
                },
                {
                    "code": "U21",
                    "name": "东湖区人民政府",
                    "kind": "county_government",
                    "county_code": "360102",
                    "duties": None,
                },
            ],
        )


@pytest.fixture
def engine(make_db: Callable[[str], Engine]) -> Engine:
    engine = make_db("registry")
    seed_divisions(engine)
    return engine


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    yield TestClient(create_app(settings, engine), raise_server_exceptions=False)


CALLERS: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin"},
    "office": {"role": "office"},
    "leader": {"role": "leader"},
    "unit": {"role": "unit", "unit_code": "U05"},
    "inspector": {"role": "inspector", "team_code": "T1"},
    "county": {"role": "county", "county_code": "360102"},
    "county_other": {"role": "county", "county_code": "360103"},
    "key": {"role": "county", "county_code": "360102", "permissions": ["registry:read", "registry:write"]},
    "key_read": {"role": "county", "county_code": "360102", "permissions": ["registry:read"]},
    "key_none": {"role": "county", "county_code": "360102", "permissions": []},
}


def headers_for(settings: Settings, who: str, **extra: str) -> dict[str, str]:
    spec = CALLERS[who]
    sub = f"key:{who}" if who.startswith("key") else f"user:{who}"
    token = sign_token(Caller(sub=sub, name=f"测试{who}", **spec), settings.service_token_secret)
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
def as_(settings: Settings) -> Callable[..., dict[str, str]]:
    """``as_("county")`` → request headers with a signed token for that caller."""

    def make(who: str, **extra: str) -> dict[str, str]:
        return headers_for(settings, who, **extra)

    return make


VEHICLE = {
    "plate_number": "赣AD12345",
    "category": "kitchen",
    "energy_type": "electric",
    "capacity_tonnes": 2.5,
    "operator_name": "示范环卫有限公司",
    "external_id": "NC-0001",
}
FACILITY = {
    "kind": "hazardous_store",
    "name": "公园街道有害垃圾暂存点",
    "street_code": "360102001",
    "community_code": "360102001001",
    "lat": 28.68,
    "lng": 115.90,
}
SITE = {
    "kind": "residential",
    "name": "滨江花园",
    "street_code": "360102001",
    "community_code": "360102001001",
    "covered": True,
    "covered_since": "2021-07-01",
    "sorted_collection": True,
    "sorted_transport": True,
}
