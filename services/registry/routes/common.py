"""What every registry route module shares: settings, the Idempotency-Key header, error docs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Request

from services.common.errors import ErrorBody
from services.registry.config import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="重试时使用同一个键：相同的键和内容只执行一次并返回第一次的结果；相同的键、不同的内容返回 409",
        examples=["nc-2026-03-01-0001"],
    ),
]

_SORT_HELP = (
    "排序：code 统一编号升序（默认），-code 统一编号降序，-updated_at 最近更新在前{name}。"
    "同值按统一编号排列；next_cursor 只能用于同一排序，换排序须从第一页开始"
)
RecordSort = Annotated[
    Literal["code", "-code", "-updated_at", "name"],
    Query(description=_SORT_HELP.format(name="，name 按名称"), examples=["-updated_at"]),
]
VehicleSort = Annotated[
    Literal["code", "-code", "-updated_at"],
    Query(description=_SORT_HELP.format(name=""), examples=["-updated_at"]),
]

_ERROR_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("缺少或无效的凭证", {"error": "unauthorized", "message": "缺少服务令牌", "details": []}),
    403: (
        "无权限（只读角色，或 API 密钥缺少 registry:write 权限）",
        {"error": "forbidden", "message": "此 API 密钥没有“registry:write”权限", "details": []},
    ),
    404: (
        "记录不存在，或不在调用方的辖区内",
        {"error": "vehicle_not_found", "message": "车辆 360102-K00001 不存在或不在调用方的辖区内", "details": []},
    ),
    409: (
        "与已有数据冲突（重复的车牌号、县区系统编号，或 Idempotency-Key 已用于不同内容）",
        {
            "error": "duplicate_plate_number",
            "message": "plate_number（车牌号）：车牌号 赣AD12345 已登记为车辆 360102-K00001",
            "details": [{"field": "plate_number", "message": "车牌号 赣AD12345 已登记为车辆 360102-K00001"}],
        },
    ),
    422: (
        "数据校验失败，details 中逐字段说明",
        {
            "error": "validation_error",
            "message": "提交的数据有误：plate_number：plate_number（车牌号）：车牌号格式不正确：不能使用字母 I 或 O",
            "details": [
                {
                    "field": "plate_number",
                    "message": "plate_number（车牌号）：车牌号格式不正确：不能使用字母 I 或 O",
                    "value": "赣AI2345",
                }
            ],
        },
    ),
}


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, with the error model and an example."""
    return {
        status: {
            "model": ErrorBody,
            "description": _ERROR_EXAMPLES[status][0],
            "content": {"application/json": {"example": _ERROR_EXAMPLES[status][1]}},
        }
        for status in statuses
    }


READ_ERRORS = error_docs(401, 403, 404)
WRITE_ERRORS = error_docs(401, 403, 404, 409, 422)
