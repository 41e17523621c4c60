"""The /api/v1 proxy with the real services in-process: keys, scope, the forwarded token."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session

from gateway import cli
from gateway.models import ApiKey
from services.common import clock
from services.common.auth import verify_token

VEHICLE = {
    "plate_number": "赣AD12345",
    "category": "kitchen",
    "energy_type": "electric",
    "capacity_tonnes": 2.5,
    "operator_name": "示范环卫有限公司",
    "external_id": "NC-0001",
}


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


needs_registry = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("services.registry.app"), reason="registry service not built yet"
)


def test_no_credentials_is_401_json(gw) -> None:
    resp = gw.client.get("/api/v1/registry/vehicles/360102-K00001")
    assert resp.status_code == 401
    body = resp.json()
    assert body["error"] == "unauthorized" and body["details"] == []
    assert "API 密钥" in body["message"]


def test_bad_keys_are_401(gw) -> None:
    for header in ("Bearer sk_not-a-real-key", "Bearer nonsense", "Basic abc", "Bearer "):
        resp = gw.client.get("/api/v1/assessment/health", headers={"Authorization": header})
        assert resp.status_code == 401, header
        assert resp.json()["error"] == "unauthorized"


def test_unknown_service_is_404_in_the_error_shape(gw) -> None:
    resp = gw.client.get("/api/v1/nosuch/things", headers=bearer(gw.key()))
    assert resp.status_code == 404
    assert resp.json()["error"] == "not_found"


def test_forwards_and_service_checks_the_token(gw) -> None:
    key = gw.key(role="office", county_code=None, permissions=["assessment:read"])
    resp = gw.client.get("/api/v1/assessment/events?limit=5", headers=bearer(key, **{"X-Request-ID": "req-1"}))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"items": [], "next_cursor": None}
    assert resp.headers["x-request-id"] == "req-1"
    assert resp.headers["content-type"] == "application/json"


def test_a_service_reached_without_the_gateway_answers_401(gw) -> None:
    from fastapi.testclient import TestClient

    from services.assessment.app import create_app

    direct = TestClient(create_app(engine=gw.service_engines["assessment"]))
    assert direct.get("/events").status_code == 401


def test_key_without_permission_for_a_service_is_403(gw) -> None:
    resp = gw.client.get("/api/v1/assessment/events", headers=bearer(gw.key()))
    assert resp.status_code == 403
    assert resp.json()["error"] == "forbidden"


def test_forwarded_token_carries_the_key(make_gateway) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ok": True}, headers={"content-type": "application/json"})

    gw = make_gateway(transports={"registry": httpx.MockTransport(handler)})
    key = gw.key("360102")
    resp = gw.client.post(
        "/api/v1/registry/vehicles?x=1&y=%E8%B5%A3",
        content=b'{"a": 1}',
        headers=bearer(key, **{"Content-Type": "application/json", "Idempotency-Key": "k1", "Cookie": "a=b"}),
    )
    assert resp.status_code == 201
    assert resp.json() == {"ok": True}
    (req,) = seen
    assert req.method == "POST"
    assert req.url.path == "/vehicles"
    assert req.url.query == b"x=1&y=%E8%B5%A3"
    assert req.content == b'{"a": 1}'
    assert req.headers["idempotency-key"] == "k1"
    assert "cookie" not in req.headers
    assert req.headers["x-request-id"]
    caller = verify_token(req.headers["authorization"].split(" ", 1)[1], gw.settings.service_token_secret)
    assert caller.sub.startswith("key:")
    assert caller.role == "county" and caller.county_code == "360102"
    assert caller.permissions == ["registry:read", "registry:write"]
    assert caller.rid == req.headers["x-request-id"]


def test_session_users_are_forwarded_without_permissions(make_gateway) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    gw = make_gateway(transports={"registry": httpx.MockTransport(handler)})
    gw.login_as("unit", unit_code="U05", display_name="联络员")
    assert gw.client.get("/api/v1/registry/divisions").status_code == 200
    caller = verify_token(seen[0].headers["authorization"].split(" ", 1)[1], gw.settings.service_token_secret)
    assert caller.sub.startswith("user:") and caller.role == "unit" and caller.unit_code == "U05"
    assert caller.permissions == [] and caller.name == "联络员"


def test_service_down_is_503(make_gateway) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    gw = make_gateway(transports={"registry": httpx.MockTransport(handler)})
    resp = gw.client.get("/api/v1/registry/divisions", headers=bearer(gw.key()))
    assert resp.status_code == 503
    assert resp.json()["error"] == "service_unavailable"
    assert "服务暂不可用" in resp.json()["message"]
    # The API reference page depends on the registry too: a Chinese 503 page, no stack trace.
    gw.login_as("office")
    page = gw.client.get("/api/openapi.json")
    assert page.status_code == 503
    assert "服务暂不可用" in page.json()["message"]


def test_revoked_key_is_refused_at_once_here(gw) -> None:
    key_id, key = cli.create_api_key(
        gw.engine, name="k", county_code=None, role="office", permissions=["assessment:read"]
    )
    assert gw.client.get("/api/v1/assessment/events", headers=bearer(key)).status_code == 200
    csrf = gw.login_as("admin")
    resp = gw.client.post(f"/admin/apikeys/{key_id}/revoke", data={"csrf_token": csrf}, headers={"HX-Request": "true"})
    assert "已吊销" in resp.text
    gw.client.cookies.clear()
    resp = gw.client.get("/api/v1/assessment/events", headers=bearer(key))
    assert resp.status_code == 401
    assert "吊销" in resp.json()["message"]


def test_revoked_elsewhere_takes_effect_after_the_cache_time(make_gateway) -> None:
    gw = make_gateway(apikey_cache_seconds=0)
    key_id, key = cli.create_api_key(
        gw.engine, name="k", county_code=None, role="office", permissions=["assessment:read"]
    )
    assert gw.client.get("/api/v1/assessment/events", headers=bearer(key)).status_code == 200
    assert cli.revoke_api_key(gw.engine, key_id) is True  # e.g. `sortline` in another process
    assert cli.revoke_api_key(gw.engine, key_id) is False
    assert gw.client.get("/api/v1/assessment/events", headers=bearer(key)).status_code == 401
    assert cli.list_api_keys(gw.engine)[0]["active"] is False


def test_key_use_is_logged_and_last_use_written_once_a_minute(gw, caplog, monkeypatch) -> None:
    key_id, key = cli.create_api_key(
        gw.engine, name="k", county_code=None, role="office", permissions=["assessment:read"]
    )
    writes: list[int] = []
    verifier = gw.client.app.state.key_verifier
    original = verifier.touch

    def counting_touch(kid: int) -> None:
        writes.append(kid)
        original(kid)

    monkeypatch.setattr(verifier, "touch", counting_touch)
    with caplog.at_level(logging.INFO, logger="sortline.gateway.apikey"):
        for _ in range(3):
            assert gw.client.get("/api/v1/assessment/events", headers=bearer(key)).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "sortline.gateway.apikey"]
    assert len(lines) == 3
    assert lines[0].startswith(f"api_key={key_id} GET /api/v1/assessment/events 200")
    assert writes == [key_id]  # once, not per request
    with Session(gw.engine) as db:
        row = db.get(ApiKey, key_id)
        assert row is not None and row.last_used_at is not None
    assert cli.list_api_keys(gw.engine)[0]["last_used_at"] is not None


@needs_registry
def test_county_key_registers_and_reads_its_vehicle(gw) -> None:
    key = gw.key("360102")
    other = gw.key("360103")
    created = gw.client.post(
        "/api/v1/registry/vehicles", json=VEHICLE, headers=bearer(key, **{"Idempotency-Key": "v1"})
    )
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert code.startswith("360102-")
    again = gw.client.post("/api/v1/registry/vehicles", json=VEHICLE, headers=bearer(key, **{"Idempotency-Key": "v1"}))
    assert again.status_code == 201 and again.json()["code"] == code  # a retry creates nothing new
    got = gw.client.get(f"/api/v1/registry/vehicles/{code}", headers=bearer(key))
    assert got.status_code == 200
    assert got.json()["plate_number"] == VEHICLE["plate_number"]
    assert gw.client.get(f"/api/v1/registry/vehicles/{code}", headers=bearer(other)).status_code == 404
    assert gw.client.get(f"/api/v1/registry/vehicles/{code}").status_code == 401
    bad = gw.client.post("/api/v1/registry/vehicles", json={"plate_number": "x"}, headers=bearer(key))
    assert bad.status_code == 422
    assert bad.json()["details"]


@needs_registry
def test_read_only_key_cannot_write(gw) -> None:
    key = gw.key("360102", permissions=["registry:read"])
    resp = gw.client.post("/api/v1/registry/vehicles", json=VEHICLE, headers=bearer(key))
    assert resp.status_code == 403


def test_session_expiry_moves_with_the_clock(gw) -> None:
    gw.login_as("office")
    clock.advance(timedelta(hours=gw.settings.session_max_hours + 1))
    assert gw.client.get("/api/v1/assessment/health").status_code == 401
