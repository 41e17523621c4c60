"""Errors: JSON routes answer the one error shape; pages get a Chinese error page (never a stack
trace); a page that needs a login redirects to /login?next=..."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gateway.deps import LoginRequired
from gateway.render import SECURITY_HEADERS, is_htmx, redirect, render
from services.common.errors import AppError, install_error_handlers

log = logging.getLogger("sortline.gateway")

PAGE_TITLES = {
    401: "需要登录",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的请求",
    422: "提交的数据有误",
    429: "请求过于频繁",
    503: "服务暂不可用",
    500: "系统出错",
}
PAGE_MESSAGES = {
    404: "您访问的页面不存在或已被移除。",
    503: "服务暂不可用，请稍后再试。如果问题持续，请联系系统管理员。",
    500: "系统出现了意外错误，请稍后再试或联系系统管理员。",
}


def wants_html(request: Request) -> bool:
    """Pages answer HTML; ``/api/...`` (except the docs page) and ``/health`` answer JSON."""
    path = request.url.path
    if path == "/api/docs":
        return True
    return not (path.startswith("/api/") or path == "/health" or path.startswith("/static/"))


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login?next=" + quote(target, safe="")
    return redirect(request, location)  # htmx follows HX-Redirect with a full page load


def error_page(request: Request, status: int, message: str | None = None) -> Response:
    title = PAGE_TITLES.get(status, "出错了")
    text = message or PAGE_MESSAGES.get(status) or title
    if is_htmx(request):
        # htmx 2 does not swap 4xx/5xx answers: show the message as a toast instead.
        from gateway.render import toast

        return Response(
            toast(text, "error"),
            status_code=status,
            media_type="text/html",
            headers={**SECURITY_HEADERS, "HX-Reswap": "none"},
        )
    return render(request, "errors/error.html", {"status": status, "title": title, "message": text}, status_code=status)


def install_gateway_error_handlers(app: FastAPI) -> None:
    install_error_handlers(app)
    json_app_error = app.exception_handlers[AppError]
    json_http_error = app.exception_handlers[StarletteHTTPException]
    json_unexpected = app.exception_handlers[Exception]

    async def login_required(request: Request, _exc: Exception) -> Response:
        return login_redirect(request)

    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        if wants_html(request):
            if exc.status_code == 401:
                return login_redirect(request)
            return error_page(request, exc.status_code, exc.message)
        response = await json_app_error(request, exc)  # type: ignore[misc]
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_html(request):
            return error_page(request, exc.status_code)
        response = await json_http_error(request, exc)  # type: ignore[misc]
        return response

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        if wants_html(request):
            try:
                return error_page(request, 500)
            except Exception:  # the error page itself failed: plain text, still no trace
                return Response("系统出错，请稍后再试", status_code=500, media_type="text/plain; charset=utf-8")
        response = await json_unexpected(request, exc)  # type: ignore[misc]
        return response

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
