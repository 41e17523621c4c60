"""Login and logout (the home page is ``gateway/dashboard.py``)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.config import Settings
from gateway.deps import PageUser, session_principal, settings_of
from gateway.render import redirect, render
from gateway.security import (
    LoginResult,
    address_delay,
    attempt_login,
    check_same_origin,
    drop_session,
    end_session,
    new_session,
)
from services.common.db import session_scope

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a freshly signed-in user to another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\n" in target:
        return "/"
    if target.startswith(("/login", "/logout")):
        return "/"
    return target


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        settings.session_cookie,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    if await session_principal(request) is not None:
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next), "username": "", "error": None})


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    settings = settings_of(request)
    check_same_origin(request)  # no login CSRF from another site
    target = safe_next(next)
    if not username.strip() or not password:
        return render(
            request,
            "auth/login.html",
            {"next": target, "username": username, "error": "请输入用户名和密码"},
            status_code=422,
        )
    ip = client_ip(request)
    # An address with many recent failures is slowed down here, on the event loop (no thread is
    # held while it waits), before the password is checked; it is never refused.
    delay = await run_in_threadpool(_address_delay, request.app.state.read_engine, settings, ip)
    if delay > 0:
        await asyncio.sleep(delay)
    result, token = await run_in_threadpool(
        _sign_in,
        request.app.state.engine,
        settings,
        username,
        password,
        ip,
        request.cookies.get(settings.session_cookie),
        request.headers.get("user-agent", ""),
    )
    if token is None:
        status = {"locked": 429, "lockout": 429, "throttled": 429}.get(result.outcome, 401)
        return render(
            request,
            "auth/login.html",
            {"next": target, "username": username, "error": result.message},
            status_code=status,
        )
    response = redirect(request, target)
    set_session_cookie(response, settings, token)
    return response


def _address_delay(engine: Engine, settings: Settings, ip: str) -> float:
    with Session(engine) as db:
        return address_delay(db, settings, ip)


def _sign_in(
    engine: Engine, settings: Settings, username: str, password: str, ip: str, old: str | None, user_agent: str
) -> tuple[LoginResult, str | None]:
    """One transaction: the attempt and its login_event, and on success the new session."""
    with session_scope(engine) as db:
        result = attempt_login(db, settings, username, password, ip)
        if not result.ok or result.user is None:
            return result, None
        if old:
            drop_session(db, old)
        return result, new_session(db, result.user, ip=ip, user_agent=user_agent)


@router.post("/logout")
async def logout(request: Request, _user: PageUser) -> Response:
    settings = settings_of(request)
    token = request.cookies.get(settings.session_cookie)
    if token:
        await run_in_threadpool(end_session, request.app.state.engine, token)
    response = redirect(request, "/login")
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax")
    return response
