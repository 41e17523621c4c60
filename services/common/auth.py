"""The gateway's short-lived signed token, and the caller it describes, as services see them.

Format: ``base64url(json payload) "." base64url(HMAC-SHA256(payload))``. The gateway signs; the
services verify with the shared secret and answer 401 to a request without a valid token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Literal

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, Field

from services.common import clock
from services.common.errors import Forbidden, Unauthorized

Role = Literal["admin", "office", "leader", "unit", "county", "inspector"]
ROLES: tuple[Role, ...] = ("admin", "office", "leader", "unit", "county", "inspector")
TOKEN_HEADER = "authorization"
DEFAULT_TOKEN_TTL = 120
# Clocks of the gateway and the services may differ a little: a token may claim this much more life.
TOKEN_CLOCK_SKEW = 30


class Caller(BaseModel):
    """Who is asking: a signed-in user or an API key, with its scope."""

    sub: str = Field(description="user:<id> or key:<id>")
    name: str = ""
    role: Role
    unit_code: str | None = None
    county_code: str | None = None
    team_code: str | None = None
    username: str = Field(default="", description="a signed-in user's login name (empty for an API key)")
    permissions: list[str] = []
    rid: str = ""
    exp: int = 0

    @property
    def is_city_wide(self) -> bool:
        return self.role in {"admin", "office", "leader"}

    def has_permission(self, permission: str) -> bool:
        """API keys carry explicit permissions; users' rights follow from their role."""
        if not self.sub.startswith("key:"):
            return True
        return permission in self.permissions or "*" in self.permissions


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(caller: Caller, secret: str, ttl_seconds: int = DEFAULT_TOKEN_TTL) -> str:
    """Mint a token for ``caller`` that expires in ``ttl_seconds``."""
    payload = caller.model_copy(update={"exp": int(clock.now().timestamp()) + ttl_seconds})
    body = _b64(orjson.dumps(payload.model_dump(exclude_defaults=True) | {"exp": payload.exp}))
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_token(token: str, secret: str, max_ttl_seconds: int = DEFAULT_TOKEN_TTL) -> Caller:
    """The caller inside a valid, unexpired token; ``Unauthorized`` otherwise. A token that claims
    to live longer than ``max_ttl_seconds`` (the configured TTL) plus ``TOKEN_CLOCK_SKEW`` is refused
    too: a leaked or home-made long-lived token must not work for years."""
    try:
        body, mac = token.split(".", 1)
        expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise Unauthorized("服务令牌签名无效")
        caller = Caller.model_validate(orjson.loads(_unb64(body)))
    except Unauthorized:
        raise
    except Exception as exc:  # malformed base64, JSON or fields: all the same to the caller
        raise Unauthorized("服务令牌格式无效") from exc
    now = int(clock.now().timestamp())
    if caller.exp < now:
        raise Unauthorized("服务令牌已过期")
    if caller.exp - now > max_ttl_seconds + TOKEN_CLOCK_SKEW:
        raise Unauthorized(f"服务令牌有效期过长：最长 {max_ttl_seconds} 秒")
    return caller


async def current_caller(request: Request) -> Caller:
    """Dependency: the verified caller of this request (the app keeps the secret in state).

    ``async`` on purpose: it is pure CPU work of a few microseconds, so it must not cost a
    thread-pool hop.
    """
    header = request.headers.get(TOKEN_HEADER, "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("缺少服务令牌")
    settings = request.app.state.settings
    caller = verify_token(token, settings.service_token_secret, settings.service_token_ttl_seconds)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def require_role(caller: Caller, *roles: Role) -> None:
    if caller.role not in roles:
        raise Forbidden()


def require_permission(caller: Caller, permission: str) -> None:
    if not caller.has_permission(permission):
        raise Forbidden(f"此 API 密钥没有“{permission}”权限")
