"""The routes every record kind (sites, facilities, vehicles) has in the same shape: register, look
up, change, upsert by the county's own id, decommission, history, and the list. Each kind's module calls
``add_record_routes`` with its schemas and examples and ``add_list_route`` with its own list filters.

No ``from __future__ import annotations`` here: FastAPI reads the parameter annotations, and the
schemas are this factory's arguments, so they must be real objects, not strings.
"""

import inspect
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel
from sqlmodel import Session
from starlette.responses import Response

from services.common.auth import Caller, CallerDep
from services.common.db import ReadSessionDep, SessionDep, run_read
from services.common.idempotency import IdempotentWriteDep, Written
from services.common.responses import JSONBody
from services.registry import service
from services.registry.bulk import service as bulk_service
from services.registry.config import SettingsDep
from services.registry.errors import READ_ERRORS, WRITE_ERRORS
from services.registry.routes.params import (
    CountQuery,
    CountyQuery,
    CursorQuery,
    ImportJobQuery,
    LimitQuery,
    NameSearch,
    RecordSort,
    StatusQuery,
)
from services.registry.schemas import DecommissionRequest, HistoryPage

Examples = dict[str, dict[str, Any]]
ListFilter = tuple[str, Any, str]  # (query parameter, its annotation, the column it filters)


def add_list_route(
    router: APIRouter,
    *,
    kind: service.RecordKind,
    plural: str,
    page: type[BaseModel],
    summary: str,
    filters: Sequence[ListFilter],
    search: Any = NameSearch,
    sort: Any = RecordSort,
) -> None:
    """Add ``GET /<kind>`` (operation ``list_<plural>``): the county, the kind's own ``filters``, the
    status, then the text search, paging, sort, count and import job every list shares, in that order."""
    own = [*filters, ("status", StatusQuery, "status")]
    query = [
        ("county", CountyQuery, None),
        *((name, annotation, None) for name, annotation, _ in own),
        ("q", search, None),
        ("cursor", CursorQuery, None),
        ("limit", LimitQuery, 50),
        ("sort", sort, "code"),
        ("count", CountQuery, False),
        ("import_job", ImportJobQuery, None),
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("caller", keyword, annotation=CallerDep),
        inspect.Parameter("session", keyword, annotation=ReadSessionDep),
        *(inspect.Parameter(name, keyword, default=value, annotation=annotation) for name, annotation, value in query),
    ]

    def list_route(
        caller: Caller,
        session: Session,
        county: str | None,
        q: str | None,
        cursor: str | None,
        limit: int,
        sort: str,
        count: bool,
        import_job: str | None,
        **values: Any,
    ) -> Response:
        where = {column: values[name] for name, _, column in own}
        if import_job:
            where.update(bulk_service.imported_by(session, caller, plural, import_job))
        return JSONBody(service.list_records(session, caller, kind, county, where, q, cursor, limit, sort, count))

    # FastAPI reads the parameters from the signature: the shared ones around the kind's filters.
    list_route.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    router.get("", response_model=page, summary=summary, responses=READ_ERRORS, name=f"list_{plural}")(list_route)


def add_record_routes(
    router: APIRouter,
    *,
    kind: service.RecordKind,
    name: str,
    create: type[BaseModel],
    update: type[BaseModel],
    public: type[BaseModel],
    create_examples: Examples,
    update_examples: Examples,
    decommission_reason: str,
) -> None:
    """Add the six shared routes to ``router`` (prefix ``/<kind>``); ``name`` names the operations."""
    label = kind.label
    # Types made at run time: mypy cannot check them, FastAPI reads them for parsing and OpenAPI.
    CreateBody = Annotated[create, Body(openapi_examples=create_examples)]  # type: ignore[valid-type]
    UpdateBody = Annotated[update, Body(openapi_examples=update_examples)]  # type: ignore[valid-type]
    reason_examples = {"scrapped": {"summary": "报废", "value": {"reason": decommission_reason}}}
    DecommissionBody = Annotated[DecommissionRequest | None, Body(openapi_examples=reason_examples)]

    def write_route(method: str, path: str, summary: str, operation: str, **extra: Any) -> Any:
        """A write route of this kind: answers its record, documented with the write errors."""
        responses = extra.pop("responses", WRITE_ERRORS)
        return router.api_route(
            path,
            methods=[method],
            response_model=public,
            summary=summary,
            responses=responses,
            name=f"{operation}_{name}",
            **extra,
        )

    @write_route("POST", "", f"登记{label}（分配统一编号）", "register", status_code=201)
    def register(
        caller: CallerDep, session: SessionDep, settings: SettingsDep, body: CreateBody, write: IdempotentWriteDep
    ) -> Response:
        return _answer(service.register(session, settings, caller, kind, body, write))

    @router.get("/{code}", response_model=public, summary=f"查看{label}", responses=READ_ERRORS, name=f"get_{name}")
    async def get_one(code: str, request: Request, caller: CallerDep) -> Response:
        return JSONBody(await run_read(request, lambda conn: service.get_record(conn, caller, kind, code)))

    @write_route("PATCH", "/{code}", f"修改{label}（只改提交的字段）", "update")
    def change(code: str, caller: CallerDep, session: SessionDep, body: UpdateBody) -> Response:
        return _answer(service.update(session, caller, kind, code, body))

    @write_route(
        "PUT",
        "/by-external-id/{external_id}",
        f"按县区系统编号登记或更新{label}（新建 201，更新 200）",
        "upsert",
        responses={201: {"description": "新登记", "model": public}, **WRITE_ERRORS},
    )
    def upsert(
        external_id: str,
        caller: CallerDep,
        session: SessionDep,
        settings: SettingsDep,
        body: CreateBody,
        write: IdempotentWriteDep,
    ) -> Response:
        return _answer(service.upsert(session, settings, caller, kind, external_id, body, write))

    @write_route("POST", "/{code}/decommission", f"注销{label}（重复注销无副作用）", "decommission")
    def decommission(
        code: str, caller: CallerDep, session: SessionDep, write: IdempotentWriteDep, body: DecommissionBody = None
    ) -> Response:
        return _answer(service.decommission(session, caller, kind, code, body, write))

    @router.get(
        "/{code}/history",
        response_model=HistoryPage,
        summary=f"{label}变更记录",
        responses=READ_ERRORS,
        name=f"{name}_history",
    )
    def history(
        code: str,
        caller: CallerDep,
        session: ReadSessionDep,
        cursor: CursorQuery = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        return JSONBody(service.history(session, caller, kind, code, cursor=cursor, limit=limit))


def _answer(written: Written) -> Response:
    """A write's record, 201 when it was created, 200 otherwise."""
    return JSONBody(written.body, status_code=written.status_code)
