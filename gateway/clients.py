"""Typed clients of the services, built once in the lifespan over one shared connection pool.

Every call carries the caller's short-lived signed token and the request id; transport failures
become ``ServiceUnavailable`` ("服务暂不可用"), never a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel, ConfigDict

from gateway.config import SERVICES, Settings
from services.common.auth import Caller, sign_token
from services.common.errors import (
    AppError,
    Conflict,
    ErrorDetail,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)

log = logging.getLogger("sortline.gateway.clients")

SERVICE_LABELS = {"registry": "登记", "assessment": "考核评估", "supervision": "督导"}


class ServiceHealth(BaseModel):
    status: str
    service: str = ""


class ServiceClient:
    """Base of the typed clients: one service, reached through a shared connection pool.

    ``call()`` is the one way to ask a service for JSON; ``stream()`` opens a download whose body
    is passed on unread; ``open()`` (the proxy's) sends a request, its body bytes or a stream, and
    returns the answer unread whatever its status.
    """

    name = "service"

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = http
        # Requests go straight to the transport: the client's layers (auth, redirects, cookies,
        # URL merging) cost a tenth of the gateway's time per request and none of them applies
        # between our own processes.
        self.transport: httpx.AsyncBaseTransport = transport or http._transport
        self._timeout = http.timeout.as_dict()
        self.base_url = base_url.rstrip("/")
        self.settings = settings

    @property
    def label(self) -> str:
        return SERVICE_LABELS.get(self.name, self.name)

    def unavailable(self) -> ServiceUnavailable:
        return ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试")

    def auth_headers(self, caller: Caller | None) -> dict[str, str]:
        if caller is None:
            return {}
        token = sign_token(caller, self.settings.service_token_secret, self.settings.service_token_ttl_seconds)
        return {"authorization": f"Bearer {token}", "x-request-id": caller.rid}

    async def open(
        self,
        method: str,
        path: str,
        *,
        caller: Caller | None,
        query: str | bytes = b"",
        content: Body = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request; the answer comes back with its body unread (the caller reads or streams
        it, then ``aclose()``s it). ``path`` starts with "/"; ``content`` may be an async iterator
        of bytes (sent as it comes, chunked unless ``headers`` give a Content-Length)."""
        url = self.base_url + path
        if query:
            url += "?" + (query.decode("latin-1") if isinstance(query, bytes) else query)
        all_headers = dict(headers or {})
        all_headers.update(self.auth_headers(caller))
        try:
            stream = content if isinstance(content, httpx.AsyncByteStream) else None  # sent as it is, no wrapper
            request = httpx.Request(
                method,
                url,
                headers=all_headers,
                content=None if stream is not None else content,
                stream=stream,
                extensions={"timeout": self._timeout},
            )
            resp = await self.transport.handle_async_request(request)
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            log.warning("%s service unreachable: %s %s: %r", self.name, method, path, exc)
            raise self.unavailable() from exc
        resp.request = request
        return resp

    async def read(self, resp: httpx.Response) -> bytes:
        """The whole body of an answer from ``open()``, as sent (not decoded), then closed."""
        try:
            return b"".join([chunk async for chunk in raw_chunks(resp)])
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            log.warning("%s service answer cut off: %r", self.name, exc)
            raise self.unavailable() from exc
        finally:
            await resp.aclose()

    def _prepare(
        self, params: Params | None, json: Any, content: Body, headers: Mapping[str, str] | None
    ) -> tuple[str, Body, dict[str, str]]:
        out = {"accept": "application/json", **(headers or {})}
        if json is not None:
            content = orjson.dumps(json)
            out["content-type"] = "application/json"
        return encode_params(params), content, out

    async def call(
        self,
        method: str,
        path: str,
        *,
        caller: Caller | None,
        params: Params | None = None,
        json: Any = None,
        content: Body = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One call answered with JSON. ``params`` drops ``None`` and ""; ``json`` is sent as the
        body (else ``content``, bytes or an async iterator). A service's error answer is raised as
        the same error here (NotFound, Conflict, InvalidInput, Forbidden, with the service's
        message and details), so a page shows a 422's field messages in place and a 403 as the
        403 page; a 5xx or an unreachable service is ``ServiceUnavailable``."""
        query, body, all_headers = self._prepare(params, json, content, headers)
        resp = await self.open(method, path, caller=caller, query=query, content=body, headers=all_headers)
        data = await self.read(resp)
        if resp.status_code >= 400:
            raise service_error(resp.status_code, data, self.label)
        if not data:
            return None
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            log.warning("%s answered %s %s with something not JSON", self.name, method, path)
            raise self.unavailable() from exc

    async def stream(
        self,
        method: str,
        path: str,
        *,
        caller: Caller | None,
        params: Params | None = None,
        content: Body = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A download: the answer with its body unread, for ``streamed(resp)`` to pass on
        (which closes it). Error answers are read and raised as ``call()`` raises them."""
        resp = await self.open(
            method, path, caller=caller, query=encode_params(params), content=content, headers=headers
        )
        if resp.status_code >= 400:
            raise service_error(resp.status_code, await self.read(resp), self.label)
        return resp

    async def health(self) -> ServiceHealth:
        return ServiceHealth.model_validate(await self.call("GET", "/health", caller=None))


Body = bytes | AsyncIterable[bytes] | None
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
ERROR_CLASSES: dict[int, type[AppError]] = {
    400: InvalidInput,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    415: InvalidInput,
    422: InvalidInput,
}


async def raw_chunks(resp: httpx.Response) -> AsyncIterator[bytes]:
    """The body of an answer as it was sent (compressed stays compressed), chunk by chunk. An
    answer built whole (a test's ``MockTransport``) was read already: its bytes in one piece."""
    if resp.is_stream_consumed:
        yield resp.content
        return
    async for chunk in resp.aiter_raw():
        yield chunk


def encode_params(params: Params | None) -> str:
    """A query string; ``None`` and "" are left out, dates and numbers written as ``str()``."""
    if not params:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    return urlencode([(k, str(v)) for k, v in items if v is not None and v != ""])


def service_error(status: int, body: bytes, label: str) -> AppError:
    """A service's error answer as the gateway's own error, keeping its Chinese message, its
    details and its status (400 and 413 stay what the service said)."""
    if status >= 500:
        return ServiceUnavailable(f"{label}服务暂不可用，请稍后再试")
    message: str | None = None
    code: str | None = None
    details: list[ErrorDetail] = []
    try:
        data = orjson.loads(body)
        if isinstance(data, dict):
            if isinstance(data.get("message"), str):
                message = data["message"] or None
            if isinstance(data.get("error"), str):
                code = data["error"]
            details = [ErrorDetail.model_validate(d) for d in data.get("details") or []]
    except (orjson.JSONDecodeError, ValueError, TypeError):
        pass
    error = ERROR_CLASSES.get(status, AppError)(message, details=details, code=code)
    error.status_code = status
    return error


# --- registry answers the pages read (dashboard, bulk import) --------------------------------


class Rate(BaseModel):
    covered: int = 0
    total: int = 0
    rate: float | None = None


class CoverageBlock(BaseModel):
    residential: Rate = Rate()
    by_kind: dict[str, Rate] = {}


class CountyCoverage(CoverageBlock):
    county_code: str
    county_name: str = ""


class CoverageReport(BaseModel):
    as_of: date
    city: CoverageBlock
    counties: list[CountyCoverage] = []


class CountBlock(BaseModel):
    total: int = 0
    by_category: dict[str, int] = {}
    by_kind: dict[str, int] = {}


class StatsReport(BaseModel):
    county_code: str | None = None
    facilities: CountBlock = CountBlock()
    vehicles: CountBlock = CountBlock()


class Change(BaseModel):
    kind: str
    code: str
    action: str
    actor_name: str | None = None
    at: datetime
    summary: str | None = None


class ImportRowError(BaseModel):
    row: int | None = None
    column: str | None = None
    value: Any = None
    message: str = ""


class ImportJob(BaseModel):
    id: str
    kind: str
    filename: str | None = None
    status: str
    total_rows: int | None = None
    processed_rows: int = 0
    error_count: int = 0
    errors: list[ImportRowError] = []
    created_count: int = 0
    first_code: str | None = None
    last_code: str | None = None
    message: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None


# --- what the registry answers (the gateway's own view of it; services are never imported) ---

RecordKind = Literal["vehicles", "facilities", "sites"]


class Division(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None = None


class Unit(BaseModel):
    code: str
    name: str
    kind: str
    county_code: str | None = None
    contact: str | None = None
    phone: str | None = None
    duties: str | None = None


class Record(BaseModel):
    """A vehicle, facility or site: the shared fields typed, the rest kept as the registry sent them."""

    model_config = ConfigDict(extra="allow")

    code: str
    county_code: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    decommissioned_at: datetime | None = None

    def get(self, name: str) -> Any:
        return getattr(self, name, None)


class RecordPage(BaseModel):
    items: list[Record]
    next_cursor: str | None = None
    total: int | None = None  # asked with count=true
    total_estimated: bool = False


class HistoryEntry(BaseModel):
    id: int
    action: str
    actor_sub: str
    actor_name: str
    at: datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class RegistryMeta(BaseModel):
    """``GET /meta``: the registry's labels in Chinese, by value (see the registry's ``routes/meta.py``)."""

    record_kinds: dict[str, str] = {}
    categories: dict[str, str] = {}
    category_colors: dict[str, str] = {}
    standard_categories: list[str] = []
    vehicle_categories: list[str] = []
    facility_categories: list[str] = []
    energy_types: dict[str, str] = {}
    site_kinds: dict[str, str] = {}
    facility_kinds: dict[str, str] = {}
    statuses: dict[str, str] = {}
    unit_kinds: dict[str, str] = {}
    division_levels: dict[str, str] = {}
    actions: dict[str, str] = {}


class FacilityPoints(BaseModel):
    """``[[code, lat, lng, category, kind, name], ...]``: compact enough for 20,000 markers."""

    items: list[tuple[str, float, float, str, str, str]]
    total: int
    truncated: bool = False


COUNTY_CACHE_SECONDS = 300
META_CACHE_SECONDS = 300


class RegistryClient(ServiceClient):
    """The registry, with what the pages keep for a few minutes per process: the counties (on
    every list page and form; they change only with the administrative map) and the labels of
    ``GET /meta`` (they change only with a release of the registry). Both are fetched lazily with
    the first caller that needs them. The typed calls the pages make are in ``gateway.services``."""

    name = "registry"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counties: tuple[float, list[Division]] | None = None
        self._streets: dict[str, tuple[float, list[Division]]] = {}
        self._meta: tuple[float, RegistryMeta] | None = None
        self._meta_lock = asyncio.Lock()

    async def counties(self, caller: Caller) -> list[Division]:
        now = time.monotonic()
        if self._counties is None or now - self._counties[0] > COUNTY_CACHE_SECONDS:
            self._counties = (now, await self.divisions(caller, level="county"))
        return self._counties[1]

    async def streets(self, caller: Caller, county: str) -> list[Division]:
        """A county's streets (the list pages' street filter), kept like the counties."""
        now = time.monotonic()
        cached = self._streets.get(county)
        if cached is None or now - cached[0] > COUNTY_CACHE_SECONDS:
            cached = (now, await self.divisions(caller, parent=county))
            self._streets[county] = cached
        return cached[1]

    async def divisions(self, caller: Caller, *, parent: str | None = None, level: str | None = None) -> list[Division]:
        out: list[Division] = []
        cursor: str | None = None
        while True:
            data = await self.call(
                "GET", "/divisions", caller=caller, params={"parent": parent, "level": level, "cursor": cursor}
            )
            out += [Division.model_validate(d) for d in data["items"]]
            cursor = data.get("next_cursor")
            if not cursor:
                return out

    async def meta(self, caller: Caller) -> RegistryMeta:
        """The registry's labels (``GET /meta``), cached for ``META_CACHE_SECONDS``."""
        cached = self._meta
        if cached is not None and time.monotonic() - cached[0] <= META_CACHE_SECONDS:
            return cached[1]
        async with self._meta_lock:  # one fetch when a burst of first pages all miss
            cached = self._meta
            if cached is not None and time.monotonic() - cached[0] <= META_CACHE_SECONDS:
                return cached[1]
            meta = RegistryMeta.model_validate(await self.call("GET", "/meta", caller=caller))
            self._meta = (time.monotonic(), meta)
            return meta

    def forget(self) -> None:
        """Drop the cached counties and labels (tests; an admin action could call it)."""
        self._counties = None
        self._streets.clear()
        self._meta = None

    async def openapi(self) -> dict[str, Any]:
        """The registry's OpenAPI document (served without a token)."""
        doc = await self.call("GET", "/openapi.json", caller=None)
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
        shared_transport = AiohttpTransport(limits=limits, trust_env=False)
        self._shared = httpx.AsyncClient(transport=shared_transport, timeout=timeout, trust_env=False)
        self._own: list[httpx.AsyncClient] = [self._shared]
        self.by_name: dict[str, ServiceClient] = {}
        for name in SERVICES:
            http = self._shared
            transport: httpx.AsyncBaseTransport = shared_transport
            base_url = settings.url_of(name)
            if transports and name in transports:  # tests: the service app in-process
                transport = transports[name]
                http = httpx.AsyncClient(transport=transport, timeout=timeout)
                self._own.append(http)
                base_url = f"http://{name}"
            self.by_name[name] = CLIENT_CLASSES[name](http, base_url, settings, transport)

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
