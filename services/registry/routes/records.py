"""The routes every record kind (sites, facilities, vehicles) has in the same shape: register, look
up, change, upsert by the county's own id, decommission, history. Each kind's module calls
``add_record_routes`` with its schemas and examples; only its list route (its own filters) stays there.

No ``from __future__ import annotations`` here: FastAPI reads the parameter annotations, and the
schemas are this factory's arguments, so they must be real objects, not strings.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep, run_read
from services.common.idempotency import IdempotentWriteDep
from services.common.responses import JSONBody
from services.registry import service
from services.registry.config import SettingsDep
from services.registry.errors import READ_ERRORS, WRITE_ERRORS
from services.registry.routes.params import CursorQuery
from services.registry.schemas import DecommissionRequest, HistoryPage

Examples = dict[str, dict[str, Any]]


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

    @router.post(
        "",
        status_code=201,
        response_model=public,
        summary=f"登记{label}（分配统一编号）",
        responses=WRITE_ERRORS,
        name=f"register_{name}",
    )
    def register(
        caller: CallerDep, session: SessionDep, settings: SettingsDep, body: CreateBody, write: IdempotentWriteDep
    ) -> Response:
        written = service.register(session, settings, caller, kind, body, write)
        return JSONBody(written.body, status_code=written.status_code)

    @router.get("/{code}", response_model=public, summary=f"查看{label}", responses=READ_ERRORS, name=f"get_{name}")
    async def get_one(code: str, request: Request, caller: CallerDep) -> Response:
        return JSONBody(await run_read(request, lambda conn: service.get_record(conn, caller, kind, code)))

    @router.patch(
        "/{code}",
        response_model=public,
        summary=f"修改{label}（只改提交的字段）",
        responses=WRITE_ERRORS,
        name=f"update_{name}",
    )
    def change(code: str, caller: CallerDep, session: SessionDep, body: UpdateBody) -> Response:
        written = service.update(session, caller, kind, code, body)
        return JSONBody(written.body, status_code=written.status_code)

    @router.put(
        "/by-external-id/{external_id}",
        response_model=public,
        summary=f"按县区系统编号登记或更新{label}（新建 201，更新 200）",
        responses={201: {"description": "新登记", "model": public}, **WRITE_ERRORS},
        name=f"upsert_{name}",
    )
    def upsert(
        external_id: str,
        caller: CallerDep,
        session: SessionDep,
        settings: SettingsDep,
        body: CreateBody,
        write: IdempotentWriteDep,
    ) -> Response:
        written = service.upsert(session, settings, caller, kind, external_id, body, write)
        return JSONBody(written.body, status_code=written.status_code)

    @router.post(
        "/{code}/decommission",
        response_model=public,
        summary=f"注销{label}（重复注销无副作用）",
        responses=WRITE_ERRORS,
        name=f"decommission_{name}",
    )
    def decommission(
        code: str, caller: CallerDep, session: SessionDep, write: IdempotentWriteDep, body: DecommissionBody = None
    ) -> Response:
        written = service.decommission(session, caller, kind, code, body, write)
        return JSONBody(written.body, status_code=written.status_code)

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
