"""What the route modules share: settings, the file storage, the working-day calendar, the
registry client, the job runner, error docs and JSON helpers."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from services.common import clock
from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep
from services.common.errors import ErrorBody
from services.common.responses import JSONBody
from services.common.routing import Decorator, Routes
from services.common.storage import FileStorage, make_storage
from services.supervision.config import Settings

if TYPE_CHECKING:
    from services.common.workdays import WorkCalendar


async def get_settings(request: Request) -> Settings:
    """``async``: a plain attribute read; as a sync dependency it cost every route a thread hop."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
# The list routes' paging parameters.
Cursor = Annotated[str | None, Query(description="上一页返回的 next_cursor")]
Limit = Annotated[int, Query(ge=1, le=500)]


def storage_of(state: Any) -> FileStorage:
    """The app's file storage (made once from the settings)."""
    if getattr(state, "storage", None) is None:
        state.storage = make_storage(state.settings.file_storage_url(), max_size=state.settings.max_photo_size)
    storage: FileStorage = state.storage
    return storage


async def get_storage(request: Request) -> FileStorage:
    return storage_of(request.app.state)


StorageDep = Annotated[FileStorage, Depends(get_storage)]


def calendar_of(state: Any) -> WorkCalendar:
    """The working-day calendar: the one a test set, or the registry's (kernel ``load_calendar``)."""
    provider = getattr(state, "calendar", None)
    if provider is not None:
        return provider() if callable(provider) else provider
    from services.common.workdays import load_calendar

    return load_calendar(peer_of(state, "registry"))


class LazyCalendar:
    """The calendar, asked for only when a rule needs it (most requests count no working days,
    and then they do not depend on the registry answering)."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._cal: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._cal is None:
            self._cal = calendar_of(self._state)
        return getattr(self._cal, name)


def peer_of(state: Any, name: str) -> Any:
    """A ``PeerClient`` to another service (tests put their own in ``state.peers``)."""
    peers: dict[str, Any] = getattr(state, "peers", None) or {}
    if name not in peers:
        from services.common.peers import PeerClient

        peers[name] = PeerClient(state.settings, name)
        state.peers = peers
    return peers[name]


def today() -> date:
    return clock.today()


def jsonable(data: Any) -> Any:
    """Dates and times as ISO strings (JSON columns, events, idempotent replies)."""
    return orjson.loads(orjson.dumps(data, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.as_utc(value).isoformat()
    raise TypeError


def utc(value: datetime | None) -> datetime | None:
    return clock.as_utc(value) if value is not None else None


_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("缺少或无效的凭证", {"error": "unauthorized", "message": "缺少服务令牌", "details": []}),
    403: ("无权限", {"error": "forbidden", "message": "只有分类办工作人员可以执行此操作", "details": []}),
    404: (
        "不存在，或不在调用方的权限范围内",
        {"error": "not_found", "message": "整改通知 12 不存在或不在您的权限范围内", "details": []},
    ),
    409: (
        "冲突（同一编号已提交了不同的内容，或状态不允许此操作）",
        {
            "error": "inspection_conflict",
            "message": "检查 3f2a… 已以不同内容提交过；请保留草稿并联系分类办",
            "details": [],
        },
    ),
    422: (
        "数据校验失败，details 中逐字段说明",
        {
            "error": "validation_error",
            "message": "提交的数据有误：ends_on（结束日期）：结束日期不能早于开始日期",
            "details": [{"field": "ends_on", "message": "结束日期不能早于开始日期", "value": "2026-09-01"}],
        },
    ),
}


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {
            "model": ErrorBody,
            "description": _EXAMPLES[s][0],
            "content": {"application/json": {"example": _EXAMPLES[s][1]}},
        }
        for s in statuses
    }


READ_ERRORS = error_docs(401, 403, 404)
WRITE_ERRORS = error_docs(401, 403, 404, 409, 422)


def routes(**router_args: Any) -> tuple[APIRouter, Routes]:
    """A route module's ``APIRouter(**router_args)`` and its ``Routes``: GETs document ``READ_ERRORS``,
    writes ``WRITE_ERRORS`` (``@api.get("/teams", "督导组列表", TeamPage)``)."""
    router = APIRouter(**router_args)
    return router, Routes(router, read=READ_ERRORS, write=WRITE_ERRORS)


def forward(
    route: Decorator, call: Callable[..., Any], *, write: bool = False, name: str | None = None, **param: Any
) -> None:
    """Declare a route that only hands its one parameter to the service, ``call(session, caller,
    value)``, and answers the result as JSON: ``forward(api.get("/plans/{plan_id}", "查看督导计划",
    PlanDetail), service.get_plan, plan_id=int)``. ``param``: the parameter's name and annotation (a
    path id, a query value); ``write``: the committing session, else the read-only one; ``name``: the
    route's (its OpenAPI operation id), by default the service function's."""
    ((key, annotation),) = param.items()

    def endpoint(**values: Any) -> Response:
        return JSONBody(call(values["session"], values["caller"], values[key]))

    named = inspect.Parameter.KEYWORD_ONLY
    session = SessionDep if write else ReadSessionDep
    parameters = [(key, annotation), ("caller", CallerDep), ("session", session)]
    signature = inspect.Signature([inspect.Parameter(n, named, annotation=a) for n, a in parameters])
    setattr(endpoint, "__signature__", signature.replace(return_annotation=Response))  # noqa: B010 (FastAPI reads it)
    endpoint.__name__ = endpoint.__qualname__ = name or call.__name__
    route(endpoint)
