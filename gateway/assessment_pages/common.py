"""What the assessment pages share: labels, role sets, the call to the assessment service (errors
become the gateway's own, with their Chinese details) and small formatting helpers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import httpx
import orjson
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway.clients import ERROR_CLASSES, ServiceClient
from gateway.deps import request_id
from gateway.render import SECURITY_HEADERS, env
from gateway.security import Principal
from services.common import clock
from services.common.errors import AppError, ErrorDetail, Forbidden, ServiceUnavailable

log = logging.getLogger("sortline.gateway.assessment")

# --- roles ---------------------------------------------------------------------------------------

OFFICE_ROLES = frozenset({"admin", "office"})
LEADER_ROLES = frozenset({"leader"})
# Who reads the scores (forecast, ranking, trend): the office and the leaders.
SCORE_ROLES = OFFICE_ROLES | LEADER_ROLES
# Who answers tasks: a member unit's liaison, or a county (a responsible party like a unit).
RESPONDER_ROLES = frozenset({"unit", "county"})
TASK_ROLES = OFFICE_ROLES | LEADER_ROLES | RESPONDER_ROLES

# --- labels --------------------------------------------------------------------------------------

# A state's label and badge, for tasks and quarters.
TASK_STATES = {
    "pending": ("待提交", "badge-off"),
    "submitted": ("已提交", "badge-info"),
    "approved": ("已通过", "badge-ok"),
    "returned": ("已退回", "badge-error"),
}
QUARTER_STATES = {
    "collecting": ("收集中", "badge-info"),
    "reviewing": ("审核中", "badge-warn"),
    "locked": ("已锁定", "badge-off"),
}
TASK_STATE_LABELS = {state: label for state, (label, _badge) in TASK_STATES.items()}
# The office moves a quarter forward, one step at a time (the service decides again).
QUARTER_NEXT = {"collecting": ("reviewing", "开始审核"), "reviewing": ("locked", "锁定季度")}
CATALOGUE_STATE_LABELS = {"draft": "草稿", "published": "已发布"}
FREQUENCY_LABELS = {"monthly": "每月", "quarterly": "每季度", "yearly": "每年", "once": "一次"}
EVENT_LABELS = {
    "created": "生成任务",
    "submit": "提交材料",
    "approve": "审核通过",
    "return": "退回",
    "reopen": "重新打开",
    "set_due": "调整截止日期",
    "remind": "提醒",
    "reminded": "提醒",
    "overdue": "逾期提醒",
    "escalate": "逾期升级",
    "escalated": "逾期升级",
}
TIER_LABELS = {1: "第一档", 2: "第二档", 3: "第三档"}
# The fields of a catalogue item (the catalogue's changes, the office's item form).
ITEM_FIELD_LABELS = {
    "category": "评估类别",
    "points": "分值",
    "rules": "评分细则",
    "evidence": "档案资料",
    "lead_unit": "牵头单位",
    "co_units": "配合单位",
    "data_source": "数据来源",
}


def state_label(state: str) -> str:
    return TASK_STATE_LABELS.get(state, state)


def state_view(states: dict[str, tuple[str, str]], state: str) -> dict[str, str]:
    """A state with its label and badge (an unknown one as it is, greyed)."""
    label, badge = states.get(state, (state, "badge-off"))
    return {"state": state, "state_label": label, "state_badge": badge}


def fmt_points(value: Any) -> str:
    """Points as the office writes them: 2, 1.5, 0.25."""
    if value is None:
        return "—"
    number = float(value)
    return f"{number:.2f}".rstrip("0").rstrip(".") if number % 1 else f"{number:.0f}"


def fmt_share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def days_to(due: str | date | None) -> int | None:
    """Calendar days from today (Asia/Shanghai) to ``due``; negative when past."""
    if not due:
        return None
    d = due if isinstance(due, date) else date.fromisoformat(str(due)[:10])
    return (d - clock.local(clock.now()).date()).days


def due_words(due: str | None, overdue: bool, state: str) -> str:
    """The due date in plain words: 还剩 3 天 / 今天截止 / 已逾期 2 天."""
    n = days_to(due)
    if n is None or state == "approved":
        return ""
    if overdue or n < 0:
        return f"已逾期 {-n} 天" if n is not None and n < 0 else "已逾期"
    if n == 0:
        return "今天截止"
    return f"还剩 {n} 天"


def url(path: str, params: Mapping[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def seg(value: str) -> str:
    """A value as one path segment (ids come from URLs people can edit)."""
    return quote(str(value), safe="")


def require(user: Principal, roles: frozenset[str]) -> None:
    if user.role not in roles:
        raise Forbidden("您的角色无权访问此页面")


# --- the assessment service ----------------------------------------------------------------------


def client(request: Request) -> ServiceClient:
    svc: ServiceClient = request.app.state.clients.assessment
    return svc


def raise_for(resp: httpx.Response, label: str) -> None:
    """A service's error answer as the gateway's error, keeping its message and field details."""
    if resp.status_code >= 500:
        raise ServiceUnavailable(f"{label}服务暂不可用，请稍后再试")
    if resp.status_code < 400:
        return
    try:
        data = resp.json()
        message = str(data.get("message") or "")
        details = [ErrorDetail.model_validate(d) for d in data.get("details") or []]
    except (ValueError, AttributeError):
        message, details = "", []
    error = ERROR_CLASSES.get(resp.status_code, AppError)(message or None, details=details)
    error.status_code = resp.status_code
    raise error


async def call(
    request: Request,
    user: Principal,
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
) -> Any:
    """One call to the assessment service as the signed-in user; its error answers are raised as
    the gateway's errors (a 422's details kept for forms, a 404 as the 404 page)."""
    svc: Any = client(request)
    caller = user.caller(request_id(request))
    if hasattr(svc, "open"):  # the kernel gateway's ServiceClient.call (errors mapped the same way)
        return await svc.call(method, path, caller=caller, params=params, json=json)
    content = orjson.dumps(json) if json is not None else None
    headers = {"accept": "application/json"}
    if content is not None:
        headers["content-type"] = "application/json"
    query = urlencode({k: v for k, v in (params or {}).items() if v not in (None, "")})
    resp = await svc.send(method, path, caller=caller, query=query, content=content, headers=headers)
    raise_for(resp, svc.label)
    return orjson.loads(resp.content) if resp.content else None


async def forward_multipart(request: Request, user: Principal, path: str) -> Any:
    """Pass the browser's multipart body on to the service as it arrives (never parsed here)."""
    svc = client(request)
    headers = {
        "content-type": request.headers.get("content-type", ""),
        "accept": "application/json",
        **svc.auth_headers(user.caller(request_id(request))),
    }
    try:
        resp = await svc.http.post(svc.base_url + path, content=request.stream(), headers=headers)
    except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
        log.warning("assessment service unreachable: POST %s: %r", path, exc)
        raise ServiceUnavailable(f"{svc.label}服务暂不可用，请稍后再试") from exc
    raise_for(resp, svc.label)
    return resp.json()


