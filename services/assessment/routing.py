"""How the assessment routes are declared: each OpenAPI tag's routes on one kernel ``Routes``
(``services/common/routing.py``), which adds the tag and the documented errors (``READ`` on GET,
``WRITE`` on every write) to the router's decorator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.common import routing
from services.common.errors import ErrorBody


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


class TagRoutes(routing.Routes):
    def create(self, path: str, summary: str, model: Any = None, **kw: Any) -> routing.Decorator:
        """A POST that creates: documented as answering 201 (the route returns its ``JSONBody`` with 201)."""
        return self.post(path, summary, model, status_code=201, **kw)


def tag_routes(router: APIRouter, tag: str) -> TagRoutes:
    """The routes of one OpenAPI tag on ``router``: ``@on_quarters.get("/quarters", "季度列表", QuarterList)``."""
    return TagRoutes(router, read=READ, write=WRITE, tag=tag)
