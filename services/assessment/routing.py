"""How the assessment routes are declared: each OpenAPI tag's routes on one ``Routes``, which adds
the tag and the documented errors (``READ`` on GET, ``WRITE`` on every write) to the router's
decorator, so a route states only its path, summary, response model and what is its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from services.common.errors import ErrorBody

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _err(description: str, error: str, message: str) -> dict[str, Any]:
    example = {"error": error, "message": message, "details": []}
    return {"model": ErrorBody, "description": description, "content": {"application/json": {"example": example}}}


READ: dict[int | str, dict[str, Any]] = {
    401: _err("缺少或无效的凭证", "unauthorized", "缺少服务令牌"),
    404: _err("不存在，或不在调用方的范围内", "task_not_found", "任务 101 不存在或不在调用方的范围内"),
}
WRITE: dict[int | str, dict[str, Any]] = {
    **READ,
    403: _err("当前角色不能执行此操作", "forbidden", "当前角色不能审核通过"),
    409: _err("状态不允许（如已锁定的季度、已发布的版本）", "invalid_transition", "任务当前为“已通过”，不能退回"),
    422: _err(
        "数据校验失败，details 中逐字段（导入时逐行逐列）说明",
        "validation_error",
        "reason（理由）：退回或重新打开时必须写明理由",
    ),
}


class Routes:
    """The routes of one tag on ``router``: ``@on_quarters.get("/quarters", "季度列表", QuarterList)``.
    Other keywords (``status_code``, ``description``, ``openapi_extra``) go to the router unchanged."""

    def __init__(self, router: APIRouter, tag: str) -> None:
        self.router = router
        self.tag = tag

    def _route(
        self, method: str, path: str, summary: str, model: Any, errors: dict[int | str, Any], **kw: Any
    ) -> Decorator:
        add = getattr(self.router, method)
        decorator: Decorator = add(path, response_model=model, summary=summary, tags=[self.tag], responses=errors, **kw)
        return decorator

    def get(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("get", path, summary, model, READ, **kw)

    def post(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("post", path, summary, model, WRITE, **kw)

    def put(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("put", path, summary, model, WRITE, **kw)

    def patch(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("patch", path, summary, model, WRITE, **kw)

    def delete(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("delete", path, summary, model, WRITE, **kw)
