"""Errors of the supervision service, each with its status (the kernel's shape and classes)."""

from __future__ import annotations

from services.common.errors import Conflict, ErrorDetail, InvalidInput, NotFound


def not_found(what: str, ident: object) -> NotFound:
    """Also the answer for a record outside the caller's scope: its existence is not revealed."""
    return NotFound(f"{what} {ident} 不存在或不在您的权限范围内", code="not_found")


def conflict(message: str, code: str = "conflict", field: str | None = None) -> Conflict:
    details = [ErrorDetail(field=field, message=message)] if field else []
    return Conflict(message, details=details, code=code)


def invalid(field: str, message: str, value: object = None) -> InvalidInput:
    return InvalidInput.field(field, message, value)
