"""Admin forms: a scope is picked by name from the registry's counties and units and the supervision
service's teams; an unknown one is refused on its field; the lists show names, not codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlmodel import Session, select

from gateway.models import ApiKey, User
from tests.gateway.conftest import service_transports

HX = {"HX-Request": "true"}


@pytest.fixture
def agw(make_db: Any, make_gateway: Any, tmp_path: Any) -> Any:
    """The gateway with the real registry (东湖区, 西湖区, one unit) and supervision (one team)."""
    from fastapi.testclient import TestClient

    from services.common.auth import Caller, sign_token
    from services.registry.models import unit_t
    from services.supervision.app import create_app as supervision_app
    from services.supervision.config import Settings as SupervisionSettings

    transports, engines = service_transports(make_db)
    with engines["registry"].begin() as conn:
        conn.execute(
            insert(unit_t),
            [{"code": "U03", "name": "市城管局", "kind": "municipal_bureau", "county_code": None}],
        )
    sv_settings = SupervisionSettings(run_jobs=False, storage_url=str(tmp_path / "sv-files"))
    app = supervision_app(sv_settings, make_db("supervision"))
    transports["supervision"] = httpx.ASGITransport(app=app)
    token = sign_token(Caller(sub="user:office", name="office", role="office"), sv_settings.service_token_secret)
    team = {"code": "T01", "name": "第一督导组", "leader": "zs", "members": ["zs"], "counties": ["360102"]}
    with TestClient(app) as service:
        resp = service.put("/teams/T01", json=team, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code in (200, 201), resp.text
    return make_gateway(transports=transports)


def _user_form(csrf: str, role: str, **scope: str) -> dict[str, str]:
    return {"csrf_token": csrf, "username": f"n_{role}", "password": "longenough", "role": role, **scope}


@pytest.mark.parametrize(
    ("role", "field", "code", "message"),
    [
        ("county", "county_code", "999999", "县区“999999”不存在"),
        ("unit", "unit_code", "U99", "成员单位“U99”不存在"),
        ("inspector", "team_code", "T99", "督导组“T99”不存在"),
    ],
)
def test_unknown_scope_is_refused_on_its_field(agw, role, field, code, message) -> None:
    csrf = agw.login_as("admin")
    resp = agw.client.post("/admin/users", data=_user_form(csrf, role, **{field: code}), headers=HX)
    assert resp.status_code == 200
    assert message in resp.text
    assert f'id="e-{field}"' in resp.text  # in place, under its select
    with Session(agw.engine) as db:
        assert db.exec(select(User).where(User.username == f"n_{role}")).first() is None


@pytest.mark.parametrize(
    ("role", "field", "code", "name"),
    [
        ("county", "county_code", "360102", "东湖区"),
        ("unit", "unit_code", "U03", "市城管局"),
        ("inspector", "team_code", "T01", "第一督导组"),
    ],
)
def test_known_scope_is_created_and_listed_by_name(agw, role, field, code, name) -> None:
    csrf = agw.login_as("admin")
    resp = agw.client.post("/admin/users", data=_user_form(csrf, role, **{field: code}), headers=HX)
    assert f"已创建用户 n_{role}" in resp.text, resp.text
    row = resp.text.split(f"<td>n_{role}</td>")[1].split("</tr>")[0]
    assert f"<td>{name}</td>" in row


def test_user_form_picks_scopes_from_named_lists(agw) -> None:
    agw.login_as("admin")
    page = agw.client.get("/admin/users").text
    assert '<select id="f-county_code" name="county_code"' in page
    assert '<option value="360102">东湖区</option>' in page
    assert '<option value="U03">市城管局</option>' in page
    assert '<option value="T01">第一督导组</option>' in page
    assert 'name="county_code" type="text"' not in page  # never typed


def test_api_key_for_unknown_county_is_refused(agw) -> None:
    csrf = agw.login_as("admin")
    data = {"csrf_token": csrf, "name": "k", "role": "county", "county_code": "999999"}
    data["permissions"] = "registry:read"
    resp = agw.client.post("/admin/apikeys", data=data, headers=HX)
    assert "县区“999999”不存在" in resp.text
    assert 'id="e-county_code"' in resp.text
    with Session(agw.engine) as db:
        assert db.exec(select(ApiKey)).first() is None
    resp = agw.client.post("/admin/apikeys", data={**data, "county_code": "360103"}, headers=HX)
    assert "已创建" in resp.text
    assert "<td>西湖区</td>" in resp.text
    assert '<option value="360103">西湖区</option>' in resp.text


def test_unreachable_service_is_said_on_the_field(gw) -> None:
    """The default gateway fixture has no supervision service: a team cannot be checked."""
    csrf = gw.login_as("admin")
    resp = gw.client.post("/admin/users", data=_user_form(csrf, "inspector", team_code="T01"), headers=HX)
    assert "督导服务暂不可用，无法核对督导组" in resp.text
    assert "（列表暂不可用）" in resp.text
