"""One error shape everywhere: ``{"error", "message", "details"}``, messages in Chinese."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.responses import JSONBody


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str
    value: Any = None


class ErrorBody(BaseModel):
    error: str
    message: str
    details: list[ErrorDetail] = []


_FIELD_LABELS: dict[str, str] = {}


def register_field_labels(labels: dict[str, str]) -> None:
    """Chinese names of API fields (``plate_number`` → 车牌号), used in error summaries."""
    _FIELD_LABELS.update(labels)


def field_label(field: str) -> str:
    """``plate_number（车牌号）``: the API name a developer fixes and the name a person reads."""
    name = _FIELD_LABELS.get(field.rsplit(".", 1)[-1])
    return f"{field}（{name}）" if name else field


class AppError(Exception):
    """Base of every error a service raises on purpose; carries its HTTP status."""

    status_code = 400
    code = "bad_request"
    default_message = "请求有误"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Sequence[ErrorDetail] = (),
        code: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = list(details)
        if code:
            self.code = code
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "details": [d.model_dump(exclude_none=True) for d in self.details],
        }


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    default_message = "记录不存在"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    default_message = "与已有数据冲突"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    default_message = "未登录或凭证无效"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    default_message = "没有权限执行此操作"


class InvalidInput(AppError):
    status_code = 422
    code = "validation_error"
    default_message = "提交的数据有误"

    @classmethod
    def field(cls, field: str, message: str, value: Any = None) -> InvalidInput:
        return cls(f"{field_label(field)}：{message}", details=[ErrorDetail(field=field, message=message, value=value)])


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    default_message = "服务暂不可用，请稍后再试"


_PYDANTIC_MESSAGES = {
    "missing": "必填",
    "string_type": "必须是文本",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "float_type": "必须是数字",
    "float_parsing": "必须是数字",
    "bool_parsing": "必须是 true 或 false",
    "bool_type": "必须是 true 或 false",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式应为 ISO 8601",
    "datetime_from_date_parsing": "时间格式应为 ISO 8601",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "extra_forbidden": "不是可接受的字段",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "model_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "uuid_parsing": "不是有效的 UUID",
    "value_error": "取值无效",
}

_LOC_ROOTS = {"body", "query", "path", "header", "cookie"}


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOC_ROOTS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def translate_errors(errors: Sequence[Any]) -> list[ErrorDetail]:
    """Pydantic errors as field-level Chinese messages."""
    details = []
    for err in errors:
        kind = err.get("type", "")
        message = _PYDANTIC_MESSAGES.get(kind)
        ctx = err.get("ctx") or {}
        field = _field_name(err.get("loc", ()))
        if kind == "value_error" and "error" in ctx:
            # Our own validators raise ValueError with a Chinese sentence: keep it (without a
            # leading "field（名称）：", which the summary adds back).
            message = str(ctx["error"]).removeprefix(f"{field_label(field)}：")
        elif kind in {"string_too_long", "string_too_short"} and "max_length" in ctx:
            message = f"最多 {ctx['max_length']} 个字符"
        elif kind == "string_too_short" and "min_length" in ctx:
            message = f"至少 {ctx['min_length']} 个字符"
        elif kind in {"greater_than", "greater_than_equal"}:
            message = f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
        elif kind in {"less_than", "less_than_equal"}:
            message = f"不能大于 {ctx.get('le', ctx.get('lt'))}"
        elif kind in {"enum", "literal_error"} and "expected" in ctx:
            expected = str(ctx["expected"]).replace(" or ", ", ").replace(", ", "、")
            message = f"应为 {expected} 之一"
        details.append(
            ErrorDetail(
                field=field,
                message=message or "取值无效",
                value=_jsonable(err.get("input")) if kind != "missing" else None,
            )
        )
    return details


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return None


def validation_error(details: list[ErrorDetail]) -> InvalidInput:
    summary = "；".join(f"{field_label(d.field or '')}：{d.message}" for d in details[:5])
    return InvalidInput(f"提交的数据有误：{summary}", details=details)


_STATUS_CODES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "未登录或凭证无效"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "提交的内容太大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}


async def _idempotency_key_reused(request: Request) -> bool:
    """Whether the request names an Idempotency-Key its caller already used (services only)."""
    key = request.headers.get("idempotency-key")
    store = getattr(request.app.state, "idempotency", None)
    if not key or store is None or request.method not in ("POST", "PUT", "PATCH"):
        return False
    from sqlmodel import Session
    from starlette.concurrency import run_in_threadpool

    from services.common.auth import current_caller

    try:
        caller = await current_caller(request)
    except AppError:
        return False

    def check() -> bool:
        with Session(request.app.state.read_engine) as session:
            return bool(store.is_used(session, caller.sub, key))

    return await run_in_threadpool(check)


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers in the one shape; a 500 never leaks a stack trace."""

    async def app_error(_request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, AppError)
        return JSONBody(exc.body(), status_code=exc.status_code)

    async def request_validation(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, RequestValidationError | ValidationError)
        if await _idempotency_key_reused(request):
            # A retry's body must be the first body: an invalid one is "another body", so 409.
            reused = Conflict("该 Idempotency-Key 已用于内容不同的请求", code="idempotency_key_reused")
            return JSONBody(reused.body(), status_code=409)
        err = validation_error(translate_errors(exc.errors()))
        return JSONBody(err.body(), status_code=422)

    async def http_error(_request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, StarletteHTTPException)
        code, message = _STATUS_CODES.get(exc.status_code, ("error", "请求失败"))
        if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii():
            message = exc.detail
        return JSONBody(
            {"error": code, "message": message, "details": []},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def unexpected(_request: Request, _exc: Exception) -> JSONBody:
        return JSONBody(
            {"error": "internal_error", "message": "服务器内部错误，请联系管理员", "details": []},
            status_code=500,
        )

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(ValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
