"""Login and logout (the home page is ``gateway/dashboard.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.config import Settings
from gateway.deps import PageUser, session_principal, settings_of
from gateway.render import redirect, render
from gateway.security import attempt_login, check_same_origin, drop_session, end_session, new_session
from services.common.db import SessionDep

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
def login(
    request: Request,
    db: SessionDep,
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
    result = attempt_login(db, settings, username, password, client_ip(request))
    if not result.ok or result.user is None:
        status = {"locked": 429, "lockout": 429, "throttled": 429}.get(result.outcome, 401)
        return render(
            request,
            "auth/login.html",
            {"next": target, "username": username, "error": result.message},
            status_code=status,
        )
    old = request.cookies.get(settings.session_cookie)
    if old:
        drop_session(db, old)
    token = new_session(db, result.user, ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))
    response = redirect(request, target)
    set_session_cookie(response, settings, token)
    return response


@router.post("/logout")
async def logout(request: Request, _user: PageUser) -> Response:
    settings = settings_of(request)
    token = request.cookies.get(settings.session_cookie)
    if token:
        await run_in_threadpool(end_session, request.app.state.engine, token)
    response = redirect(request, "/login")
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax")
    return response
