"""Errors of the assessment service, each with its status (the kernel's shape and classes)."""

from __future__ import annotations

from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound


def not_found(what: str, ident: object, code: str) -> NotFound:
    """Also the answer for a record outside the caller's scope: its existence is not revealed."""
    return NotFound(f"{what} {ident} 不存在或不在您的范围内", code=code)


def catalogue_not_found(ident: object) -> NotFound:
    return not_found("评估细则版本", ident, "catalogue_not_found")


def quarter_not_found(ident: object) -> NotFound:
    return not_found("季度", ident, "quarter_not_found")


def task_not_found(ident: object) -> NotFound:
    return not_found("任务", ident, "task_not_found")


def file_not_found(ident: object) -> NotFound:
    return not_found("文件", ident, "file_not_found")


def result_not_found(ident: object) -> NotFound:
    return not_found("国检结果", ident, "result_not_found")


def published_immutable(catalogue_id: int) -> Conflict:
    return Conflict(f"评估细则版本 {catalogue_id} 已发布，不能修改；请基于它新建草稿", code="catalogue_published")


def quarter_locked(quarter: str) -> Conflict:
    return Conflict(f"季度 {quarter} 已锁定，任务、文件和得分都不能再修改", code="quarter_locked")


def transition_refused(state_label: str, action_label: str) -> Conflict:
    return Conflict(f"任务当前为“{state_label}”，不能{action_label}", code="invalid_transition")


def not_allowed(action_label: str) -> Forbidden:
    return Forbidden(f"当前角色不能{action_label}", code="forbidden")


def reason_required() -> InvalidInput:
    return InvalidInput.field("reason", "退回或重新打开时必须写明理由")
