"""Subscriptions: validation, creation (the secret shown once), rotation with an overlap, ending,
the internal mark, and the queries behind the delivery log and the backlog page."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from gateway.integration import subscription_repository
from gateway.integration.crypto import SecretBox, new_secret
from gateway.integration.models import Delivery, DeliveryAttempt, FeedEvent, Subscription, fields_of
from gateway.security import Principal
from services.common import clock
from services.common.errors import Forbidden, InvalidInput, NotFound

ADAPTERS = {
    "standard": "标准（CloudEvents 1.0，Standard Webhooks 签名）",
    "weaver-ofs": "泛微 e-cology 统一待办",
    "dingtalk-robot": "钉钉群机器人",
    "wecom-robot": "企业微信群机器人",
}
PAYLOADS = {"full": "完整（CloudEvents 正文）", "thin": "精简（编号和链接）"}
INBOX_URL = "inbox:"  # the built-in subscriber that fills the in-app inbox
_TYPE_PATTERN = re.compile(r"^[a-z0-9*][a-z0-9._*-]{0,127}$")
DEFAULT_OVERLAP_HOURS = 24


def type_matches(pattern: str, event_type: str) -> bool:
    """``*`` matches any run of characters: ``sortline.registry.*``, ``*.issued``, ``*``."""
    if "*" not in pattern:
        return pattern == event_type
    return _wildcard(pattern).match(event_type) is not None


@functools.lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def matches_any(patterns: list[str], event_type: str) -> bool:
    return any(type_matches(p, event_type) for p in patterns)


@dataclass
class SubscriptionInput:
    url: str
    types: list[str]
    adapter: str = "standard"
    payload: str = "full"
    internal: bool = False
    name: str = ""
    config: dict[str, Any] | None = None


def validate(data: SubscriptionInput) -> SubscriptionInput:
    url = data.url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput.field("url", "请填写以 http:// 或 https:// 开头的完整地址")
    if len(url) > 1000:
        raise InvalidInput.field("url", "地址最多 1000 个字符")
    if parts.username or parts.password:
        raise InvalidInput.field("url", "地址中不能包含用户名或密码")
    types = [t.strip() for t in data.types if t.strip()]
    if not types:
        raise InvalidInput.field("types", "至少填写一个事件类型，如 sortline.registry.*")
    bad = [t for t in types if not _TYPE_PATTERN.match(t)]
    if bad:
        raise InvalidInput.field("types", f"事件类型格式不正确：{'、'.join(bad)}（只能包含小写字母、数字、. - 和 *）")
    if data.adapter not in ADAPTERS:
        raise InvalidInput.field("adapter", f"适配器应为 {'、'.join(ADAPTERS)} 之一")
    if data.payload not in PAYLOADS:
        raise InvalidInput.field("payload", "消息内容应为 full（完整）或 thin（精简）")
    config = dict(data.config or {})
    if data.adapter == "weaver-ofs" and not str(config.get("syscode", "")).strip():
        config["syscode"] = "sortline"
    return SubscriptionInput(
        url=url,
        types=list(dict.fromkeys(types)),
        adapter=data.adapter,
        payload=data.payload,
        internal=data.internal,
        name=data.name.strip()[:100],
        config=config,
    )


def create(db: Session, box: SecretBox, data: SubscriptionInput, by: Principal) -> tuple[Subscription, str]:
    """A new subscription and its secret (returned once, stored encrypted). Only an admin marks a
    subscription internal; an office key's request for it waits for an admin (``internal_requested``)."""
    data = validate(data)
    config = dict(data.config or {})
    internal = data.internal
    if internal and by.role != "admin":
        internal = False
        config["internal_requested"] = True
    secret = new_secret()
    sub = Subscription(
        name=data.name or (urlsplit(data.url).hostname or "")[:100],
        url=data.url,
        types=data.types,
        adapter=data.adapter,
        payload=data.payload,
        internal=internal,
        config=config,
        secret_enc=box.encrypt(secret),
        owner_user_id=by.id if by.kind == "user" else None,
        owner_key_id=by.id if by.kind == "key" else None,
        created_by=(by.username or by.name or by.sub)[:64],
        created_at=clock.now(),
    )
    db.add(sub)
    db.flush()
    return sub, secret


def get(db: Session, sub_id: int, by: Principal | None = None) -> Subscription:
    sub = subscription_repository.subscription_by_id(db, sub_id)
    if sub is None or sub.url == INBOX_URL:
        raise NotFound("订阅不存在", details=[])
    if by is not None:
        check_access(sub, by)
    return sub


