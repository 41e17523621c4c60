"""``/vehicles``: the county-facing vehicle registry (收运车辆)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep, run_read
from services.common.responses import JSONBody
from services.registry import service
from services.registry.routes.common import (
    READ_ERRORS,
    WRITE_ERRORS,
    IdempotencyKey,
    SettingsDep,
    VehicleSort,
)
from services.registry.schemas import (
    VEHICLE_EXAMPLE,
    DecommissionRequest,
    HistoryPage,
    VehicleCreate,
    VehiclePage,
    VehiclePublic,
    VehicleUpdate,
)
from services.registry.validation import EnergyType, VehicleCategory

router = APIRouter(prefix="/vehicles", tags=["vehicles"])
KIND = service.VEHICLES

CREATE_EXAMPLES = {
    "electric_kitchen": {"summary": "新能源厨余垃圾车（县区密钥）", "value": VEHICLE_EXAMPLE},
    "office": {
        "summary": "市级账号登记（须指明 county_code）",
        "value": {
            "plate_number": "赣A12345",
            "category": "residual",
            "energy_type": "diesel",
            "capacity_tonnes": 8,
            "operator_name": "示范环卫有限公司",
            "county_code": "360102",
        },
    },
}


@router.post(
    "",
    status_code=201,
    response_model=VehiclePublic,
    summary="登记车辆（分配统一编号）",
    responses=WRITE_ERRORS,
)
def register_vehicle(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[VehicleCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.register(
        session, settings, caller, KIND, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


@router.get("", response_model=VehiclePage, summary="车辆列表（游标分页）", responses=READ_ERRORS)
def list_vehicles(
    caller: CallerDep,
    session: ReadSessionDep,
    county: Annotated[str | None, Query(description="县区代码", examples=["360102"])] = None,
    category: Annotated[VehicleCategory | None, Query(description="垃圾类别")] = None,
    energy_type: Annotated[EnergyType | None, Query(description="能源类型")] = None,
    status: Annotated[str | None, Query(pattern="^(active|decommissioned)$", description="状态")] = None,
    q: Annotated[str | None, Query(max_length=64, description="统一编号或车牌号的开头")] = None,
    cursor: Annotated[str | None, Query(description="上一页返回的 next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: VehicleSort = "code",
) -> Response:
    page = service.list_records(
        session,
        caller,
        KIND,
        county=county,
        filters={"category": category, "energy_type": energy_type, "status": status},
        q=q,
        cursor=cursor,
        limit=limit,
        sort=sort,
    )
    return JSONBody(page)


@router.get("/{code}", response_model=VehiclePublic, summary="查看车辆", responses=READ_ERRORS)
async def get_vehicle(code: str, request: Request, caller: CallerDep) -> Response:
    return JSONBody(await run_read(request, lambda conn: service.get_record(conn, caller, KIND, code)))


@router.patch("/{code}", response_model=VehiclePublic, summary="修改车辆（只改提交的字段）", responses=WRITE_ERRORS)
def update_vehicle(
    code: str,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[
        VehicleUpdate,
        Body(openapi_examples={"capacity": {"summary": "改载重和定位终端", "value": {"capacity_tonnes": 3.0}}}),
    ],
) -> Response:
    status, payload = service.update(session, caller, KIND, code, body)
    return JSONBody(payload, status_code=status)


@router.put(
    "/by-external-id/{external_id}",
    response_model=VehiclePublic,
    summary="按县区系统编号登记或更新车辆（新建 201，更新 200）",
    responses={201: {"description": "新登记", "model": VehiclePublic}, **WRITE_ERRORS},
)
def upsert_vehicle(
    external_id: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[VehicleCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.upsert(
        session, settings, caller, KIND, external_id, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


@router.post(
    "/{code}/decommission",
    response_model=VehiclePublic,
    summary="注销车辆（重复注销无副作用）",
    responses=WRITE_ERRORS,
)
def decommission_vehicle(
    code: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[
        DecommissionRequest | None,
        Body(openapi_examples={"scrapped": {"summary": "报废", "value": {"reason": "车辆报废"}}}),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    status, payload = service.decommission(
        session, caller, KIND, code, body, idempotency_key=idempotency_key, path=request.url.path
    )
    return JSONBody(payload, status_code=status)


@router.get("/{code}/history", response_model=HistoryPage, summary="车辆变更记录", responses=READ_ERRORS)
def vehicle_history(
    code: str,
    caller: CallerDep,
    session: ReadSessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return JSONBody(service.history(session, caller, KIND, code, cursor=cursor, limit=limit))
