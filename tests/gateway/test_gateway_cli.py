"""The functions behind `sortline` for identity: users, API keys, demo users."""

from __future__ import annotations

import pytest

from gateway import cli
from gateway.demo import DEMO_USERS
from services.common.errors import InvalidInput


def test_seed_demo_users_is_idempotent_and_they_can_log_in(gw) -> None:
    first = cli.seed_demo_users(gw.engine, "demo-pass-1")
    second = cli.seed_demo_users(gw.engine, "other-pass-2")
    assert [u for u, _r, _d in first] == [d.username for d in DEMO_USERS] == [u for u, _r, _d in second]
    assert {r for _u, r, _d in first} == {"admin", "office", "leader", "unit", "county", "inspector"}
    assert gw.login("county", "demo-pass-1").status_code == 303  # the second run changed nothing
    assert "东湖区" in gw.client.get("/").text


def test_create_api_key_rules(gw) -> None:
    with pytest.raises(InvalidInput, match="6 位县区编码"):
        cli.create_api_key(gw.engine, name="x", county_code="3601", role="county", permissions=None)
    with pytest.raises(InvalidInput, match="county"):
        cli.create_api_key(gw.engine, name="x", county_code=None, role="admin", permissions=None)
    with pytest.raises(InvalidInput, match="未知的权限"):
        cli.create_api_key(gw.engine, name="x", county_code="360102", role="county", permissions=["root"])
    key_id, key = cli.create_api_key(gw.engine, name="OA", county_code="360102", role="office", permissions=None)
    assert key.startswith("sk_") and len(key) > 40
    (row,) = cli.list_api_keys(gw.engine)
    assert row["id"] == key_id and row["county_code"] is None  # office keys are city-wide
    assert row["permissions"] == ["registry:read", "registry:write"]
    assert row["created_by"] == "cli" and row["active"] is True


def test_create_user_rules(gw) -> None:
    with pytest.raises(InvalidInput, match="单位编码"):
        cli.create_user(gw.engine, username="u", password="longenough", role="unit")
    with pytest.raises(InvalidInput, match="角色无效"):
        cli.create_user(gw.engine, username="u", password="longenough", role="boss")
    uid = cli.create_user(gw.engine, username="u", password="longenough", role="unit", unit_code="U05")
    assert uid > 0
    with pytest.raises(InvalidInput, match="用户名已存在"):
        cli.create_user(gw.engine, username="u", password="longenough", role="office")


def test_service_down_on_a_page_is_a_chinese_503_page(gw) -> None:

    from services.common.errors import ServiceUnavailable

    app = gw.client.app

    @app.get("/_test/down")
    async def down() -> None:
        raise ServiceUnavailable("登记服务暂不可用，请稍后再试")

    resp = gw.client.get("/_test/down")
    assert resp.status_code == 503
    assert "服务暂不可用" in resp.text and "<html" in resp.text
    assert "Traceback" not in resp.text


def test_unexpected_error_on_a_page_shows_no_trace(make_gateway) -> None:
    from fastapi.testclient import TestClient

    gw = make_gateway()
    app = gw.client.app

    @app.get("/_test/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    client = TestClient(app, raise_server_exceptions=False)
    resp = client.get("/_test/boom")
    assert resp.status_code == 500
    assert "系统出错" in resp.text and "secret internals" not in resp.text


def test_demo_unit_user_is_named_after_the_unit_it_is_bound_to() -> None:
    from services.assessment.demo_catalogue import demo_units
    from services.registry.demo import UNITS

    (user,) = [d for d in DEMO_USERS if d.role == "unit" and not d.unit_leader]
    assert user.unit_code is not None
    registry_name = UNITS[int(user.unit_code[1:]) - 1][0]  # the registry demo numbers its units U01, U02, …
    assessment_names = {u["code"]: u["name"] for u in demo_units()}
    assert assessment_names[user.unit_code] == registry_name
    assert user.display_name == f"{registry_name}联络员"
    assert registry_name in user.description
