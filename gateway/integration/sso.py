"""Single sign-on: OIDC (authorization code with PKCE, through authlib; the ID token checked with the
provider's keys) and CAS 2.0/3.0 (``serviceValidate`` with attributes), both from settings. The first
login links a local user by a configured claim, or creates one; role and scope come from the admin's
mapping (claim or group value -> role, unit, county, team), never from the identity provider alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import xml.etree.ElementTree as ET
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
import requests
from authlib.integrations.requests_client import OAuth2Session
from fastapi import APIRouter, Form, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from gateway import repository
from gateway.deps import Admin
from gateway.forms import ScopeFields, field_errors
from gateway.integration import identity_repository
from gateway.integration.config import IntegrationSettings
from gateway.integration.models import ExternalIdentity, RoleMapping
from gateway.models import User
from gateway.pages import client_ip, safe_next, set_session_cookie
from gateway.render import env, render
from gateway.security import hash_password, new_session, validate_scope
from services.common import clock
from services.common.db import ReadSessionDep, SessionDep, session_scope
from services.common.errors import InvalidInput, NotFound, Unauthorized

router = APIRouter(include_in_schema=False)


# What the forms post (``form: ...Posted``: the fields, their limits and defaults).
class MappingForm(ScopeFields):
    claim: str = Field(default="", max_length=64)
    value: str = Field(default="", max_length=128)
    priority: int = Field(default=100, ge=0, le=10000)


MappingPosted = Annotated[MappingForm, Form()]


FLOW_COOKIE = "sortline_sso"
FLOW_SECONDS = 600
CAS_NS = {"cas": "http://www.yale.edu/tp/cas"}


def routers() -> list[APIRouter]:
    return [router]


def settings_of(request: Request) -> IntegrationSettings:
    settings: IntegrationSettings = request.app.state.integration_settings
    return settings


def login_links(settings: IntegrationSettings) -> list[dict[str, str]]:
    links = []
    if settings.oidc_issuer:
        links.append({"href": "/login/oidc", "label": settings.oidc_label})
    if settings.cas_url:
        links.append({"href": "/login/cas", "label": "CAS 统一认证登录"})
    return links


def install_login_links(settings: IntegrationSettings) -> None:
    env.globals["SSO_LOGINS"] = login_links(settings)


# ---------------------------------------------------------------------------------------------
# The flow cookie: state, nonce and PKCE verifier, signed, for ten minutes


def _sign(key: str, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(orjson.dumps(payload)).decode()
    mac = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(key: str, value: str) -> dict[str, Any] | None:
    body, _, mac = value.partition(".")
    expected = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, expected):
        return None
    payload: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body))
    if payload.get("exp", 0) < time.time():
        return None
    return payload


def _flow_response(request: Request, url: str, flow: dict[str, Any]) -> Response:
    resp = RedirectResponse(url, status_code=303)
    flow["exp"] = int(time.time()) + FLOW_SECONDS
    resp.set_cookie(
        FLOW_COOKIE,
        _sign(settings_of(request).key, flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/login",
    )
    return resp


def _flow(request: Request, kind: str) -> dict[str, Any]:
    flow = _unsign(settings_of(request).key, request.cookies.get(FLOW_COOKIE, ""))
    if flow is None or flow.get("kind") != kind:
        raise Unauthorized("登录流程已过期，请重新登录")
    return flow


def _callback_url(request: Request, path: str) -> str:
    return str(request.url_for(path))


# ---------------------------------------------------------------------------------------------
# Users: link or create, role from the mapping


def mapped_scope(db: Session, claims: dict[str, Any]) -> RoleMapping | None:
    """The first mapping (by priority) whose claim holds its value (a list claim may hold several)."""
    for m in identity_repository.role_mappings(db):
        value = claims.get(m.claim)
        values = value if isinstance(value, list) else [value]
        if m.value in [str(v) for v in values if v is not None]:
            return m
    return None


def sign_in_user(
    db: Session, settings: IntegrationSettings, provider: str, subject: str, claims: dict[str, Any]
) -> User:
    link_value = str(claims.get(settings.oidc_link_claim if provider == "oidc" else "user") or "").strip()
    if provider == "cas" and settings.cas_link_attribute:
        link_value = str(claims.get(settings.cas_link_attribute) or link_value).strip()
    mapping = mapped_scope(db, claims)
    identity = identity_repository.identity_of(db, provider, subject)
    user = repository.user_by_id(db, identity.user_id) if identity else None
    if user is None and link_value:
        user = repository.user_by_username(db, link_value)
    if user is None:
        if mapping is None or not settings.sso_create_users:
            raise Unauthorized("统一身份认证账号没有对应的平台角色，请联系管理员配置角色映射")
        username = (
            "".join(c for c in (link_value or subject) if c.isalnum() or c in "._-")[:64]
            or f"sso{secrets.token_hex(4)}"
        )
        if repository.user_by_username(db, username) is not None:
            username = f"{username[:55]}-{secrets.token_hex(3)}"
        user = User(
            username=username,
            display_name=str(claims.get("name") or claims.get("displayName") or username)[:64],
            password_hash=hash_password(secrets.token_urlsafe(24)),  # no local password: SSO only
            role=mapping.role,
        )
    if mapping is not None:
        unit, county, team = validate_scope(mapping.role, mapping.unit_code, mapping.county_code, mapping.team_code)
        user.role, user.unit_code, user.county_code, user.team_code = mapping.role, unit, county, team
        user.unit_leader = user.unit_leader and user.role == "unit"  # the admin's mark, while it applies
    if not user.is_active:
        raise Unauthorized("账户已停用，请联系管理员")
    user.last_login_at = clock.now()
    db.add(user)
    db.flush()
    if identity is None:
        db.add(ExternalIdentity(user_id=user.id or 0, provider=provider, external_id=subject[:128]))
        db.flush()
    return user


def _finish(request: Request, provider: str, subject: str, claims: dict[str, Any], target: str) -> Response:
    settings = settings_of(request)
    with session_scope(request.app.state.engine) as db:
        user = sign_in_user(db, settings, provider, subject, claims)
        token = new_session(db, user, ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))
    resp = RedirectResponse(safe_next(target), status_code=303)
    set_session_cookie(resp, request.app.state.settings, token)
    resp.delete_cookie(FLOW_COOKIE, path="/login")
    return resp


# ---------------------------------------------------------------------------------------------
# OIDC

_discovery: dict[str, tuple[float, dict[str, Any]]] = {}


def discover(issuer: str) -> dict[str, Any]:
    hit = _discovery.get(issuer)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    resp = requests.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10)
    resp.raise_for_status()
    meta: dict[str, Any] = resp.json()
    _discovery[issuer] = (time.monotonic() + 300, meta)
    return meta


def _oauth(settings: IntegrationSettings, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        settings.oidc_client_id,
        settings.oidc_client_secret or None,
        scope=settings.oidc_scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if settings.oidc_client_secret else "none",
    )


@router.get("/login/oidc")
async def oidc_start(request: Request, next: str = "/") -> Response:
    settings = settings_of(request)
    if not settings.oidc_issuer:
        raise NotFound("未配置统一身份认证（OIDC）")
    meta = await run_in_threadpool(discover, settings.oidc_issuer)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    client = _oauth(settings, _callback_url(request, "oidc_callback"))
    url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    return _flow_response(
        request, url, {"kind": "oidc", "state": state, "nonce": nonce, "verifier": verifier, "next": next}
    )


def _exchange(settings: IntegrationSettings, redirect_uri: str, code: str, flow: dict[str, Any]) -> dict[str, Any]:
    meta = discover(settings.oidc_issuer)
    client = _oauth(settings, redirect_uri)
    token = client.fetch_token(meta["token_endpoint"], code=code, code_verifier=flow["verifier"], timeout=10)
    id_token = token.get("id_token")
    if not id_token:
        raise Unauthorized("身份提供方没有返回 ID 令牌")
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    try:
        decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
    except (JoseError, ValueError) as exc:
        raise Unauthorized("ID 令牌签名无效") from exc
    claims: dict[str, Any] = dict(decoded.claims)
    now = time.time()
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if (
        claims.get("iss") != meta.get("issuer", settings.oidc_issuer)
        or settings.oidc_client_id not in auds
        or float(claims.get("exp", 0)) < now - 60
        or claims.get("nonce") != flow["nonce"]
    ):
        raise Unauthorized("ID 令牌无效（签发方、受众、有效期或 nonce 不符）")
    if settings.oidc_link_claim not in claims and meta.get("userinfo_endpoint"):
        info = requests.get(
            meta["userinfo_endpoint"], headers={"authorization": f"Bearer {token['access_token']}"}, timeout=10
        )
        if info.ok:
            claims = {**info.json(), **claims}
    return claims


def _login_error(request: Request, message: str) -> Response:
    """An SSO failure shows the login page with the reason (a plain 401 would only redirect there)."""
    return render(request, "auth/login.html", {"next": "/", "username": "", "error": message}, status_code=401)


@router.get("/login/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    try:
        return await _oidc_callback(request, code, state, error)
    except Unauthorized as exc:
        return _login_error(request, exc.message)
    except (requests.RequestException, OSError, ValueError) as exc:
        return _login_error(request, f"统一身份认证服务暂不可用（{type(exc).__name__}），请稍后再试")


async def _oidc_callback(request: Request, code: str, state: str, error: str) -> Response:
    flow = _flow(request, "oidc")
    if error:
        raise Unauthorized(f"统一身份认证未通过：{error[:100]}")
    if not code or not hmac.compare_digest(state, str(flow.get("state", ""))):
        raise Unauthorized("登录状态校验失败，请重新登录")
    settings = settings_of(request)
    claims = await run_in_threadpool(_exchange, settings, _callback_url(request, "oidc_callback"), code, flow)
    subject = f"{claims['iss']}|{claims['sub']}"
    return await run_in_threadpool(_finish, request, "oidc", subject, claims, flow.get("next", "/"))


# ---------------------------------------------------------------------------------------------
# CAS 2.0 / 3.0


@router.get("/login/cas")
def cas_start(request: Request, next: str = "/") -> Response:
    settings = settings_of(request)
    if not settings.cas_url:
        raise NotFound("未配置 CAS 统一认证")
    service = _callback_url(request, "cas_callback")
    url = settings.cas_url.rstrip("/") + "/login?" + urlencode({"service": service})
    return _flow_response(request, url, {"kind": "cas", "next": next})


def parse_cas(xml_text: str) -> tuple[str, dict[str, Any]]:
    """The user and attributes of a ``serviceValidate`` answer; ``Unauthorized`` on failure."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise Unauthorized("CAS 应答不是有效的 XML") from exc
    failure = root.find("cas:authenticationFailure", CAS_NS)
    if failure is not None:
        raise Unauthorized(f"CAS 票据无效：{(failure.get('code') or '')} {(failure.text or '').strip()}"[:200])
    success = root.find("cas:authenticationSuccess", CAS_NS)
    user = success.findtext("cas:user", default="", namespaces=CAS_NS).strip() if success is not None else ""
    if not user:
        raise Unauthorized("CAS 应答缺少用户")
    attrs: dict[str, Any] = {"user": user}
    node = success.find("cas:attributes", CAS_NS) if success is not None else None
    for child in list(node) if node is not None else []:
        name = child.tag.split("}", 1)[-1]
        value = (child.text or "").strip()
        if name in attrs and name != "user":
            prev = attrs[name]
            attrs[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            attrs[name] = value
    return user, attrs


@router.get("/login/cas/callback", name="cas_callback")
async def cas_callback(request: Request, ticket: str = "") -> Response:
    try:
        return await _cas_callback(request, ticket)
    except Unauthorized as exc:
        return _login_error(request, exc.message)
    except (requests.RequestException, OSError) as exc:
        return _login_error(request, f"CAS 统一认证服务暂不可用（{type(exc).__name__}），请稍后再试")


async def _cas_callback(request: Request, ticket: str) -> Response:
    flow = _flow(request, "cas")
    settings = settings_of(request)
    if not ticket:
        raise Unauthorized("缺少 CAS 票据")
    path = "/p3/serviceValidate" if settings.cas_version >= 3 else "/serviceValidate"
    service = _callback_url(request, "cas_callback")

    def validate() -> str:
        resp = requests.get(
            settings.cas_url.rstrip("/") + path, params={"service": service, "ticket": ticket}, timeout=10
        )
        resp.raise_for_status()
        return resp.text

    user, attrs = parse_cas(await run_in_threadpool(validate))
    return await run_in_threadpool(_finish, request, "cas", user, attrs, flow.get("next", "/"))


# ---------------------------------------------------------------------------------------------
# The admin's mapping


def _mappings(request: Request, db: Session, **extra: Any) -> Response:
    rows = identity_repository.role_mappings(db)
    ctx: dict[str, Any] = {"rows": rows, "errors": {}, "form": {}, "links": login_links(settings_of(request))}
    ctx.update(extra)
    return render(request, "integration/sso.html", ctx, block="panel")


@router.get("/integration/sso")
def sso_page(request: Request, _admin: Admin, db: ReadSessionDep) -> Response:
    return _mappings(request, db)


@router.post("/integration/sso")
def add_mapping(request: Request, _admin: Admin, db: SessionDep, form: MappingPosted) -> Response:
    try:
        if not form.claim.strip():
            raise InvalidInput.field("claim", "请填写声明名称，如 groups")
        if not form.value.strip():
            raise InvalidInput.field("value", "请填写声明的值")
        unit, county, team = validate_scope(form.role, form.unit_code, form.county_code, form.team_code)
    except InvalidInput as exc:
        return _mappings(request, db, form=form.model_dump(), errors=field_errors(exc))
    mapping = RoleMapping(claim=form.claim.strip(), value=form.value.strip(), role=form.role, priority=form.priority)
    mapping.unit_code, mapping.county_code, mapping.team_code = unit, county, team
    db.add(mapping)
    db.flush()
    return _mappings(request, db, toast=("已添加角色映射", "success"))


@router.post("/integration/sso/{mapping_id}/delete")
def delete_mapping(request: Request, mapping_id: int, _admin: Admin, db: SessionDep) -> Response:
    row = identity_repository.role_mapping_by_id(db, mapping_id)
    if row is None:
        raise NotFound("角色映射不存在")
    db.delete(row)
    db.flush()
    return _mappings(request, db, toast=("已删除角色映射", "success"))
