"""One error shape everywhere: ``{"error", "message", "details"}``, messages in Chinese."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from services.common.responses import JSONBody


class ErrorDetail(BaseModel):
    field: str | None = None
    message: str
    value: Any = None


class ErrorBody(BaseModel):
    error: str
    message: str
    details: list[ErrorDetail] = []


FieldLabels = Mapping[str, str]


def register_field_labels(app: FastAPI, labels: FieldLabels) -> None:
    """Chinese names of one app's API fields (``plate_number`` → 车牌号), used in its error summaries.

    Per app, not per process: ``name`` or ``state`` mean different things in different services,
    and the gateway's tests run all of them in one process."""
    current: dict[str, str] = dict(getattr(app.state, "field_labels", {}) or {})
    current.update(labels)
    app.state.field_labels = current


def app_labels(request: Request) -> FieldLabels:
    return getattr(request.app.state, "field_labels", None) or {}


def field_label(field: str, labels: FieldLabels | None = None) -> str:
    """``plate_number（车牌号）``: the API name a developer fixes and the name a person reads."""
    name = (labels or {}).get(field.rsplit(".", 1)[-1])
    return f"{field}（{name}）" if name else field


class AppError(Exception):
    """Base of every error a service raises on purpose; carries its HTTP status. A subclass names its
    status, code and default message in its bases: ``class NotFound(AppError, status=404, ...)``."""

    status_code = 400
    code = "bad_request"
    default_message = "请求有误"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, message: str | None = None, **kw: Any
    ) -> None:
        super().__init_subclass__(**kw)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code
        if message is not None:
            cls.default_message = message

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

    def body(self, labels: FieldLabels | None = None) -> dict[str, Any]:
        """The answer's JSON; ``labels`` are the app's field names (see ``InvalidInput``)."""
        return {
            "error": self.code,
            "message": self.message,
            "details": [d.model_dump(exclude_none=True) for d in self.details],
        }


class NotFound(AppError, status=404, code="not_found", message="记录不存在"): ...


class Conflict(AppError, status=409, code="conflict", message="与已有数据冲突"): ...


class Unauthorized(AppError, status=401, code="unauthorized", message="未登录或凭证无效"): ...


class Forbidden(AppError, status=403, code="forbidden", message="没有权限执行此操作"): ...


class InvalidInput(AppError, status=422, code="validation_error", message="提交的数据有误"):
    """A 422. Made by ``field()`` or ``of_details()``, its summary names each field with the Chinese
    label of the app that answers (the labels are known only there), e.g. ``name（名称）：…``."""

    summary_prefix: str | None = None  # set: the message is built from the details and the labels

    @classmethod
    def field(cls, field: str, message: str, value: Any = None) -> InvalidInput:
        err = cls(f"{field}：{message}", details=[ErrorDetail(field=field, message=message, value=value)])
        err.summary_prefix = ""
        return err

    @classmethod
    def of_details(cls, details: list[ErrorDetail]) -> InvalidInput:
        err = cls("提交的数据有误：" + "；".join(f"{d.field or ''}：{d.message}" for d in details[:5]), details=details)
        err.summary_prefix = "提交的数据有误："
        return err

    def body(self, labels: FieldLabels | None = None) -> dict[str, Any]:
        body = super().body(labels)
        if self.summary_prefix is not None:
            parts = (f"{field_label(d.field or '', labels)}：{d.message}" for d in self.details[:5])
            body["message"] = self.summary_prefix + "；".join(parts)
        return body


def key_reused() -> Conflict:
    return Conflict("该 Idempotency-Key 已用于内容不同的请求", code="idempotency_key_reused")


class ServiceUnavailable(AppError, status=503, code="service_unavailable", message="服务暂不可用，请稍后再试"): ...


