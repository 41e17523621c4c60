"""Typed clients of the services, built once in the lifespan over one shared connection pool.

Every call carries the caller's short-lived signed token and the request id; transport failures
become ``ServiceUnavailable`` ("服务暂不可用"), never a stack trace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import IO, Any, Literal
from urllib.parse import quote, urlencode

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
    """Base of the typed clients: one service, reached through a shared ``httpx.AsyncClient``."""

    name = "service"

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = http
        # The hot path (``send``) hands its request straight to the transport: the client's layers
        # (auth, redirects, cookies, URL merging) cost a tenth of the gateway's time per request
        # and none of them applies between our own processes.
        self.transport = transport
        self._timeout = http.timeout.as_dict()
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
            if self.transport is None:
                return await self.http.request(method, url, content=content, headers=all_headers)
            request = httpx.Request(
                method, url, headers=all_headers, content=content, extensions={"timeout": self._timeout}
            )
            resp = await self.transport.handle_async_request(request)
            resp.request = request
            try:
                await resp.aread()
            finally:
                await resp.aclose()
            return resp
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


ERROR_CLASSES: dict[int, type[AppError]] = {403: Forbidden, 404: NotFound, 409: Conflict, 422: InvalidInput}


def upstream_error(resp: httpx.Response, label: str) -> AppError:
    """A service's error answer as the gateway's own error, keeping its Chinese message."""
    if resp.status_code >= 500:
        return ServiceUnavailable(f"{label}服务暂不可用，请稍后再试")
    message = None
    try:
        body = resp.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"]
    except ValueError:
        pass
    cls = ERROR_CLASSES.get(resp.status_code, InvalidInput if resp.status_code in (400, 413, 415) else AppError)
    err = cls(message)
    err.status_code = resp.status_code  # keep 400/413 as the service said
    return err


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


class HistoryEntry(BaseModel):
    id: int
    action: str
    actor_sub: str
    actor_name: str
    at: datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class FacilityPoints(BaseModel):
    """``[[code, lat, lng, category, kind, name], ...]``: compact enough for 20,000 markers."""

    items: list[tuple[str, float, float, str, str, str]]
    total: int
    truncated: bool = False


def _query(params: Mapping[str, str | int | None]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


COUNTY_CACHE_SECONDS = 300


class RegistryClient(ServiceClient):
    name = "registry"
    _counties: tuple[float, list[Division]] | None = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        caller: Caller,
        params: Mapping[str, str | int | None] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """One registry call; its error answers become the same errors here (with their details),
        so a page can show a 422's field messages in place and a 403 as the 403 page."""
        content = orjson.dumps(body) if body is not None else None
        headers = {"accept": "application/json"}
        if content is not None:
            headers["content-type"] = "application/json"
        resp = await self.send(
            method, path, caller=caller, query=_query(params or {}), content=content, headers=headers
        )
        if resp.status_code >= 500:
            raise ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试")
        if resp.status_code >= 400:
            try:
                data = resp.json()
                message = str(data.get("message") or "")
                details = [ErrorDetail.model_validate(d) for d in data.get("details") or []]
            except (ValueError, AttributeError):
                message, details = "", []
            error = ERROR_CLASSES.get(resp.status_code, AppError)(message or None, details=details)
            error.status_code = resp.status_code
            raise error
        return orjson.loads(resp.content)

    async def counties(self, caller: Caller) -> list[Division]:
        """The city's counties: on every list page and form, and they change only with the
        administrative map, so they are kept for a few minutes (per process)."""
        now = time.monotonic()
        if self._counties is None or now - self._counties[0] > COUNTY_CACHE_SECONDS:
            self._counties = (now, await self.divisions(caller, level="county"))
        return self._counties[1]

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

    async def units(self, caller: Caller) -> list[Unit]:
        data = await self.call("GET", "/units", caller=caller)
        return [Unit.model_validate(d) for d in data["items"]]

    async def unit(self, caller: Caller, code: str) -> Unit:
        return Unit.model_validate(await self.call("GET", f"/units/{_seg(code)}", caller=caller))

    async def records(self, caller: Caller, kind: RecordKind, params: Mapping[str, str | int | None]) -> RecordPage:
        return RecordPage.model_validate(await self.call("GET", f"/{kind}", caller=caller, params=params))

    async def record(self, caller: Caller, kind: RecordKind, code: str) -> Record:
        return Record.model_validate(await self.call("GET", f"/{kind}/{_seg(code)}", caller=caller))

    async def history(self, caller: Caller, kind: RecordKind, code: str) -> list[HistoryEntry]:
        out: list[HistoryEntry] = []
        cursor: str | None = None
        while True:
            data = await self.call(
                "GET", f"/{kind}/{_seg(code)}/history", caller=caller, params={"cursor": cursor, "limit": 500}
            )
            out += [HistoryEntry.model_validate(d) for d in data["items"]]
            cursor = data.get("next_cursor")
            if not cursor:
                return out

    async def create(self, caller: Caller, kind: RecordKind, body: Mapping[str, Any]) -> Record:
        return Record.model_validate(await self.call("POST", f"/{kind}", caller=caller, body=body))

    async def update(self, caller: Caller, kind: RecordKind, code: str, body: Mapping[str, Any]) -> Record:
        return Record.model_validate(await self.call("PATCH", f"/{kind}/{_seg(code)}", caller=caller, body=body))

    async def decommission(self, caller: Caller, kind: RecordKind, code: str, reason: str | None) -> Record:
        body = {"reason": reason} if reason else {}
        return Record.model_validate(
            await self.call("POST", f"/{kind}/{_seg(code)}/decommission", caller=caller, body=body)
        )

    async def facility_points(self, caller: Caller, params: Mapping[str, str | int | None]) -> FacilityPoints:
        """The map's compact points (``GET /facilities/points``), scoped by the registry."""
        return FacilityPoints.model_validate(await self.call("GET", "/facilities/points", caller=caller, params=params))

    async def _json(self, method: str, path: str, caller: Caller, params: Mapping[str, object] | None = None) -> Any:
        query = urlencode({k: v for k, v in (params or {}).items() if v not in (None, "")})
        resp = await self.send(method, path, caller=caller, query=query, headers={"accept": "application/json"})
        if resp.status_code >= 400:
            raise upstream_error(resp, self.label)
        return resp.json()

    async def coverage(self, caller: Caller, *, county: str | None = None, as_of: date | None = None) -> CoverageReport:
        body = await self._json("GET", "/coverage", caller, {"county": county, "as_of": as_of})
        return CoverageReport.model_validate(body)

    async def stats(self, caller: Caller, *, county: str | None = None) -> StatsReport:
        return StatsReport.model_validate(await self._json("GET", "/stats", caller, {"county": county}))

    async def changes(self, caller: Caller, *, since: datetime, limit: int = 20) -> list[Change]:
        body = await self._json("GET", "/changes", caller, {"since": since.isoformat(), "limit": limit})
        return [Change.model_validate(item) for item in body.get("items", [])]

    async def import_jobs(self, caller: Caller, *, kind: str | None = None, limit: int = 20) -> list[ImportJob]:
        body = await self._json("GET", "/imports", caller, {"kind": kind, "limit": limit})
        return [ImportJob.model_validate(item) for item in body.get("items", [])]

    async def import_job(self, caller: Caller, job_id: str) -> ImportJob:
        return ImportJob.model_validate(await self._json("GET", f"/imports/{job_id}", caller))

    async def confirm_import(self, caller: Caller, job_id: str) -> ImportJob:
        return ImportJob.model_validate(await self._json("POST", f"/imports/{job_id}/confirm", caller))

    async def start_import(
        self, caller: Caller, *, kind: str, filename: str, file: IO[bytes], content_type: str | None
    ) -> ImportJob:
        """Send an uploaded file on to ``POST /imports`` as multipart, read from ``file`` in chunks."""
        url = f"{self.base_url}/imports?{urlencode({'kind': kind})}"
        files = {"file": (filename, file, content_type or "application/octet-stream")}
        headers = {"accept": "application/json", **self.auth_headers(caller)}
        try:
            resp = await self.http.post(url, files=files, headers=headers)
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            log.warning("registry service unreachable: POST /imports: %r", exc)
            raise ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试") from exc
        if resp.status_code >= 400:
            raise upstream_error(resp, self.label)
        return ImportJob.model_validate(resp.json())

    async def open_stream(self, caller: Caller, path: str, query: str = "") -> httpx.Response:
        """A GET whose body is not read yet (a file to pass on); the caller closes it.
        Error answers are read and raised as the gateway's errors."""
        url = self.base_url + path + (f"?{query}" if query else "")
        request = self.http.build_request("GET", url, headers=self.auth_headers(caller))
        try:
            resp = await self.http.send(request, stream=True)
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
            log.warning("registry service unreachable: GET %s: %r", path, exc)
            raise ServiceUnavailable(f"{self.label}服务暂不可用，请稍后再试") from exc
        if resp.status_code >= 400:
            await resp.aread()
            await resp.aclose()
            raise upstream_error(resp, self.label)
        return resp

    async def openapi(self) -> dict[str, Any]:
        """The registry's OpenAPI document (served without a token)."""
        doc = await self.get_json("/openapi.json", caller=None)
        if not isinstance(doc, dict):
            raise ServiceUnavailable("登记服务返回的接口文档无效")
        return doc


def _seg(code: str) -> str:
    """A code as one path segment (codes come from URLs people can edit)."""
    return quote(code, safe="")


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
