"""The subscriptions JSON API (office API key or admin session), its pages, and the worker reading
the real registry's event feed over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from gateway.integration.config import IntegrationSettings
from gateway.integration.delivery import DeliveryWorker
from gateway.integration.feeds import HttpFeeds
from gateway.integration.models import Subscription
from gateway.integration.netguard import Sender
from tests.gateway.conftest import HAS_REGISTRY, Gateway
from tests.support.webhook_receiver import Receiver

VEHICLE = {
    "plate_number": "赣AD12345",
    "category": "kitchen",
    "energy_type": "electric",
    "capacity_tonnes": 2.5,
    "operator_name": "示范环卫有限公司",
    "external_id": "NC-0001",
}
API = "/api/v1/integration/subscriptions"
BODY = {
    "url": "https://oa.example.gov.cn/hook",
    "types": ["sortline.registry.*"],
    "adapter": "standard",
    "payload": "full",
}


def office_key(gw: Gateway) -> str:
    return gw.key(None, role="office", permissions=["registry:read"])


def test_office_key_creates_lists_and_ends_a_subscription(gw: Gateway) -> None:
    key = office_key(gw)
    auth = {"authorization": f"Bearer {key}"}
    resp = gw.client.post(API, json={**BODY, "internal": True}, headers=auth)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["secret"].startswith("whsec_") and created["id"]
    # an office key cannot mark internal by itself: it waits for an admin
    assert created["internal"] is False and created["internal_pending"] is True
    listed = gw.client.get(API, headers=auth).json()["items"]
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]
    deliveries = gw.client.get(f"{API}/{created['id']}/deliveries", headers=auth)
    assert deliveries.status_code == 200 and deliveries.json()["items"] == []
    assert gw.client.delete(f"{API}/{created['id']}", headers=auth).status_code == 204
    with Session(gw.engine) as db:
        sub = db.get(Subscription, created["id"])
        assert sub is not None and sub.status == "ended"
        assert created["secret"] not in sub.secret_enc


def test_county_key_and_bad_input_are_refused(gw: Gateway) -> None:
    county = {"authorization": f"Bearer {gw.key('360102')}"}
    resp = gw.client.post(API, json=BODY, headers=county)
    assert resp.status_code == 403 and resp.json()["error"]
    office = {"authorization": f"Bearer {office_key(gw)}"}
    resp = gw.client.post(API, json={**BODY, "url": "ftp://x"}, headers=office)
    assert resp.status_code == 422
    assert resp.json()["details"][0]["field"] == "url"
    resp = gw.client.post(API, json={**BODY, "types": ["Sortline!"]}, headers=office)
    assert resp.status_code == 422 and resp.json()["details"][0]["field"] == "types"
    assert gw.client.post(API, json=BODY).status_code == 401


def test_admin_session_creates_internal_and_pages_show_it(gw: Gateway) -> None:
    csrf = gw.login_as("admin")
    resp = gw.client.post(API, json={**BODY, "internal": True}, headers={"x-csrf-token": csrf})
    assert resp.status_code == 201 and resp.json()["internal"] is True
    sub_id = resp.json()["id"]
    page = gw.client.get("/integration/subscriptions")
    assert page.status_code == 200 and "oa.example.gov.cn" in page.text
    detail = gw.client.get(f"/integration/subscriptions/{sub_id}")
    assert detail.status_code == 200 and "投递记录" in detail.text
    form = gw.client.post(
        "/integration/subscriptions",
        data={
            "csrf_token": csrf,
            "url": "https://robot.example/x",
            "types": "sortline.assessment.*",
            "adapter": "wecom-robot",
        },
    )
    assert form.status_code == 200 and "whsec_" in form.text
    rotated = gw.client.post(
        f"/integration/subscriptions/{sub_id}/rotate", data={"csrf_token": csrf, "overlap_hours": "24"}
    )
    assert rotated.status_code == 200 and "新的签名密钥" in rotated.text


def test_office_user_may_look_but_not_create(gw: Gateway) -> None:
    csrf = gw.login_as("office")
    assert gw.client.get("/integration/subscriptions").status_code == 200
    resp = gw.client.post(API, json=BODY, headers={"x-csrf-token": csrf})
    assert resp.status_code == 403


@pytest.mark.skipif(not HAS_REGISTRY, reason="registry service not present")
def test_worker_reads_the_registry_feed_over_http(gw: Gateway) -> None:
    from services.registry.app import create_app as registry_app

    csrf = gw.login_as("admin")
    created = gw.client.post(
        API, json={**BODY, "url": "http://receiver.test/hook", "internal": True}, headers={"x-csrf-token": csrf}
    ).json()
    resp = gw.client.post("/api/v1/registry/vehicles", json=VEHICLE, headers={"authorization": f"Bearer {gw.key()}"})
    assert resp.status_code == 201, resp.text
    receiver = Receiver(secret=created["secret"])
    with TestClient(registry_app(engine=gw.service_engines["registry"]), base_url="http://registry") as reg:
        feeds = HttpFeeds({"registry": "http://registry"}, gw.settings.service_token_secret, clients={"registry": reg})
        worker = DeliveryWorker(
            gw.engine,
            IntegrationSettings(key=gw.client.app.state.integration_settings.key, worker=False),  # type: ignore[attr-defined]
            feeds=feeds,
            sender=Sender(transport=receiver.transport()),
            services=("registry",),
        )
        assert worker.run_once() >= 1
        worker.close()
    types: list[Any] = [r.body["type"] for r in receiver.received]
    assert "sortline.registry.vehicle.registered" in types and receiver.rejected == []
    log = gw.client.get(f"{API}/{created['id']}/deliveries", headers={"x-csrf-token": csrf}).json()["items"]
    assert log and log[0]["status_code"] == 200 and log[0]["attempt"] == 1


def test_demo_subscription_and_receiver_verify_signatures(gw: Gateway) -> None:
    import time

    from gateway.integration.crypto import sign
    from gateway.integration.demo import seed_demo_subscription
    from gateway.integration.receiver import create_app, demo_secret_path

    gw.user("admin", "admin")
    assert seed_demo_subscription(gw.engine, port=8123) is True
    assert seed_demo_subscription(gw.engine, port=8123) is False  # once
    with open(demo_secret_path()) as fh:
        secret = fh.read()
    with Session(gw.engine) as db:
        from sqlmodel import select

        sub = db.exec(select(Subscription).where(Subscription.url == "http://127.0.0.1:8123/webhook")).one()
        assert sub.internal and sub.adapter == "standard"
    body = b'{"type":"sortline.registry.vehicle.registered","subject":"X"}'
    ts = int(time.time())
    headers = {"webhook-id": "e1", "webhook-timestamp": str(ts), "webhook-signature": sign(secret, "e1", ts, body)}
    with TestClient(create_app()) as receiver:
        assert receiver.post("/webhook", content=body, headers=headers).status_code == 204
        forged = {**headers, "webhook-signature": sign("whsec_" + "A" * 44, "e1", ts, body)}
        assert receiver.post("/webhook", content=body, headers=forged).status_code == 401
        assert receiver.get("/health").json()["verified"] == 1