# --- OpenAPI documentation of the errors ------------------------------------------------------

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "缺少或无效的凭证"},
    403: {"model": ErrorBody, "description": "无权限"},
    404: {"model": ErrorBody, "description": "记录不存在（或不在调用方的辖区内）"},
    409: {"model": ErrorBody, "description": "冲突"},
    422: {"model": ErrorBody, "description": "数据校验失败，details 中逐字段说明"},
}

ErrorExamples = Mapping[int, tuple[str, dict[str, Any]]]


def error_docs(examples: ErrorExamples, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these statuses: the error model, and the service's own description
    and example where it gives one (``examples``: status -> (description, example body))."""
    docs: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status in examples:
            description, example = examples[status]
            docs[status] = {
                "model": ErrorBody,
                "description": description,
                "content": {"application/json": {"example": example}},
            }
        else:
            docs[status] = ERROR_RESPONSES[status]
    return docs


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


def translate_errors(errors: Sequence[Any], labels: FieldLabels | None = None) -> list[ErrorDetail]:
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
            message = str(ctx["error"]).removeprefix(f"{field_label(field, labels)}：")
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
    return InvalidInput.of_details(details)


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


# Set by the idempotent-write dependency (services/common/idempotency.py), which runs before the body
# is validated: a retry's body must be the first body, so an invalid one under a used key is a 409.
KEY_REUSED_FLAG = "idempotency_key_used"


BODY_PARSE_FAILED = "There was an error parsing the body"  # fastapi/routing.py


def _flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """The routes themselves: FastAPI 0.16x keeps an included router as one entry whose
    ``effective_candidates()`` are its routes (with the prefix applied)."""
    for route in routes:
        nested = getattr(route, "effective_candidates", None)
        if callable(nested):
            yield from _flat_routes(nested())
        else:
            yield route


def allowed_methods(request: Request) -> list[str]:
    """The methods the resource at the request's path takes (RFC 9110 §15.5.6: a 405 lists them
    all in ``Allow``). Starlette names only the first route that matched the path, and FastAPI
    makes one route per method, so ``GET /vehicles`` hid ``POST /vehicles``. Where a literal path
    and a template both match (``/vehicles/export`` and ``/vehicles/{code}``), the resource is the
    one with the fewest path parameters, as in the OpenAPI document."""
    # No route takes the method "": every path match is PARTIAL. No path_params from the first one.
    scope = {**request.scope, "method": "", "path_params": {}}
    by_params: dict[int, set[str]] = {}
    for route in _flat_routes(request.app.router.routes):
        route_methods = getattr(route, "methods", None)
        if not route_methods:
            continue
        match, child = route.matches(scope)
        if match is not Match.NONE:
            by_params.setdefault(len(child.get("path_params") or {}), set()).update(route_methods)
    methods = by_params[min(by_params)] if by_params else set()
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers in the one shape; a 500 never leaks a stack trace."""

    async def app_error(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, AppError)
        return JSONBody(exc.body(app_labels(request)), status_code=exc.status_code)

    async def request_validation(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, RequestValidationError | ValidationError)
        if getattr(request.state, KEY_REUSED_FLAG, False):
            reused = key_reused()
            return JSONBody(reused.body(), status_code=reused.status_code)
        labels = app_labels(request)
        err = validation_error(translate_errors(exc.errors(), labels))
        return JSONBody(err.body(labels), status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONBody:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == BODY_PARSE_FAILED:
            # FastAPI's answer to a body it cannot decode (not UTF-8, a broken form): a 422 like
            # any other invalid body (documented on every route that takes one).
            err = InvalidInput.field("body", "请求体无法解析：应为 UTF-8 编码的 JSON（或所声明的表单格式）")
            return JSONBody(err.body(app_labels(request)), status_code=err.status_code)
        code, message = _STATUS_CODES.get(exc.status_code, ("error", "请求失败"))
        if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii():
            message = exc.detail
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONBody(
            {"error": code, "message": message, "details": []},
            status_code=exc.status_code,
            headers=headers or None,
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
