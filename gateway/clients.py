"""Typed clients of the services, built once in the lifespan over one shared connection pool.

Every call carries the caller's short-lived signed token and the request id; transport failures
become ``ServiceUnavailable`` ("服务暂不可用"), never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel

from gateway.config import SERVICES, Settings
from services.common.auth import Caller, sign_token
from services.common.errors import ServiceUnavailable

log = logging.getLogger("sortline.gateway.clients")

SERVICE_LABELS = {"registry": "登记", "assessment": "考核评估", "supervision": "督导"}


class ServiceHealth(BaseModel):
    status: str
    service: str = ""


class ServiceClient:
    """Base of the typed clients: one service, reached through a shared ``httpx.AsyncClient``."""

    name = "service"

    def __init__(self, http: httpx.AsyncClient, base_url: str, settings: Settings) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.settings = settings

    @property
    def label(self) -> str:
        return SERVICE_LABELS.get(self.name, self.name)

    def auth_headers(self, caller: Caller | None) -> dict[str, str]:
        if caller is None:
            return {}
        token = sign_token(caller, self.settings.service_token_secret, self.settings.service_token_ttl_seconds)
        return {"authorization": f"Bearer {token}", "x-request-id": caller.rid}

    async def send(
        self,
        method: str,
        path: str,
        *,
        caller: Caller | None,
        query: str | bytes = b"",
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request and read the whole answer. ``path`` starts with "/"."""
        url = self.base_url + path
        if query:
            url += "?" + (query.decode("latin-1") if isinstance(query, bytes) else query)
        all_headers = dict(headers or {})
        all_headers.update(self.auth_headers(caller))
        try:
            return await self.http.request(method, url, content=content, headers=all_headers)
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            log.warning("%s service unreachable: %s %s: %r", self.name, method, path, exc)
            raise ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试") from exc

    async def get_json(self, path: str, *, caller: Caller | None) -> Any:
        resp = await self.send("GET", path, caller=caller, headers={"accept": "application/json"})
        if resp.status_code >= 500:
            raise ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试")
        resp.raise_for_status()
        return resp.json()

    async def health(self) -> ServiceHealth:
        return ServiceHealth.model_validate(await self.get_json("/health", caller=None))


class RegistryClient(ServiceClient):
    name = "registry"

    async def openapi(self) -> dict[str, Any]:
        """The registry's OpenAPI document (served without a token)."""
        doc = await self.get_json("/openapi.json", caller=None)
        if not isinstance(doc, dict):
            raise ServiceUnavailable("登记服务返回的接口文档无效")
        return doc


class AssessmentClient(ServiceClient):
    name = "assessment"


class SupervisionClient(ServiceClient):
    name = "supervision"


CLIENT_CLASSES: dict[str, type[ServiceClient]] = {
    "registry": RegistryClient,
    "assessment": AssessmentClient,
    "supervision": SupervisionClient,
}


class ServiceClients:
    """All service clients; ``close()`` in the lifespan's end."""

    def __init__(self, settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None):
        timeout = httpx.Timeout(
            connect=settings.upstream_connect_timeout,
            read=settings.upstream_read_timeout,
            write=settings.upstream_read_timeout,
            pool=settings.upstream_pool_timeout,
        )
        limits = httpx.Limits(
            max_connections=settings.upstream_pool_size,
            max_keepalive_connections=settings.upstream_pool_size,
            keepalive_expiry=30,
        )
        # aiohttp under httpx: a default httpx AsyncClient tops out around 590 req/s here.
        # trust_env=False: calls between our own processes never go through an HTTP proxy.
        self._shared = httpx.AsyncClient(
            transport=AiohttpTransport(limits=limits, trust_env=False),
            timeout=timeout,
            trust_env=False,
        )
        self._own: list[httpx.AsyncClient] = [self._shared]
        self.by_name: dict[str, ServiceClient] = {}
        for name in SERVICES:
            http = self._shared
            base_url = settings.url_of(name)
            if transports and name in transports:  # tests: the service app in-process
                http = httpx.AsyncClient(transport=transports[name], timeout=timeout)
                self._own.append(http)
                base_url = f"http://{name}"
            self.by_name[name] = CLIENT_CLASSES[name](http, base_url, settings)

    @property
    def registry(self) -> RegistryClient:
        client = self.by_name["registry"]
        assert isinstance(client, RegistryClient)
        return client

    @property
    def assessment(self) -> AssessmentClient:
        client = self.by_name["assessment"]
        assert isinstance(client, AssessmentClient)
        return client

    @property
    def supervision(self) -> SupervisionClient:
        client = self.by_name["supervision"]
        assert isinstance(client, SupervisionClient)
        return client

    async def close(self) -> None:
        for http in self._own:
            await http.aclose()