def check_access(sub: Subscription, by: Principal) -> None:
    """Admins and office users see every subscription; a key sees the ones it made."""
    if by.kind == "user" and by.role in {"admin", "office"}:
        return
    if by.kind == "key" and by.role == "office" and sub.owner_key_id == by.id:
        return
    raise Forbidden("无权访问此订阅")


def require_manager(by: Principal) -> None:
    if by.kind == "key":
        if by.role != "office":
            raise Forbidden("只有分类办（全市）API 密钥可以管理订阅")
        return
    if by.role != "admin":
        raise Forbidden("只有系统管理员可以管理订阅")


def require_viewer(by: Principal) -> None:
    if by.kind == "key":
        require_manager(by)
    elif by.role not in {"admin", "office"}:
        raise Forbidden("只有系统管理员和分类办可以查看订阅")


def rotate(db: Session, box: SecretBox, sub: Subscription, overlap_hours: int = DEFAULT_OVERLAP_HOURS) -> str:
    """A new secret; the old one keeps signing (both signatures sent) for ``overlap_hours``."""
    if not 0 <= overlap_hours <= 24 * 7:
        raise InvalidInput.field("overlap_hours", "过渡期应在 0 到 168 小时之间")
    secret = new_secret()
    if overlap_hours:
        sub.old_secret_enc = sub.secret_enc
        sub.old_secret_until = clock.now() + timedelta(hours=overlap_hours)
    else:
        sub.old_secret_enc = None
        sub.old_secret_until = None
    sub.secret_enc = box.encrypt(secret)
    db.add(sub)
    return secret


def signing_secrets(box: SecretBox, sub: Subscription, now: datetime) -> list[str]:
    out = [box.decrypt(sub.secret_enc)]
    if sub.old_secret_enc and sub.old_secret_until and clock.as_utc(sub.old_secret_until) > now:
        out.append(box.decrypt(sub.old_secret_enc))
    return out


def end(db: Session, sub: Subscription) -> int:
    """End a subscription: no more deliveries; pending ones are dropped. Returns how many."""
    sub.status = "ended"
    sub.status_reason = "已删除"
    db.add(sub)
    return subscription_repository.drop_queued_deliveries(db, sub.id)


def set_status(db: Session, sub: Subscription, status: str, reason: str = "") -> None:
    sub.status = status
    sub.status_reason = reason[:255]
    if status == "active":
        sub.failing_since = None
        sub.warned_at = None
    db.add(sub)


def set_internal(db: Session, sub: Subscription, internal: bool) -> None:
    sub.internal = internal
    config = dict(sub.config)
    config.pop("internal_requested", None)
    sub.config = config
    db.add(sub)


def listing(db: Session) -> list[dict[str, Any]]:
    """Subscriptions with their backlog (pending deliveries) and the oldest pending one's age."""
    subs = subscription_repository.subscriptions_newest_first(db, except_url=INBOX_URL)
    counts = subscription_repository.queued_by_subscription(db)
    return [
        {"sub": s, "backlog": counts.get(s.id, (0, None))[0], "oldest": counts.get(s.id, (0, None))[1]} for s in subs
    ]


def public(sub: Subscription) -> dict[str, Any]:
    return {
        **fields_of(sub, "id name url types adapter payload internal"),
        "internal_pending": bool(sub.config.get("internal_requested")),
        "status": sub.status,
        "status_reason": sub.status_reason,
        "created_at": clock.as_utc(sub.created_at).isoformat(),
        "secret_rotation_until": clock.as_utc(sub.old_secret_until).isoformat() if sub.old_secret_until else None,
    }


def attempts(db: Session, sub_id: int, limit: int = 100, before: int | None = None) -> list[DeliveryAttempt]:
    return subscription_repository.attempts_newest_first(db, sub_id, limit, before)


def attempt_public(a: DeliveryAttempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "event_id": a.event_id,
        "attempt": a.attempt,
        "at": clock.as_utc(a.at).isoformat(),
        "status_code": a.status_code,
        "duration_ms": a.duration_ms,
        "error": a.error,
        "response_excerpt": a.response_excerpt,
    }


def backlog(db: Session, sub_id: int, limit: int = 100) -> list[tuple[Delivery, FeedEvent]]:
    return subscription_repository.unfinished_deliveries(db, sub_id, limit)
