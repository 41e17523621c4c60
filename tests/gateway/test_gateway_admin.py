"""Admin pages: who may see them, users and API keys managed through them."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from gateway.models import ApiKey, User

SCOPES = {
    "unit": {"unit_code": "U05"},
    "county": {"county_code": "360102"},
    "inspector": {"team_code": "T01"},
}


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("office", 200), ("leader", 403), ("unit", 403), ("county", 403), ("inspector", 403)],
)
@pytest.mark.parametrize("path", ["/admin/users", "/admin/apikeys"])
def test_who_may_see_admin_pages(gw, role, status, path) -> None:
    gw.login_as(role, **SCOPES.get(role, {}))
    resp = gw.client.get(path, follow_redirects=False)
    assert resp.status_code == status
    if status == 403:
        assert "没有权限" in resp.text


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("office", 403), ("leader", 403)])
def test_only_admin_may_change(gw, role, status) -> None:
    csrf = gw.login_as(role)
    resp = gw.client.post(
        "/admin/apikeys",
        data={"csrf_token": csrf, "name": "x", "county_code": "360102", "permissions": ["registry:read"]},
    )
    assert resp.status_code == status


def test_office_sees_lists_without_forms(gw) -> None:
    gw.login_as("office")
    page = gw.client.get("/admin/apikeys")
    assert "密钥列表" in page.text
    assert "新建密钥" not in page.text


def test_nav_follows_the_role(gw) -> None:
    gw.login_as("county", county_code="360102")
    home = gw.client.get("/")
    assert "接口文档" in home.text
    assert "用户管理" not in home.text


def test_create_user_with_scope_and_errors_in_place(gw) -> None:
    csrf = gw.login_as("admin")
    hx = {"HX-Request": "true"}
    bad = gw.client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "lz", "password": "longenough", "role": "county", "county_code": "12"},
        headers=hx,
    )
    assert bad.status_code == 200
    assert "县区编码应为 6 位数字" in bad.text
    assert 'value="lz"' in bad.text
    assert "<html" not in bad.text  # the panel fragment only
    short = gw.client.post(
        "/admin/users", data={"csrf_token": csrf, "username": "lz", "password": "short", "role": "office"}, headers=hx
    )
    assert "密码至少 8 位" in short.text
    ok = gw.client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "lz",
            "display_name": "李忠",
            "password": "longenough",
            "role": "county",
            "county_code": "360102",
        },
        headers=hx,
    )
    assert "已创建用户 lz" in ok.text
    assert "<td>东湖区</td>" in ok.text  # the scope by its name
    dup = gw.client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "lz", "password": "longenough", "role": "office"},
        headers=hx,
    )
    assert "用户名已存在" in dup.text
    assert ok.headers["vary"] == "HX-Request"


def test_disable_and_reset_password(gw) -> None:
    csrf = gw.login_as("admin")
    uid = gw.user("bob", "office")
    resp = gw.client.post(f"/admin/users/{uid}/disable", data={"csrf_token": csrf})
    assert "已停用用户 bob" in resp.text
    with Session(gw.engine) as db:
        user = db.get(User, uid)
        assert user is not None and not user.is_active
    assert gw.client.post(f"/admin/users/{uid}/enable", data={"csrf_token": csrf}).status_code == 200
    resp = gw.client.post(f"/admin/users/{uid}/reset-password", data={"csrf_token": csrf})
    match = re.search(r'id="secret-value">([^<]+)<', resp.text)
    assert match, resp.text
    new_password = match.group(1)
    gw.client.cookies.clear()
    assert gw.login("bob", gw.password).status_code == 401
    assert gw.login("bob", new_password).status_code == 303


def test_admin_cannot_disable_self(gw) -> None:
    csrf = gw.login_as("admin")
    with Session(gw.engine) as db:
        me = db.exec(select(User).where(User.username == "u_admin")).one()
    resp = gw.client.post(f"/admin/users/{me.id}/disable", data={"csrf_token": csrf})
    assert "不能停用自己的账户" in resp.text


def test_create_key_shows_it_once_and_lists_it(gw) -> None:
    csrf = gw.login_as("admin")
    resp = gw.client.post(
        "/admin/apikeys",
        data={
            "csrf_token": csrf,
            "name": "东湖区环卫系统",
            "role": "county",
            "county_code": "360102",
            "permissions": ["registry:read"],
        },
        headers={"HX-Request": "true"},
    )
    key = re.search(r'id="secret-value">(sk_[^<]+)<', resp.text)
    assert key, resp.text
    assert "只显示这一次" in resp.text
    page = gw.client.get("/admin/apikeys")
    assert "东湖区环卫系统" in page.text
    assert key.group(1) not in page.text  # never shown again
    assert key.group(1)[:10] in page.text  # its prefix is
    assert "从未使用" in page.text
    with Session(gw.engine) as db:
        row = db.exec(select(ApiKey)).one()
        assert row.permissions == ["registry:read"]
        assert row.created_by == "u_admin"
        assert row.key_hash != key.group(1)


def test_create_key_errors(gw) -> None:
    csrf = gw.login_as("admin")
    resp = gw.client.post(
        "/admin/apikeys",
        data={"csrf_token": csrf, "name": "x", "role": "county", "county_code": ""},
        headers={"HX-Request": "true"},
    )
    assert "县区密钥必须填写 6 位县区编码" in resp.text
    office = gw.client.post(
        "/admin/apikeys",
        data={"csrf_token": csrf, "name": "OA", "role": "office", "permissions": ["registry:read"]},
        headers={"HX-Request": "true"},
    )
    assert "全市（分类办）" in office.text


def test_unknown_page_is_a_chinese_404(gw) -> None:
    gw.login_as("office")
    resp = gw.client.get("/no/such/page")
    assert resp.status_code == 404
    assert "页面不存在" in resp.text


def test_a_member_units_account_is_marked_as_its_leader(gw) -> None:
    """Created as the unit's leader or marked later (and back); only a member unit's account can be."""
    csrf = gw.login_as("admin")
    hx = {"HX-Request": "true"}
    base = {"csrf_token": csrf, "password": "longenough", "unit_leader": "1"}
    refused = gw.client.post(
        "/admin/users", data=base | {"username": "cz", "role": "county", "county_code": "360102"}, headers=hx
    )
    assert "只有成员单位账号可以设为单位领导" in refused.text and 'value="cz"' in refused.text
    gw.user("boss", "unit", unit_code="U05", unit_leader=True)  # (the form checks U05 with the registry)
    assert '<span class="badge">单位领导</span>' in gw.client.get("/admin/users").text
    liaison = gw.user("liaison", "unit", unit_code="U05")
    county = gw.user("cty", "county", county_code="360102")
    marked = gw.client.post(f"/admin/users/{liaison}/unit-leader", data={"csrf_token": csrf, "unit_leader": "1"})
    assert "已将用户 liaison 设为单位领导" in marked.text
    unmarked = gw.client.post(f"/admin/users/{liaison}/unit-leader", data={"csrf_token": csrf, "unit_leader": "0"})
    assert "已将用户 liaison 改为单位联络人" in unmarked.text
    no = gw.client.post(f"/admin/users/{county}/unit-leader", data={"csrf_token": csrf, "unit_leader": "1"})
    assert "只有成员单位账号可以设为单位领导" in no.text
    with Session(gw.engine) as db:
        leaders = {u.username for u in db.exec(select(User).where(User.unit_leader.is_(True)))}  # type: ignore[attr-defined]
    assert leaders == {"boss"}
