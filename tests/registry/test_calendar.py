"""The office's working-day calendar in the registry (``/calendar``), and a peer service reading it
through ``PeerClient`` (signed like the gateway) into a ``WorkCalendar``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.common.auth import Caller, verify_token
from services.common.errors import Forbidden, NotFound, ServiceUnavailable
from services.common.peers import PeerClient
from services.common.workdays import clear_calendar_cache, load_calendar
from services.registry.config import Settings
from services.registry.models import outbox

Headers = Callable[..., dict[str, str]]


def test_office_sets_and_deletes_days_and_everyone_reads_them(client: TestClient, as_: Headers, engine: Engine) -> None:
    r = client.put("/calendar/2027-01-01", json={"is_workday": False, "note": " 元旦 "}, headers=as_("office"))
    assert r.status_code == 200, r.text
    assert r.json()["date"] == "2027-01-01" and r.json()["note"] == "元旦" and r.json()["updated_by"] == "测试office"
    client.put("/calendar/2027-02-20", json={"is_workday": True, "note": "春节调休上班"}, headers=as_("admin"))
    r = client.put(
        "/calendar/2027-01-01", json={"is_workday": False, "note": "元旦（国务院通知）"}, headers=as_("admin")
    )
    assert r.status_code == 200

    listed = client.get("/calendar?year=2027", headers=as_("county")).json()
    assert listed["year"] == 2027 and listed["package_knows_year"] is False
    assert [(i["date"], i["is_workday"], i["note"]) for i in listed["items"]] == [
        ("2027-01-01", False, "元旦（国务院通知）"),
        ("2027-02-20", True, "春节调休上班"),
    ]
    assert client.get("/calendar?year=2026", headers=as_("leader")).json() == {
        "year": 2026,
        "package_knows_year": True,
        "items": [],
    }
    assert len(client.get("/calendar", headers=as_("key_read")).json()["items"]) == 2

    removed = client.delete("/calendar/2027-02-20", headers=as_("office"))
    assert removed.status_code == 200 and removed.json()["note"] == "春节调休上班"
    missing = client.delete("/calendar/2027-02-20", headers=as_("office"))
    assert missing.status_code == 404 and "2027-02-20" in missing.json()["message"]
    with engine.connect() as conn:
        events = conn.execute(select(outbox.table.c.type, outbox.table.c.subject, outbox.table.c.data)).all()
    assert [e.type for e in events] == ["sortline.registry.calendar.changed"] * 4
    assert events[-1].subject == "2027-02-20" and events[-1].data["action"] == "deleted"


@pytest.mark.parametrize("who", ["county", "leader", "unit", "key"])
def test_only_admin_and_office_change_the_calendar(client: TestClient, as_: Headers, who: str) -> None:
    assert client.put("/calendar/2027-01-01", json={"is_workday": False}, headers=as_(who)).status_code == 403
    assert client.delete("/calendar/2027-01-01", headers=as_(who)).status_code == 403


def test_bad_input_is_422_naming_the_field(client: TestClient, as_: Headers) -> None:
    r = client.put("/calendar/2027-13-01", json={"is_workday": False}, headers=as_("office"))
    assert r.status_code == 422
    r = client.put("/calendar/2027-01-01", json={"note": "x" * 201}, headers=as_("office"))
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["details"]}
    assert {"is_workday", "note"} <= fields
    assert client.get("/calendar").status_code == 401


# --- PeerClient, against the registry app in-process -----------------------------------------------


def _peer(client: TestClient, settings: Settings) -> PeerClient:
    return PeerClient(settings, "registry", transport=client._transport, base_url="http://testserver")


def test_a_peer_reads_the_calendar_as_a_signed_system_caller(
    client: TestClient, as_: Headers, settings: Settings
) -> None:
    client.put("/calendar/2027-01-01", json={"is_workday": False, "note": "元旦"}, headers=as_("office"))
    peer = _peer(client, settings)
    body = peer.get_json("/calendar", params={"year": 2027})
    assert [i["date"] for i in body["items"]] == ["2027-01-01"]
    clear_calendar_cache()
    cal = load_calendar(peer)
    assert not cal.is_workday(date(2027, 1, 1)) and cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert cal.warning(date(2027, 3, 1)) is None
    # the registry's answers come back as the kernel's errors, a forwarded caller keeps its rights
    with pytest.raises(NotFound) as missing:
        peer.get_json("/units/U99")
    assert missing.value.status_code == 404 and "U99" in missing.value.message
    county = Caller(sub="user:c", name="县区", role="county", county_code="360102")
    with pytest.raises(Forbidden):
        peer.call("PUT", "/calendar/2027-01-02", json={"is_workday": False}, caller=county)
    assert peer.call("PUT", "/calendar/2027-01-02", json={"is_workday": False})["date"] == "2027-01-02"


def test_peer_signs_with_the_shared_secret_and_maps_failures(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/down":
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/broken":
            return httpx.Response(502, text="bad gateway")
        return httpx.Response(200, json={"ok": True})

    monkeypatch.setenv("SORTLINE_ASSESSMENT_URL", "http://assessment.internal:9000")
    peer = PeerClient(settings, "assessment", transport=httpx.MockTransport(handler))
    assert peer.get_json("/x") == {"ok": True}
    assert str(seen[0].url) == "http://assessment.internal:9000/x"
    caller = verify_token(seen[0].headers["authorization"].split(" ", 1)[1], settings.service_token_secret)
    assert caller.role == "office" and caller.sub == "system:registry"
    with pytest.raises(ServiceUnavailable) as down:
        peer.get_json("/down")
    assert "考核评估服务暂不可用" in down.value.message
    with pytest.raises(ServiceUnavailable):
        peer.get_json("/broken")
    monkeypatch.delenv("SORTLINE_ASSESSMENT_URL")
    assert PeerClient(settings, "supervision").base_url == "http://127.0.0.1:8003"