async def open_stream(request: Request, user: Principal, path: str, query: str = "") -> httpx.Response:
    """A GET whose body is not read yet (a file passed on to the browser); the caller closes it."""
    svc = client(request)
    target = svc.base_url + path + (f"?{query}" if query else "")
    upstream = svc.http.build_request("GET", target, headers=svc.auth_headers(user.caller(request_id(request))))
    try:
        resp = await svc.http.send(upstream, stream=True)
    except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
        log.warning("assessment service unreachable: GET %s: %r", path, exc)
        raise ServiceUnavailable(f"{svc.label}服务暂不可用，请稍后再试") from exc
    if resp.status_code >= 400:
        await resp.aread()
        await resp.aclose()
        raise_for(resp, svc.label)
    return resp


async def all_items(
    request: Request, user: Principal, path: str, params: Mapping[str, Any] | None = None, *, cap: int = 5000
) -> list[dict[str, Any]]:
    """Every item of a cursor-paged list (up to ``cap``)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(out) < cap:
        page = await call(request, user, "GET", path, params={**(params or {}), "cursor": cursor, "limit": 500})
        if isinstance(page, list):
            return page
        out += page.get("items", [])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return out


def field_errors(exc: AppError) -> dict[str, str]:
    """A 422's details as field -> message, for forms that show them in place."""
    out: dict[str, str] = {}
    for d in getattr(exc, "details", None) or []:
        name = d.field if isinstance(d, ErrorDetail) else str(d)
        out.setdefault(name or "", d.message if isinstance(d, ErrorDetail) else "")
    return out


def when(value: Any) -> str:
    """A timestamp (ISO text from the service, or a datetime) in Asia/Shanghai, to the minute."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return clock.local(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


env.filters["when"] = when
env.filters["points"] = fmt_points


async def pass_file(request: Request, user: Principal, path: str, query: str = "") -> Response:
    """A file the service makes (XLSX, YAML, PDF) streamed on to the browser as a download."""
    upstream = await open_stream(request, user, path, query)
    headers = dict(SECURITY_HEADERS)
    for name in ("content-length", "content-disposition"):
        if name in upstream.headers:
            headers[name] = upstream.headers[name]
    return StreamingResponse(
        upstream.aiter_raw(),
        media_type=upstream.headers.get("content-type", "application/octet-stream"),
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )
