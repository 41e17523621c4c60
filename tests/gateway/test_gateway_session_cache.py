"""Signed-in users are remembered for a few seconds, but never past a logout or a disable."""

from datetime import timedelta

import httpx

from services.common import clock


def test_disabling_a_user_ends_their_open_session_at_once(gw) -> None:
    admin_csrf = gw.login_as("admin")
    uid = gw.user("bob", "office")
    bob = httpx.Client(transport=gw.client._transport, base_url=str(gw.client.base_url))
    assert bob.post("/login", data={"username": "bob", "password": gw.password}).status_code == 303
    assert bob.get("/", follow_redirects=False).status_code == 200  # now cached
    gw.client.post(f"/admin/users/{uid}/disable", data={"csrf_token": admin_csrf})
    assert bob.get("/", follow_redirects=False).status_code == 303


def test_an_idle_session_expires_even_when_cached(gw) -> None:
    gw.login_as("office")
    assert gw.client.get("/", follow_redirects=False).status_code == 200
    clock.set_now(clock.now() + timedelta(minutes=gw.settings.session_idle_minutes + 1))
    assert gw.client.get("/", follow_redirects=False).status_code == 303
