"""Who is asking, for pages (session cookie) and for the API (API key or session), plus the
per-request id and the CSRF check that every unsafe request with a session goes through."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gateway.config import Settings
from gateway.scope_names import scope_name
from gateway.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    UNSAFE_METHODS,
    ApiKeyVerifier,
    Principal,
    cached_session,
    check_csrf_token,
    check_same_origin,
    load_session,
)
from gateway.services import Services
from services.common.auth import Caller
from services.common.errors import Forbidden, Unauthorized

_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class LoginRequired(Exception):
    """A page needs a signed-in user: answered with a redirect to /login?next=..."""


def request_id(request: Request) -> str:
    """The caller's X-Request-ID when it looks sane, else a new one; the same for the whole request."""
    rid: str | None = getattr(request.state, "rid", None)
    if rid is None:
        given = request.headers.get("x-request-id", "")
        rid = given if _RID.match(given) else uuid.uuid4().hex
        request.state.rid = rid
    return rid


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def session_principal(request: Request) -> Principal | None:
    """The signed-in user of the session cookie, or ``None``."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    settings = settings_of(request)
    token = request.cookies.get(settings.session_cookie)
    principal = None
    if token:
        principal = cached_session(token) or await run_in_threadpool(
            load_session, request.app.state.engine, settings, token
        )
    request.state.principal = principal
    return principal


async def check_csrf(request: Request, principal: Principal, *, allow_form: bool) -> None:
    """Refuse an unsafe request of a session without a matching token (header, or form field)."""
    if request.method not in UNSAFE_METHODS:
        return
    check_same_origin(request)
    given = request.headers.get(CSRF_HEADER)
    if not given and allow_form:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    check_csrf_token(principal, given)


async def page_user(request: Request) -> Principal:
    """Dependency of every page: a signed-in user (else redirect to login), CSRF-checked."""
    principal = await session_principal(request)
    if principal is None:
        raise LoginRequired()
    await check_csrf(request, principal, allow_form=True)
    if not hasattr(request.state, "scope_name"):  # what the bar says the user's scope is, by name
        request.state.scope_name = await scope_name(request, principal, request_id(request))
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


def caller_of(principal: Principal, rid: str) -> Caller:
    """What the services are told about ``principal``: ``Principal.caller`` and, for a signed-in
    user, the login name (a service that keeps per-user lists, such as an inspector's day list,
    needs it; ``name`` is the display name)."""
    caller = principal.caller(rid)
    if principal.username:
        caller.username = principal.username
    return caller


async def page_services(request: Request, user: PageUser) -> Services:
    """Dependency: the services bound to the signed-in user (``services.registry.call(...)``),
    their calls signed as this user with this request's id."""
    return Services(request.app.state.clients, caller_of(user, request_id(request)))


ServicesDep = Annotated[Services, Depends(page_services)]


def require_roles(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency factory: a signed-in user with one of ``roles`` (403 page otherwise)."""

    async def dependency(request: Request) -> Principal:
        principal = await page_user(request)
        if principal.role not in roles:
            raise Forbidden("您的角色无权访问此页面")
        return principal

    return dependency


# The system-management pages (users, keys, integration): the office may look, admins change.
AdminViewer = Annotated[Principal, Depends(require_roles("admin", "office"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization 头格式应为：Bearer <API 密钥>")
    return token.strip()


async def api_principal(request: Request) -> Principal:
    """An API caller: ``Authorization: Bearer <api key>``, or a browser session (CSRF-checked)."""
    key = bearer_token(request)
    if key is not None:
        verifier: ApiKeyVerifier = request.app.state.key_verifier
        principal = verifier.cached(key)
        if principal is None:
            principal = await run_in_threadpool(verifier.verify, key)
        if principal is None:
            raise Unauthorized("API 密钥无效或已吊销")
        return principal
    principal = await session_principal(request)
    if principal is None:
        raise Unauthorized("需要登录或提供 API 密钥（Authorization: Bearer <API 密钥>）")
    await check_csrf(request, principal, allow_form=False)
    return principal


ApiCaller = Annotated[Principal, Depends(api_principal)]


def require_service_permission(principal: Principal, service: str) -> None:
    """An API key reaches only the services it holds a permission for (the service then checks
    the exact permission itself). Users are judged by the services from their role."""
    if principal.kind != "key":
        return
    if "*" in principal.permissions:
        return
    if not any(p.startswith(service + ":") for p in principal.permissions):
        raise Forbidden(f"此 API 密钥无权访问“{service}”服务")
