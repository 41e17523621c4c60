"""Admin pages of the integration part: subscriptions (create — the secret shown once —, rotate, mark
internal, enable, end), a subscription's delivery log and backlog, and replay. Admins change; the
office may look."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.responses import Response

from gateway.deps import Admin, AdminViewer
from gateway.forms import field_errors
from gateway.integration import replay as replay_ops
from gateway.integration import subscriptions as subs
from gateway.integration.api import box_of
from gateway.integration.models import Subscription
from gateway.render import NavItem, register_nav, render
from services.common import clock
from services.common.db import ReadSessionDep, SessionDep
from services.common.errors import AppError, InvalidInput

router = APIRouter(prefix="/integration", include_in_schema=False)


# What the forms post (``form: ...Posted``: the fields, their limits and defaults).
class SubscriptionForm(BaseModel):
    name: str = Field(default="", max_length=200)
    url: str = Field(default="", max_length=1000)
    types: str = Field(default="", max_length=2000)
    adapter: str = Field(default="standard", max_length=32)
    payload: str = Field(default="full", max_length=8)
    internal: str = Field(default="", max_length=8)
    syscode: str = Field(default="", max_length=64)
    robot_secret: str = Field(default="", max_length=200)


SubscriptionPosted = Annotated[SubscriptionForm, Form()]


ALL_ROLES = frozenset({"admin", "office", "leader", "unit", "county", "inspector"})
for _item in (
    NavItem("/inbox", "消息中心", ALL_ROLES),
    NavItem("/integration/subscriptions", "事件订阅", frozenset({"admin", "office"})),
    NavItem("/integration/inbound", "OA 公文", frozenset({"admin", "office"})),
    NavItem("/integration/sso", "统一认证", frozenset({"admin"})),
):
    register_nav(_item, group="系统管理" if _item.href != "/inbox" else None)


def _list_page(
    request: Request,
    db: Session,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    new_secret: dict[str, str] | None = None,
    message: tuple[str, str] | None = None,
) -> Response:
    return render(
        request,
        "integration/subscriptions.html",
        {
            "rows": subs.listing(db),
            "adapters": subs.ADAPTERS,
            "payloads": subs.PAYLOADS,
            "form": form or {"adapter": "standard", "payload": "full", "types": "sortline.*"},
            "errors": errors or {},
            "new_secret": new_secret,
            "toast": message,
        },
        block="panel",
    )


@router.get("/subscriptions")
def subscriptions_page(request: Request, _viewer: AdminViewer, db: ReadSessionDep) -> Response:
    return _list_page(request, db)


@router.post("/subscriptions")
def create_subscription_page(request: Request, admin: Admin, db: SessionDep, form: SubscriptionPosted) -> Response:
    # The adapter's settings, the secret among them, are not shown again on the form.
    config = {k: v.strip() for k, v in (("syscode", form.syscode), ("robot_secret", form.robot_secret)) if v.strip()}
    shown = form.model_dump(exclude={"syscode", "robot_secret"})
    types = form.types.replace(",", "\n").splitlines()
    data = subs.SubscriptionInput(form.url, types, form.adapter, form.payload, form.internal == "1", form.name, config)
    try:
        sub, secret = subs.create(db, box_of(request), data, admin)
    except InvalidInput as exc:
        return _list_page(request, db, form=shown, errors=field_errors(exc))
    return _list_page(request, db, new_secret={"name": sub.name, "secret": secret})


def _detail(request: Request, db: Session, sub: Subscription, **extra: Any) -> Response:
    context: dict[str, Any] = {
        "sub": sub,
        "adapters": subs.ADAPTERS,
        "attempts": subs.attempts(db, sub.id or 0, limit=100),
        "backlog": subs.backlog(db, sub.id or 0, limit=100),
        "backlog_count": next((r["backlog"] for r in subs.listing(db) if r["sub"].id == sub.id), 0),
        "errors": {},
    }
    context.update(extra)
    return render(request, "integration/subscription.html", context, block="panel")


@router.get("/subscriptions/{sub_id}")
def subscription_page(request: Request, sub_id: int, _viewer: AdminViewer, db: ReadSessionDep) -> Response:
    return _detail(request, db, subs.get(db, sub_id))


@router.post("/subscriptions/{sub_id}/rotate")
def rotate_page(
    request: Request,
    sub_id: int,
    _admin: Admin,
    db: SessionDep,
    overlap_hours: Annotated[int, Form(ge=0, le=168)] = subs.DEFAULT_OVERLAP_HOURS,
) -> Response:
    sub = subs.get(db, sub_id)
    secret = subs.rotate(db, box_of(request), sub, overlap_hours)
    db.flush()
    return _detail(request, db, sub, new_secret={"name": sub.name, "secret": secret})


@router.post("/subscriptions/{sub_id}/internal")
def internal_page(
    request: Request, sub_id: int, _admin: Admin, db: SessionDep, internal: Annotated[str, Form()] = ""
) -> Response:
    sub = subs.get(db, sub_id)
    subs.set_internal(db, sub, internal == "1")
    db.flush()
    text = "已标记为内部订阅（允许内网地址和重定向）" if sub.internal else "已取消内部标记"
    return _detail(request, db, sub, toast=(text, "success"))


@router.post("/subscriptions/{sub_id}/enable")
def enable_page(request: Request, sub_id: int, _admin: Admin, db: SessionDep) -> Response:
    sub = subs.get(db, sub_id)
    if sub.status == "ended":
        return _detail(request, db, sub, toast=("订阅已结束，不能重新启用", "error"))
    subs.set_status(db, sub, "active")
    db.flush()
    return _detail(request, db, sub, toast=("订阅已启用，积压的事件将继续投递", "success"))


@router.post("/subscriptions/{sub_id}/disable")
def disable_page(request: Request, sub_id: int, admin: Admin, db: SessionDep) -> Response:
    sub = subs.get(db, sub_id)
    subs.set_status(db, sub, "disabled", f"由 {admin.name} 停用")
    db.flush()
    return _detail(request, db, sub, toast=("订阅已停用", "success"))


@router.post("/subscriptions/{sub_id}/end")
def end_page(request: Request, sub_id: int, _admin: Admin, db: SessionDep) -> Response:
    sub = subs.get(db, sub_id)
    dropped = subs.end(db, sub)
    db.flush()
    return _list_page(request, db, message=(f"已结束订阅“{sub.name}”，放弃 {dropped} 条待投递消息", "success"))


class ReplayForm(BaseModel):
    event_id: str = Field(default="", max_length=64)
    since: str = Field(default="", max_length=40)
    until: str = Field(default="", max_length=40)


ReplayPosted = Annotated[ReplayForm, Form()]


def _parse_local(value: str, field: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput.field(field, "时间格式应为 2026-12-01T08:00") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.SHANGHAI)
    return clock.as_utc(parsed)


@router.post("/subscriptions/{sub_id}/replay")
def replay_page(request: Request, sub_id: int, _admin: Admin, db: SessionDep, form: ReplayPosted) -> Response:
    sub = subs.get(db, sub_id)
    try:
        if form.event_id.strip():
            n = replay_ops.replay_event(db, sub, form.event_id.strip())
        else:
            start = _parse_local(form.since, "since")
            if start is None:
                raise InvalidInput.field("since", "请填写事件编号，或开始时间")
            n = replay_ops.replay_range(db, sub, start, _parse_local(form.until, "until"))
    except AppError as exc:
        return _detail(request, db, sub, errors=field_errors(exc))
    db.flush()
    return _detail(request, db, sub, toast=(f"已加入重新投递队列：{n} 条", "success"))
