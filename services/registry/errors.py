"""Errors of the registry service, each with its status (the kernel's shape and classes)."""

from __future__ import annotations

from services.common.errors import Conflict, ErrorDetail, NotFound
from services.registry.validation import label


def record_not_found(what: str, code: str) -> NotFound:
    """Also the answer for a record outside the caller's county: its existence is not revealed."""
    return NotFound(f"{what} {code} 不存在或不在调用方的辖区内", code=f"{_slug(what)}_not_found")


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
