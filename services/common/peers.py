"""Service -> service calls over HTTP, signed like the gateway's.

    peer = PeerClient(settings, "registry")              # SORTLINE_REGISTRY_URL, else 127.0.0.1:<port>
    units = peer.get_json("/units", params={"limit": 100})  # a system caller (role office), or `caller=`
    peer.call("PUT", "/calendar/2027-01-01", json={...}, caller=some_caller)

Sync ``httpx`` (services call peers from sync routes and job threads). Each request carries a fresh
token signed with ``settings.service_token_secret``: the caller handed in (forwarding the user a
request came from), else the service itself as ``system:<service>`` with role ``office`` (city-wide
reads). Errors answered by the peer are raised again as the kernel's ``AppError`` of that status
(message and details kept); a peer that cannot be reached or answers 5xx is ``ServiceUnavailable``.
Tests hand a transport: ``PeerClient(settings, "registry", transport=TestClient(app)._transport)`` or
``httpx.MockTransport(handler)``.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.common.auth import Caller, sign_token
from services.common.config import CommonSettings, service_url
from services.common.errors import (
    AppError,
    Conflict,
    ErrorDetail,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)

LABELS = {"registry": "基础台账", "assessment": "考核评估", "supervision": "督导检查", "gateway": "门户"}
_BY_STATUS: dict[int, type[AppError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
}


class PeerClient:
    """Calls one peer service; one connection pool per client (make one per process and reuse it)."""

    def __init__(
        self,
        settings: CommonSettings,
        name: str,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.name = name
        self.label = LABELS.get(name, name)
        self.base_url = (base_url or service_url(name)).rstrip("/")
        self.system = Caller(sub=f"system:{settings.service_name()}", name="系统", role="office")
        self._client = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout)

    def _headers(self, caller: Caller | None) -> dict[str, str]:
        token = sign_token(caller or self.system, self.settings.service_token_secret,
                           ttl_seconds=self.settings.service_token_ttl_seconds)  # fmt: skip
        return {"Authorization": f"Bearer {token}"}

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        caller: Caller | None = None,
    ) -> Any:
        """Send one request; the JSON answer (None for an empty body)."""
        try:
            response = self._client.request(method, path, params=params, json=json, headers=self._headers(caller))
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试")
        if response.status_code >= 400:
            raise self._error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceUnavailable(f"{self.label}服务返回的数据无效") from exc

    def get_json(self, path: str, params: dict[str, Any] | None = None, caller: Caller | None = None) -> Any:
        return self.call("GET", path, params=params, caller=caller)

    def _error(self, response: httpx.Response) -> AppError:
        try:
            body = response.json()
            message = str(body.get("message") or "")
            details = [ErrorDetail.model_validate(d) for d in body.get("details") or []]
            code = body.get("error")
        except (ValueError, AttributeError, TypeError):
            message, details, code = "", [], None
        cls = _BY_STATUS.get(response.status_code, AppError)
        error = cls(message or None, details=details, code=code if isinstance(code, str) else None)
        if cls is AppError:
            error.status_code = response.status_code
        return error

    def close(self) -> None:
        self._client.close()
