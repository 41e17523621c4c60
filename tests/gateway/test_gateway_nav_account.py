"""The bar leads with the work and folds 系统管理 into one menu at its end; every user changes their
own password; the favicon."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from gateway.models import User, UserSession

ADMIN_ENTRIES = ("用户管理", "API 密钥", "接口文档")


def _nav(html: str) -> str:
    match = re.search(r'<nav class="nav" id="main-nav" aria-label="主导航">(.*?)</nav>', html, re.S)
    assert match, html
    return match.group(1)


def test_office_bar_leads_with_its_work_and_folds_administration(gw) -> None:
    gw.login_as("office")
    nav = _nav(gw.client.get("/").text)
    plain, _, menu = nav.partition('<details class="nav-group')
    assert menu, nav
    assert "<summary>系统管理</summary>" in menu
    for label in ADMIN_ENTRIES:
        assert f">{label}</a>" in menu and f">{label}</a>" not in plain
    labels = re.findall(r">([^<>]+)</a>", plain)
    assert labels[:3] == ["首页", "行政区划", "成员单位"]  # the work leads
    assert "设施" in labels and "考核评估" in labels
    assert 'class="nav-toggle" aria-expanded="false" aria-controls="main-nav">菜单</button>' in gw.client.get("/").text


def test_the_menu_is_marked_active_on_its_pages(gw) -> None:
    gw.login_as("admin")
    nav = _nav(gw.client.get("/admin/users").text)
    assert '<details class="nav-group active">' in nav
    assert '<a href="/admin/users" class="active" aria-current="page">用户管理</a>' in nav


def test_county_gets_the_docs_in_the_menu(gw) -> None:
    gw.login_as("county", county_code="360102")
    nav = _nav(gw.client.get("/").text)
    assert ">接口文档</a>" in nav.partition("<details")[2]
    assert "用户管理" not in nav


def test_badge_never_breaks_and_the_favicon(gw) -> None:
    css = gw.client.get("/static/css/app.css").text
    assert re.search(r"\.badge \{ white-space: nowrap; \}", css)
    assert re.search(r"@media \(max-width: 1100px\).*\.topbar\.nav-open \.nav \{ display: flex; \}", css, re.S)
    icon = gw.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    assert gw.client.get("/static/favicon.svg").status_code == 200
    login = gw.client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login


@pytest.mark.parametrize("role", ["admin", "office", "leader", "unit", "county", "inspector"])
def test_every_role_may_open_the_password_page(gw, role) -> None:
    scope = {"unit": {"unit_code": "U05"}, "county": {"county_code": "360102"}, "inspector": {"team_code": "T01"}}
    gw.login_as(role, **scope.get(role, {}))
    page = gw.client.get("/account/password")
    assert page.status_code == 200
    assert 'href="/account/password">修改密码</a>' in page.text
    assert 'name="current_password"' in page.text


def test_change_password(gw) -> None:
    csrf = gw.login_as("unit", unit_code="U05")
    other = gw.client.__class__(gw.client.app, base_url=str(gw.client.base_url))
    assert other.post("/login", data={"username": "u_unit", "password": gw.password}).status_code in (200, 303)
    hx = {"HX-Request": "true"}
    form = {"csrf_token": csrf, "current_password": "wrong-one-1", "new_password": "short", "confirm_password": "x"}
    bad = gw.client.post("/account/password", data=form, headers=hx)
    assert bad.status_code == 200 and "<html" not in bad.text
    assert "当前密码不正确" in bad.text and "密码至少 8 位" in bad.text
    assert 'id="e-current_password"' in bad.text
    form = {**form, "current_password": gw.password, "new_password": "new-secret-42", "confirm_password": "nope"}
    assert "两次输入的新密码不一致" in gw.client.post("/account/password", data=form, headers=hx).text
    same = {**form, "new_password": gw.password, "confirm_password": gw.password}
    assert "新密码不能与当前密码相同" in gw.client.post("/account/password", data=same, headers=hx).text
    # no CSRF token: refused
    assert gw.client.post("/account/password", data={**form, "csrf_token": ""}).status_code == 403

    ok = gw.client.post("/account/password", data={**form, "confirm_password": "new-secret-42"}, headers=hx)
    assert "密码已修改" in ok.text
    assert gw.client.get("/account/password").status_code == 200  # this session goes on
    with Session(gw.engine) as db:
        user = db.exec(select(User).where(User.username == "u_unit")).one()
        assert len(db.exec(select(UserSession).where(UserSession.user_id == user.id)).all()) == 1
    gw.client.cookies.clear()
    assert gw.login("u_unit", gw.password).status_code == 401
    assert gw.login("u_unit", "new-secret-42").status_code == 303


def test_the_bar_names_the_users_scope(gw, monkeypatch) -> None:
    from gateway import scope_names

    monkeypatch.setattr(scope_names, "_names", {})
    gw.login_as("county", county_code="360102")
    home = gw.client.get("/").text
    assert '<span class="role">县区 · 东湖区</span>' in home
    assert "县区 360102" not in home
