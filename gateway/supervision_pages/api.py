"""The supervision service as the pages see it: one ``call()`` (JSON in, JSON out, the service's
errors re-raised as the gateway's own with their Chinese message and field details), the labels of
its states and categories, and the small helpers every supervision page shares.

Every path the pages use is written here once, so a change in the service's API is one edit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import Request
from starlette.datastructures import UploadFile

from gateway.clients import ERROR_CLASSES, ServiceClient
from gateway.deps import caller_of, request_id
from gateway.security import Principal
from services.common import clock
from services.common.errors import AppError, ErrorDetail, Forbidden, InvalidInput, ServiceUnavailable
from services.common.kinds import FACILITY_KIND_NAMES

log = logging.getLogger("sortline.gateway.supervision")

LABEL = "督导"
MAX_PHOTO_BYTES = 20 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"}

# --- labels ------------------------------------------------------------------------------------

FINDING_CATEGORIES = {
    "mixed_disposal": "混投混放",
    "overflow": "满溢",
    "illegal_dumping": "偷倒",
    "signage": "标识不规范",
    "facility_damage": "设施破损",
    "records_missing": "台账缺失",
    "notice_board_missing": "公示牌缺失",
    "vehicle_mixed_loading": "收运车辆混装",
    "other": "其他",
}
SEVERITIES = {"minor": "一般", "major": "较重", "severe": "严重"}
RECT_STATES = {"issued": "已下发", "accepted": "已签收", "fix_submitted": "已提交整改", "verified": "已销号"}
# The board's columns, in the order the work flows (a rejected fix goes back to 已签收).
BOARD_STATES = ("issued", "accepted", "fix_submitted", "verified")
ACTIONS = {"accept": "签收", "submit_fix": "提交整改", "verify": "销号", "reject": "驳回"}
# Who may press which button (the service decides again; this only hides buttons that would fail).
ACTION_ROLES = {
    "accept": frozenset({"unit", "county"}),
    "submit_fix": frozenset({"unit", "county"}),
    "verify": frozenset({"office", "admin", "inspector"}),
    "reject": frozenset({"office", "admin", "inspector"}),
}
ACTION_FROM = {
    "accept": frozenset({"issued"}),
    "submit_fix": frozenset({"accepted"}),
    "verify": frozenset({"fix_submitted"}),
    "reject": frozenset({"fix_submitted"}),
}
ITEM_TYPES = {"yesno": "是/否", "score": "评分", "count": "计数", "text": "文字", "photo": "须拍照"}
TARGET_SOURCES = {"site": "管理对象", "facility": "设施", "vehicle": "收运车辆", "unit": "成员单位", "county": "县区"}
SITE_KINDS = {
    "residential": "居民小区",
    "public_institution": "公共机构",
    "public_place": "公共场所",
    "business_area": "经营区域",
    "education": "教育机构",
    "medical": "医疗机构",
    "farmers_market": "农贸市场",
}
FACILITY_KINDS = FACILITY_KIND_NAMES  # the kernel keeps the registry's kind names once
TARGET_KINDS = {
    **{f"site:{k}": v for k, v in SITE_KINDS.items()},
    **{f"facility:{k}": v for k, v in FACILITY_KINDS.items()},
    **TARGET_SOURCES,
    **SITE_KINDS,
    **FACILITY_KINDS,
}
DEPARTMENTS = {
    "urban_management": "城管执法",
    "housing": "住建",
    "market_regulation": "市场监管",
    "commerce": "商务",
    "ecology": "生态环境",
    "culture_tourism": "文广旅",
}
ENFORCEMENT_ACTIONS = {"order": "责令改正", "warning": "警告", "fine": "罚款"}
PLAN_STATES = {"scheduled": "已排期", "active": "进行中", "finished": "已结束"}
CHECKLIST_STATES = {"draft": "草稿", "published": "已发布"}
REPORT_STATES = {"building": "生成中", "ready": "待发布", "published": "已发布", "failed": "生成失败"}

OFFICE_ROLES = frozenset({"office", "admin"})
READ_ROLES = frozenset({"office", "admin", "leader"})
PARTY_ROLES = frozenset({"unit", "county"})


def label(mapping: Mapping[str, str], key: Any) -> str:
    return mapping.get(str(key), str(key) if key not in (None, "") else "—")


def item_label(item: Mapping[str, Any]) -> str:
    """A checklist item's wording, whatever the service calls it."""
    for key in ("label", "text", "title", "name", "question"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return str(item.get("id", ""))


API_PREFIX = "/api/v1/supervision"


def photo_urls(photos: Any) -> list[dict[str, str]]:
    """The service's photo objects as browser URLs: the gateway's API under the session (a GET
    needs no CSRF token), the thumbnail when the background job has made it."""
    out = []
    for p in photos or []:
        if isinstance(p, dict) and p.get("url"):
            url = API_PREFIX + str(p["url"])
            thumb = API_PREFIX + str(p["thumbnail_url"]) if p.get("thumbnail_url") else url
            out.append(
                {"id": str(p.get("photo_id", "")), "url": url, "thumb": thumb, "taken_at": str(p.get("taken_at") or "")}
            )
    return out


def iso_local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A service's ISO 8601 time (UTC) as Asia/Shanghai for the pages."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return clock.local(moment).strftime(fmt)


def today() -> date:
    return clock.local(clock.now()).date()


def seg(value: Any) -> str:
    return quote(str(value), safe="")


# --- the client --------------------------------------------------------------------------------


class Supervision:
    """The supervision service bound to one request's signed-in caller."""

    def __init__(self, request: Request, user: Principal) -> None:
        self.client: ServiceClient = request.app.state.clients.supervision
        self.caller = caller_of(user, request_id(request))

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        content = orjson.dumps(json) if json is not None else None
        headers = {"accept": "application/json"}
        if content is not None:
            headers["content-type"] = "application/json"
        status, body = await self.raw(method, path, params=params, content=content, headers=headers)
        if status >= 400:
            raise service_error(status, body)
        return orjson.loads(body) if body else None

    async def raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One request to the service: its status and body as sent (5xx raised as 服务暂不可用)."""
        query = urlencode({k: v for k, v in (params or {}).items() if v not in (None, "")}, doseq=True)
        resp = await self.client.open(method, path, caller=self.caller, query=query, content=content, headers=headers)
        body = await self.client.read(resp)
        if resp.status_code >= 500:
            raise ServiceUnavailable(f"{LABEL}服务暂不可用，请稍后再试")
        return resp.status_code, body

    async def put_photo(self, owner: str, upload: UploadFile) -> str:
        """One uploaded photo sent on its own to ``<owner>/photos/<id>`` under an id made here
        (a resend is a no-op); the service types it by its content. Returns the id."""
        data = await upload.read(MAX_PHOTO_BYTES + 1)
        if len(data) > MAX_PHOTO_BYTES:
            raise InvalidInput.field("photos", f"照片“{upload.filename}”超过 20 MB")
        photo_id = uuid.uuid4().hex
        content_type = upload.content_type if upload.content_type in PHOTO_TYPES else "application/octet-stream"
        headers = {"content-type": content_type, "accept": "application/json"}
        status, body = await self.raw("PUT", f"{owner}/photos/{photo_id}", content=data, headers=headers)
        if status >= 400:
            raise service_error(status, body)
        return photo_id

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params)

    async def items(self, path: str, **params: Any) -> tuple[list[dict[str, Any]], str | None]:
        """A list answer: ``{"items": [...], "next_cursor"}`` or a bare list."""
        data = await self.get(path, **params)
        if isinstance(data, list):
            return data, None
        return list(data.get("items") or []), data.get("next_cursor")

    async def all_items(self, path: str, limit: int = 2000, **params: Any) -> list[dict[str, Any]]:
        """Every page of a list, up to ``limit`` rows (teams, checklists, a plan's targets)."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(out) < limit:
            items, cursor = await self.items(path, **params, cursor=cursor)
            out += items
            if not cursor or not items:
                break
        return out[:limit]


def service_error(status: int, body: bytes) -> AppError:
    message, details = "", []
    try:
        data = orjson.loads(body)
        message = str(data.get("message") or "")
        details = [ErrorDetail.model_validate(d) for d in data.get("details") or []]
    except (ValueError, AttributeError, TypeError):
        pass
    cls = ERROR_CLASSES.get(status, AppError)
    error = cls(message or None, details=details)
    error.status_code = status
    return error


def choices(county_names: dict[str, str] | None = None, **tables: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """A page's select options as (value, label) pairs: each label table in its order, under its
    keyword, and ``counties`` by code when the county names are given."""
    out = {key: list(table.items()) for key, table in tables.items()}
    if county_names is not None:
        out["counties"] = sorted(county_names.items())
    return out


def field_errors(exc: AppError) -> dict[str, str]:
    """A service's 422 as ``{field: sentence}`` for a form, with ``form`` for the summary."""
    errors: dict[str, str] = {}
    for d in getattr(exc, "details", None) or []:
        name = getattr(d, "field", None) or getattr(d, "loc", None)
        if isinstance(name, list | tuple):
            name = ".".join(str(p) for p in name if p not in ("body",))
        errors[str(name or "form")] = getattr(d, "message", "") or exc.message
    errors.setdefault("form", exc.message)
    return errors


def require(user: Principal, roles: frozenset[str]) -> None:
    if user.role not in roles:
        raise Forbidden("您的角色无权访问此页面")


def who(user: Principal) -> set[str]:
    """The ways a service may name this user in ``inspector``/``members`` fields."""
    return {user.sub, user.username, str(user.id), user.name}
