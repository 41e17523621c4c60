"""Cross-site request forgery: every unsafe request with a session needs the session's token."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "extra",
    [
        {},  # no token at all
        {"data": {"csrf_token": "forged"}},
        {"headers": {"X-CSRF-Token": "forged"}},
    ],
)
def test_post_without_valid_token_is_403(gw, extra) -> None:
    gw.login_as("admin")
    resp = gw.client.post("/admin/apikeys", **({"data": {"name": "x"}} | extra))
    assert resp.status_code == 403
    assert "CSRF" in resp.text and "请刷新页面" in resp.text
    assert "<html" in resp.text  # a page, not a stack trace


def test_post_with_token_in_form_or_header_is_accepted(gw) -> None:
    csrf = gw.login_as("admin")
    form = gw.client.post(
        "/admin/apikeys",
        data={"csrf_token": csrf, "name": "东湖区", "county_code": "360102", "permissions": ["registry:read"]},
    )
    assert form.status_code == 200
    assert "sk_" in form.text
    header = gw.client.post(
        "/admin/apikeys",
        data={"name": "西湖区", "county_code": "360103", "permissions": ["registry:read"]},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert header.status_code == 200
    assert "西湖区" in header.text


def test_cross_site_origin_is_refused_even_with_token(gw) -> None:
    csrf = gw.login_as("admin")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        resp = gw.client.post("/admin/apikeys", data={"csrf_token": csrf, "name": "x"}, headers=headers)
        assert resp.status_code == 403, headers
        assert "跨站请求被拒绝" in resp.text
    same = gw.client.post(
        "/admin/apikeys",
        data={"csrf_token": csrf, "name": "ok", "county_code": "360102", "permissions": ["registry:read"]},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 200


def test_logout_needs_the_token(gw) -> None:
    gw.login_as("office")
    assert gw.client.post("/logout", follow_redirects=False).status_code == 403
    assert gw.client.get("/", follow_redirects=False).status_code == 200


def test_htmx_403_answers_a_toast(gw) -> None:
    gw.login_as("admin")
    resp = gw.client.post("/admin/apikeys", headers={"HX-Request": "true"})
    assert resp.status_code == 403
    assert 'class="toast toast-error"' in resp.text
    assert "<html" not in resp.text


def test_proxy_with_session_needs_the_token_for_writes(gw) -> None:
    csrf = gw.login_as("office")
    assert gw.client.post("/api/v1/assessment/anything", json={}).status_code == 403
    resp = gw.client.post("/api/v1/assessment/anything", json={}, headers={"X-CSRF-Token": csrf})
    assert resp.status_code in (404, 405)  # reached the service, which has no such route
