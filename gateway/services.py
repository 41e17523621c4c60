"""The services as a page sees them: clients bound to the signed-in caller.

A page route takes ``services: ServicesDep`` (``gateway.deps``) and calls
``await services.registry.call("GET", "/units")`` or a typed call such as
``await services.registry.records("vehicles", params)``: the caller's signed token and the
request id go with every call without the route naming them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from functools import cached_property
from typing import IO, Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from gateway.clients import (
    AssessmentClient,
    Body,
    Change,
    CoverageReport,
    Division,
    FacilityPoints,
    HistoryEntry,
    ImportJob,
    Params,
    Record,
    RecordKind,
    RecordPage,
    RegistryClient,
    RegistryMeta,
    ServiceClient,
    ServiceClients,
    StatsReport,
    SupervisionClient,
    Unit,
)
from services.common.auth import Caller

C = TypeVar("C", bound=ServiceClient)


class BoundClient(Generic[C]):
    """One service's client with the caller filled in."""

    def __init__(self, client: C, caller: Caller) -> None:
        self.client = client
        self.caller = caller

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        content: Body = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """``ServiceClient.call`` as this caller."""
        return await self.client.call(
            method, path, caller=self.caller, params=params, json=json, content=content, headers=headers
        )

    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        content: Body = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``ServiceClient.stream`` as this caller (pass the answer on with ``gateway.proxy.streamed``)."""
        return await self.client.stream(
            method, path, caller=self.caller, params=params, content=content, headers=headers
        )


def _seg(code: str) -> str:
    """A code as one path segment (codes come from URLs people can edit)."""
    return quote(code, safe="")


class BoundRegistry(BoundClient[RegistryClient]):
    """The registry calls the pages make, typed."""

    async def meta(self) -> RegistryMeta:
        return await self.client.meta(self.caller)

    async def counties(self) -> list[Division]:
        return await self.client.counties(self.caller)

    async def divisions(self, *, parent: str | None = None, level: str | None = None) -> list[Division]:
        return await self.client.divisions(self.caller, parent=parent, level=level)

    async def streets(self, county: str) -> list[Division]:
        """A county's streets, cached for a few minutes like the counties."""
        return await self.client.streets(self.caller, county)

    async def units(self) -> list[Unit]:
        data = await self.call("GET", "/units")
        return [Unit.model_validate(d) for d in data["items"]]

    async def unit(self, code: str) -> Unit:
        return Unit.model_validate(await self.call("GET", f"/units/{_seg(code)}"))

    async def records(self, kind: RecordKind, params: Params) -> RecordPage:
        return RecordPage.model_validate(await self.call("GET", f"/{kind}", params=params))

    async def record(self, kind: RecordKind, code: str) -> Record:
        return Record.model_validate(await self.call("GET", f"/{kind}/{_seg(code)}"))

    async def history(self, kind: RecordKind, code: str) -> list[HistoryEntry]:
        out: list[HistoryEntry] = []
        cursor: str | None = None
        while True:
            data = await self.call("GET", f"/{kind}/{_seg(code)}/history", params={"cursor": cursor, "limit": 500})
            out += [HistoryEntry.model_validate(d) for d in data["items"]]
            cursor = data.get("next_cursor")
            if not cursor:
                return out

    async def create(self, kind: RecordKind, body: Mapping[str, Any]) -> Record:
        return Record.model_validate(await self.call("POST", f"/{kind}", json=body))

    async def update(self, kind: RecordKind, code: str, body: Mapping[str, Any]) -> Record:
        return Record.model_validate(await self.call("PATCH", f"/{kind}/{_seg(code)}", json=body))

    async def decommission(self, kind: RecordKind, code: str, reason: str | None) -> Record:
        body = {"reason": reason} if reason else {}
        return Record.model_validate(await self.call("POST", f"/{kind}/{_seg(code)}/decommission", json=body))

    async def facility_points(self, params: Params) -> FacilityPoints:
        """The map's compact points (``GET /facilities/points``), scoped by the registry."""
        return FacilityPoints.model_validate(await self.call("GET", "/facilities/points", params=params))

    async def coverage(self, *, county: str | None = None, as_of: date | None = None) -> CoverageReport:
        return CoverageReport.model_validate(
            await self.call("GET", "/coverage", params={"county": county, "as_of": as_of})
        )

    async def stats(self, *, county: str | None = None) -> StatsReport:
        return StatsReport.model_validate(await self.call("GET", "/stats", params={"county": county}))

    async def changes(self, *, since: datetime, limit: int = 20) -> list[Change]:
        body = await self.call("GET", "/changes", params={"since": since.isoformat(), "limit": limit})
        return [Change.model_validate(item) for item in body.get("items", [])]

    async def import_jobs(self, *, kind: str | None = None, limit: int = 20) -> list[ImportJob]:
        body = await self.call("GET", "/imports", params={"kind": kind, "limit": limit})
        return [ImportJob.model_validate(item) for item in body.get("items", [])]

    async def import_job(self, job_id: str) -> ImportJob:
        return ImportJob.model_validate(await self.call("GET", f"/imports/{_seg(job_id)}"))

    async def confirm_import(self, job_id: str) -> ImportJob:
        return ImportJob.model_validate(await self.call("POST", f"/imports/{_seg(job_id)}/confirm"))

    async def start_import(self, *, kind: str, filename: str, file: IO[bytes], content_type: str | None) -> ImportJob:
        """Send an uploaded file on to ``POST /imports`` as multipart, read from ``file`` in chunks."""
        files = {"file": (filename, file, content_type or "application/octet-stream")}
        # httpx writes the multipart body (a stream over ``file``) and its headers; call() sends it.
        encoded = httpx.Request("POST", "http://registry/imports", files=files)
        headers = {k: v for k, v in encoded.headers.items() if k in ("content-type", "content-length")}
        stream = encoded.stream
        assert isinstance(stream, httpx.AsyncByteStream)

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in stream:
                yield chunk

        body = await self.call("POST", "/imports", params={"kind": kind}, content=chunks(), headers=headers)
        return ImportJob.model_validate(body)


class Services:
    """Every service bound to one caller: ``services.registry``, ``.assessment``, ``.supervision``,
    or ``services.bound("<name>")``."""

    def __init__(self, clients: ServiceClients, caller: Caller) -> None:
        self.clients = clients
        self.caller = caller

    def bound(self, name: str) -> BoundClient[ServiceClient]:
        return BoundClient(self.clients.by_name[name], self.caller)

    @cached_property
    def registry(self) -> BoundRegistry:
        return BoundRegistry(self.clients.registry, self.caller)

    @cached_property
    def assessment(self) -> BoundClient[AssessmentClient]:
        return BoundClient(self.clients.assessment, self.caller)

    @cached_property
    def supervision(self) -> BoundClient[SupervisionClient]:
        return BoundClient(self.clients.supervision, self.caller)
