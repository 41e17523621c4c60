"""Errors of the registry service, each with its status (the kernel's shape and classes)."""

from __future__ import annotations

from typing import Any

from services.common.errors import Conflict, ErrorDetail, ErrorExamples, NotFound
from services.common.errors import error_docs as kernel_error_docs
from services.registry.validation import label


def record_not_found(what: str, code: str) -> NotFound:
    """Also the answer for a record outside the caller's county: its existence is not revealed."""
    return NotFound(f"{what} {code} 不存在或不在您的辖区内", code=f"{_slug(what)}_not_found")


def decommissioned(what: str, code: str) -> Conflict:
    return Conflict(f"{what} {code} 已注销，不能再修改", code="record_decommissioned")


def duplicate(field: str, text: str, value: str) -> Conflict:
    return Conflict(
        f"{label(field)}：{text}",
        details=[ErrorDetail(field=field, message=text, value=value)],
        code=f"duplicate_{field}",
    )


def _slug(what: str) -> str:
    return {"车辆": "vehicle", "设施": "facility", "管理对象": "site"}.get(what, "record")


# --- the examples of the registry's error answers, for its OpenAPI document -------------------

ERROR_EXAMPLES: ErrorExamples = {
    401: ("缺少或无效的凭证", {"error": "unauthorized", "message": "缺少服务令牌", "details": []}),
    403: (
        "无权限（只读角色，或 API 密钥缺少 registry:write 权限）",
        {"error": "forbidden", "message": "此 API 密钥没有“registry:write”权限", "details": []},
    ),
    404: (
        "记录不存在，或不在调用方的辖区内",
        {"error": "vehicle_not_found", "message": "车辆 360102-K00001 不存在或不在您的辖区内", "details": []},
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
    """The kernel's error documentation with the registry's examples."""
    return kernel_error_docs(ERROR_EXAMPLES, *statuses)


READ_ERRORS = error_docs(401, 403, 404)
WRITE_ERRORS = error_docs(401, 403, 404, 409, 422)
