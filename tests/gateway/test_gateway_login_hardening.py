"""Login throttling that cannot be turned against other users or into an account oracle, and the
client address taken from X-Forwarded-For only behind a configured proxy."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from gateway.models import LoginEvent, UserSession
from gateway.security import address_delay
from services.common import clock

NAT = ("198.51.100.20", 40000)  # one address every user of an office shares


def client_at(gw: Any, peer: tuple[str, int]) -> TestClient:
    """Another connection to the same (already started) gateway, from ``peer``."""
    return TestClient(gw.client.app, base_url="http://testserver", client=peer)


def login(client: TestClient, username: str, password: str, **headers: str) -> httpx.Response:
    return client.post(
        "/login", data={"username": username, "password": password}, headers=headers, follow_redirects=False
    )


def event_ips(gw: Any) -> list[str]:
    with Session(gw.engine) as db:
        return [e.ip for e in db.exec(select(LoginEvent).order_by(col(LoginEvent.id))).all()]


def delay_for(gw: Any, ip: str) -> float:
    with Session(gw.engine) as db:
        return address_delay(db, gw.settings, ip)


def test_fifty_failures_from_one_address_do_not_keep_another_account_out(gw) -> None:
    gw.user("alice", "office")
    gw.user("bob", "office")
    clock.set_now(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    office = client_at(gw, NAT)
    # Fifty failures from the office's address within a few minutes: alice's password guessed
    # until her account locks, then other names tried.
    for n in range(10):
        assert login(office, "alice", f"guess-{n}").status_code == (401 if n < 9 else 429)
        clock.advance(timedelta(seconds=61))
    assert login(office, "alice", gw.password).status_code == 429  # alice's lock holds
    for n in range(40):
        assert login(office, f"user{n}", "guess-guess").status_code == 401
    assert delay_for(gw, NAT[0]) == gw.settings.login_ip_delay_seconds > 0
    # Bob, behind the same address, still signs in: slowed by a couple of seconds, not refused.
    started = time.monotonic()
    resp = login(office, "bob", gw.password)
    waited = time.monotonic() - started
    assert resp.status_code == 303, resp.text
    assert gw.settings.login_ip_delay_seconds <= waited < gw.settings.login_ip_delay_seconds + 5
    assert gw.settings.login_ip_delay_seconds <= 3  # "a few seconds"
    # Another address is not slowed at all.
    assert delay_for(gw, "203.0.113.9") == 0


def test_back_off_applies_to_the_guessed_account_only(gw) -> None:
    gw.user("alice", "office")
    gw.user("bob", "office")
    clock.set_now(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    office = client_at(gw, NAT)
    for n in range(3):
        assert login(office, "alice", f"guess-{n}").status_code == 401
    assert login(office, "alice", gw.password).status_code == 429  # alice waits 2 s
    assert login(office, "bob", gw.password).status_code == 303  # bob does not
    clock.advance(timedelta(seconds=2))
    assert login(office, "alice", gw.password).status_code == 303


def test_rotating_forwarded_for_from_an_untrusted_peer_does_not_escape(make_gateway) -> None:
    gw = make_gateway(login_ip_max_failures=5, login_ip_delay_seconds=1.0)
    attacker = client_at(gw, ("203.0.113.66", 1))
    for n in range(6):
        resp = login(attacker, f"name{n}", "guess-guess", **{"X-Forwarded-For": f"10.9.{n}.{n}"})
        assert resp.status_code == 401
    assert set(event_ips(gw)) == {"203.0.113.66"}  # the header was ignored
    started = time.monotonic()
    login(attacker, "name9", "guess-guess", **{"X-Forwarded-For": "10.9.9.9"})
    assert time.monotonic() - started >= 1.0  # the address's failures caught up with it


def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_gateway) -> None:
    gw = make_gateway(trusted_proxies="10.0.0.2, 10.1.0.0/16", login_ip_max_failures=3, login_ip_delay_seconds=1.0)
    gw.user("bob", "office")
    nginx = client_at(gw, ("10.0.0.2", 1))
    # nginx appends the peer it saw to whatever the client sent: the right-most untrusted one counts.
    for n in range(3):
        xff = f"6.6.6.{n}, 198.51.100.7"
        assert login(nginx, f"name{n}", "guess-guess", **{"X-Forwarded-For": xff}).status_code == 401
    assert delay_for(gw, "198.51.100.7") == 1.0 and delay_for(gw, "10.0.0.2") == 0
    resp = login(nginx, "bob", gw.password, **{"X-Forwarded-For": "198.51.100.8", "X-Forwarded-Proto": "https"})
    assert resp.status_code == 303
    started = time.monotonic()
    assert login(nginx, "name9", "guess-guess", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 401
    assert time.monotonic() - started >= 1.0  # the failing client is slowed, not the proxy
    ips = event_ips(gw)
    assert ips[:3] == ["198.51.100.7"] * 3 and ips[3] == "198.51.100.8"
    with Session(gw.engine) as db:
        assert db.exec(select(UserSession)).one().ip == "198.51.100.8"
    # A proxy's network is trusted too; an unlisted peer's header is not.
    via_net = client_at(gw, ("10.1.3.4", 1))
    login(via_net, "x1", "guess-guess", **{"X-Forwarded-For": "192.0.2.1"})
    login(client_at(gw, ("10.2.0.1", 1)), "x2", "guess-guess", **{"X-Forwarded-For": "192.0.2.2"})
    assert event_ips(gw)[-2:] == ["192.0.2.1", "10.2.0.1"]


def test_a_made_up_name_answers_like_a_real_one(gw) -> None:
    gw.user("alice", "office")
    clock.set_now(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    clients = {"alice": client_at(gw, ("192.0.2.10", 1)), "alicia": client_at(gw, ("192.0.2.11", 1))}
    answers: dict[str, list[tuple[int, str]]] = {name: [] for name in clients}
    checked: dict[str, list[float]] = {name: [] for name in clients}
    refused: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(12):  # a minute apart: two wrong passwords in a row, the real name and the made-up one in turn
        for _ in range(2):
            for name, client in clients.items():
                started = time.perf_counter()
                resp = login(client, name, "wrong-password")
                took = time.perf_counter() - started
                answers[name].append((resp.status_code, resp.text.replace(name, "NAME")))
                # Refused: throttled or locked, the password not checked (the lock itself is checked).
                was_checked = resp.status_code == 401 or "账户已锁定" in resp.text
                (checked if was_checked else refused)[name].append(took)
        clock.advance(timedelta(seconds=61))
    assert answers["alice"] == answers["alicia"]  # the same statuses and pages, word for word
    statuses = [code for code, _ in answers["alice"]]
    assert statuses == [401, 401] + [401, 429] * 7 + [429] * 8
    assert "账户已锁定" in answers["alice"][16][1] and "临时锁定" in answers["alice"][17][1]
    # In the same time, within a generous factor (the machine is shared; Argon2 dominates the checks).
    for times in (checked, refused):
        ratio = statistics.median(times["alice"]) / statistics.median(times["alicia"])
        assert 0.5 < ratio < 2, times


def test_old_failures_are_forgotten_alike_for_real_and_made_up_names(gw, monkeypatch) -> None:
    from gateway import security

    gw.user("alice", "office")
    clock.set_now(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    clients = {"alice": client_at(gw, ("192.0.2.10", 1)), "alicia": client_at(gw, ("192.0.2.11", 1))}
    statuses: dict[str, list[int]] = {name: [] for name in clients}
    for _ in range(5):
        for name, client in clients.items():
            statuses[name].append(login(client, name, "wrong-password").status_code)
        clock.advance(timedelta(seconds=61))
    clock.advance(timedelta(minutes=17))
    monkeypatch.setattr(security, "_pruned_at", 0.0)  # the made-up name's row is pruned now
    for _ in range(3):  # right after one another: counted from zero again, so no wait yet
        for name, client in clients.items():
            statuses[name].append(login(client, name, "wrong-password").status_code)
    assert statuses["alice"] == statuses["alicia"] == [401] * 8
