"""The JSON API for the OA team's scripts: ``/api/v1/integration/subscriptions`` (an office API key or
an admin session), their delivery log, secret rotation, replay; these routes sit before the proxy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.responses import Response

from gateway.deps import ApiCaller
from gateway.integration import replay as replay_ops
from gateway.integration import subscriptions as subs
from gateway.integration.crypto import SecretBox
from gateway.integration.models import Subscription
from gateway.security import Principal
from services.common.db import ReadSessionDep, SessionDep
from services.common.errors import InvalidInput

router = APIRouter(prefix="/api/v1/integration", tags=["integration"])


def box_of(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.integration_box
    return box


class SubscriptionCreate(BaseModel):
    url: str = Field(max_length=1000, description="接收地址")
    types: list[str] = Field(min_length=1, max_length=50, description="事件类型，可用 * 通配")
    adapter: str = "standard"
    payload: str = "full"
    internal: bool = False
    name: str = Field(default="", max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)


class RotateIn(BaseModel):
    overlap_hours: int = Field(default=subs.DEFAULT_OVERLAP_HOURS, ge=0, le=168)


class ReplayIn(BaseModel):
    event_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _visible(db: Session, principal: Principal) -> list[Subscription]:
    rows = [r["sub"] for r in subs.listing(db)]
    if principal.kind == "key":
        return [s for s in rows if s.owner_key_id == principal.id]
    return rows


def _manager_sub(db: Session, sub_id: int, principal: Principal) -> Subscription:
    subs.require_manager(principal)
    return subs.get(db, sub_id, principal)


@router.post("/subscriptions", status_code=201, summary="新建事件订阅（密钥只返回这一次）")
def create_subscription(
    request: Request, body: SubscriptionCreate, principal: ApiCaller, db: SessionDep
) -> dict[str, Any]:
    subs.require_manager(principal)
    sub, secret = subs.create(
        db,
        box_of(request),
        subs.SubscriptionInput(**body.model_dump()),
        principal,
    )
    return {**subs.public(sub), "secret": secret}


@router.get("/subscriptions", summary="事件订阅列表")
def list_subscriptions(principal: ApiCaller, db: ReadSessionDep) -> dict[str, Any]:
    subs.require_viewer(principal)
    return {"items": [subs.public(s) for s in _visible(db, principal)]}


@router.get("/subscriptions/{sub_id}", summary="一个事件订阅")
def get_subscription(sub_id: int, principal: ApiCaller, db: ReadSessionDep) -> dict[str, Any]:
    return subs.public(subs.get(db, sub_id, principal))


@router.get("/subscriptions/{sub_id}/deliveries", summary="投递记录（每次尝试一行，新的在前）")
def list_deliveries(
    sub_id: int,
    principal: ApiCaller,
    db: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, description="上一页最后一行的 id")] = None,
) -> dict[str, Any]:
    subs.get(db, sub_id, principal)
    rows = subs.attempts(db, sub_id, limit=limit, before=before)
    return {
        "items": [subs.attempt_public(a) for a in rows],
        "next_before": rows[-1].id if len(rows) == limit else None,
    }


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="结束订阅")
def delete_subscription(sub_id: int, principal: ApiCaller, db: SessionDep) -> Response:
    sub = _manager_sub(db, sub_id, principal)
    subs.end(db, sub)
    return Response(status_code=204)


@router.post("/subscriptions/{sub_id}/rotate-secret", summary="更换签名密钥（过渡期内新旧密钥同时签名）")
def rotate_secret(
    request: Request, sub_id: int, body: RotateIn, principal: ApiCaller, db: SessionDep
) -> dict[str, Any]:
    sub = _manager_sub(db, sub_id, principal)
    secret = subs.rotate(db, box_of(request), sub, body.overlap_hours)
    return {**subs.public(sub), "secret": secret}


@router.post("/subscriptions/{sub_id}/replay", status_code=202, summary="重新投递一个事件或一个时间段的事件")
def replay(sub_id: int, body: ReplayIn, principal: ApiCaller, db: SessionDep) -> dict[str, Any]:
    sub = _manager_sub(db, sub_id, principal)
    if body.event_id:
        return {"queued": replay_ops.replay_event(db, sub, body.event_id)}
    if body.since is None:
        raise InvalidInput.field("since", "请填写 event_id，或 since（可选 until）时间段")
    return {"queued": replay_ops.replay_range(db, sub, body.since, body.until)}
