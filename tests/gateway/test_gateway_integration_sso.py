"""Single sign-on against a real (small) OIDC provider and a CAS server started by the tests: PKCE,
ID token checks, first login links or creates a user, role and scope from the admin's mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from sqlmodel import Session, select

from gateway.integration.models import ExternalIdentity, RoleMapping
from gateway.models import User
from tests.gateway.conftest import Gateway
from tests.support.idp import Provider, running_provider


@pytest.fixture
def idp() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def sso_gw(idp: Provider, make_gateway: Callable[..., Gateway], monkeypatch: pytest.MonkeyPatch) -> Gateway:
    monkeypatch.setenv("SORTLINE_GATEWAY_INTEGRATION_OIDC_ISSUER", idp.base)
    monkeypatch.setenv("SORTLINE_GATEWAY_INTEGRATION_OIDC_CLIENT_ID", idp.client_id)
    monkeypatch.setenv("SORTLINE_GATEWAY_INTEGRATION_OIDC_CLIENT_SECRET", idp.client_secret)
    monkeypatch.setenv("SORTLINE_GATEWAY_INTEGRATION_CAS_URL", idp.base + "/cas")
    gw = make_gateway()
    with Session(gw.engine) as db:
        db.add(RoleMapping(claim="groups", value="东湖区分类办", role="county", county_code="360102", priority=10))
        db.add(RoleMapping(claim="department", value="市分类办", role="office", priority=20))
        db.commit()
    return gw


def oidc_login(gw: Gateway) -> httpx.Response:
    start = gw.client.get("/login/oidc", params={"next": "/inbox"}, follow_redirects=False)
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert "code_challenge=" in authorize and "code_challenge_method=S256" in authorize and "nonce=" in authorize
    back = requests.get(authorize, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    target = urlsplit(back.headers["location"])
    return gw.client.get(f"{target.path}?{target.query}", follow_redirects=False)


def test_oidc_first_login_creates_user_with_mapped_scope(sso_gw: Gateway, idp: Provider) -> None:
    idp.user = {"sub": "u-778", "preferred_username": "wangfang", "name": "王芳", "groups": ["职工", "东湖区分类办"]}
    assert "统一身份认证登录" in sso_gw.client.get("/login").text
    done = oidc_login(sso_gw)
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    assert idp.token_requests[-1]["code_verifier"]  # PKCE verifier sent to the token endpoint
    home = sso_gw.client.get("/")
    assert "王芳" in home.text
    with Session(sso_gw.engine) as db:
        user = db.exec(select(User).where(User.username == "wangfang")).one()
        assert (user.role, user.county_code) == ("county", "360102")
        link = db.exec(select(ExternalIdentity).where(ExternalIdentity.user_id == user.id)).one()
        assert link.provider == "oidc" and link.external_id == f"{idp.base}|u-778"


def test_oidc_links_an_existing_local_user_by_claim(sso_gw: Gateway, idp: Provider) -> None:
    uid = sso_gw.user("lihua", "unit", unit_code="U01")
    idp.user = {"sub": "x-1", "preferred_username": "lihua", "department": "市分类办"}
    assert oidc_login(sso_gw).status_code == 303
    with Session(sso_gw.engine) as db:
        user = db.get(User, uid)
        assert user is not None and user.role == "office"  # the admin's mapping decides the role


def test_oidc_without_mapping_is_refused_and_state_is_checked(sso_gw: Gateway, idp: Provider) -> None:
    idp.user = {"sub": "nobody", "preferred_username": "stranger"}
    refused = oidc_login(sso_gw)
    assert refused.status_code == 401 and "角色映射" in refused.text
    start = sso_gw.client.get("/login/oidc", follow_redirects=False)
    back = requests.get(start.headers["location"], allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    forged = sso_gw.client.get(f"/login/oidc/callback?code={code}&state=forged", follow_redirects=False)
    assert forged.status_code == 401


def test_cas3_service_validate_with_attributes(sso_gw: Gateway, idp: Provider) -> None:
    start = sso_gw.client.get("/login/cas", follow_redirects=False)
    assert start.status_code == 303
    assert start.headers["location"].startswith(idp.base + "/cas/login?service=")
    idp.tickets["ST-1-good"] = ("zhaolei", {"groups": ["东湖区分类办"], "displayName": ["赵磊"]})
    done = sso_gw.client.get("/login/cas/callback?ticket=ST-1-good", follow_redirects=False)
    assert done.status_code == 303, done.text
    with Session(sso_gw.engine) as db:
        user = db.exec(select(User).where(User.username == "zhaolei")).one()
        assert user.role == "county" and user.display_name == "赵磊"
    sso_gw.client.cookies.clear()
    sso_gw.client.get("/login/cas", follow_redirects=False)
    bad = sso_gw.client.get("/login/cas/callback?ticket=ST-2-bad", follow_redirects=False)
    assert bad.status_code == 401 and "INVALID_TICKET" in bad.text


def test_admin_keeps_the_mapping(sso_gw: Gateway) -> None:
    csrf = sso_gw.login_as("admin")
    page = sso_gw.client.get("/integration/sso")
    assert "东湖区分类办" in page.text
    bad = sso_gw.client.post(
        "/integration/sso", data={"csrf_token": csrf, "claim": "groups", "value": "x", "role": "county"}
    )
    assert "县区编码" in bad.text
    ok = sso_gw.client.post(
        "/integration/sso",
        data={"csrf_token": csrf, "claim": "groups", "value": "督导一组", "role": "inspector", "team_code": "T1"},
    )
    assert "已添加角色映射" in ok.text
