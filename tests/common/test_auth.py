"""The gateway's signed token as the services verify it."""

from datetime import timedelta

import httpx
import pytest

from services.assessment.app import create_app
from services.common import clock
from services.common.auth import Caller, sign_token, verify_token
from services.common.errors import Unauthorized

SECRET = "test-secret-0123456789"


def caller(**kw: object) -> Caller:
    base = {"sub": "key:7", "role": "county", "county_code": "360102", "permissions": ["registry:read"]}
    return Caller.model_validate(base | kw)


def test_round_trip_keeps_scope() -> None:
    got = verify_token(sign_token(caller(rid="r-1"), SECRET), SECRET)
    assert (got.sub, got.role, got.county_code, got.permissions, got.rid) == (
        "key:7",
        "county",
        "360102",
        ["registry:read"],
        "r-1",
    )


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(Unauthorized, match="签名无效"):
        verify_token(sign_token(caller(), SECRET), "another-secret")


def test_tampered_payload_is_refused() -> None:
    token = sign_token(caller(), SECRET)
    other = sign_token(caller(role="admin"), SECRET)
    forged = other.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(Unauthorized):
        verify_token(forged, SECRET)


def test_expired_token_is_refused() -> None:
    token = sign_token(caller(), SECRET, ttl_seconds=60)
    clock.set_now(clock.now() + timedelta(seconds=61))
    with pytest.raises(Unauthorized, match="过期"):
        verify_token(token, SECRET)


def test_a_token_living_longer_than_the_ttl_is_refused() -> None:
    assert verify_token(sign_token(caller(), SECRET, ttl_seconds=120 + 30), SECRET, max_ttl_seconds=120)
    for ttl in (120 + 31, 1_000_000_000):
        with pytest.raises(Unauthorized, match="有效期过长"):
            verify_token(sign_token(caller(), SECRET, ttl_seconds=ttl), SECRET, max_ttl_seconds=120)
    # the default is the default TTL
    with pytest.raises(Unauthorized, match="有效期过长"):
        verify_token(sign_token(caller(), SECRET, ttl_seconds=3600), SECRET)


@pytest.mark.parametrize("token", ["", "garbage", "a.b", "Zm9v.YmFy"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        verify_token(token, SECRET)


def test_api_keys_need_explicit_permissions_users_do_not() -> None:
    assert caller().has_permission("registry:read")
    assert not caller().has_permission("registry:write")
    assert caller(sub="user:3", permissions=[]).has_permission("registry:write")


async def test_service_without_token_answers_401(make_db) -> None:
    app = create_app(engine=make_db("assessment"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        assert (await client.get("/health")).status_code == 200
        resp = await client.get("/events")
        assert resp.status_code == 401
        assert resp.json()["error"] == "unauthorized"
        bad = await client.get("/events", headers={"Authorization": "Bearer nope.nope"})
        assert bad.status_code == 401
        token = sign_token(caller(role="office", sub="user:1"), app.state.settings.service_token_secret)
        ok = await client.get("/events", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert ok.json() == {"items": [], "next_cursor": None}
        secret, ttl = app.state.settings.service_token_secret, app.state.settings.service_token_ttl_seconds
        forever = sign_token(caller(role="office", sub="user:1"), secret, ttl_seconds=1_000_000_000)
        long = await client.get("/events", headers={"Authorization": f"Bearer {forever}"})
        assert long.status_code == 401 and "有效期过长" in long.json()["message"]
        just = sign_token(caller(role="office", sub="user:1"), secret, ttl_seconds=ttl + 10)
        assert (await client.get("/events", headers={"Authorization": f"Bearer {just}"})).status_code == 200
