"""``/changes`` (the dashboard's latest changes) and ``/facilities/points`` (the map)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import run_read
from services.common.isotime import IsoDateTime
from services.common.responses import JSONBody
from services.registry import service
from services.registry.errors import READ_ERRORS
from services.registry.validation import FacilityCategory, FacilityKind

router = APIRouter(tags=["coverage"])


class Change(BaseModel):
    kind: Literal["site", "facility", "vehicle"]
    code: str
    action: Literal["created", "updated", "decommissioned"]
    actor_name: str
    at: datetime
    summary: str = Field(description="中文摘要，如“登记设施 360102-F000001（……）”")


class ChangeList(BaseModel):
    items: list[Change]


class PointList(BaseModel):
    items: list[list[Any]] = Field(description="[统一编号, 纬度, 经度, 垃圾类别, 设施类型, 名称]，按统一编号排序")
    total: int = Field(description="符合条件的设施总数")
    truncated: bool = Field(description="total 超过 limit 时为 true")


@router.get(
    "/changes", response_model=ChangeList, summary="最近的变更（管理对象、设施、车辆，新的在前）", responses=READ_ERRORS
)
async def recent_changes(
    request: Request,
    caller: CallerDep,
    since: Annotated[IsoDateTime | None, Query(description="只看此时刻以后的变更（ISO 8601）")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    return JSONBody(await run_read(request, lambda conn: service.changes(conn, caller, since=since, limit=limit)))


@router.get(
    "/facilities/points",
    response_model=PointList,
    summary="设施地图点位（紧凑数组，供 Leaflet 使用）",
    responses=READ_ERRORS,
)
async def facility_points(
    request: Request,
    caller: CallerDep,
    county: Annotated[str | None, Query(description="县区代码")] = None,
    category: Annotated[FacilityCategory | None, Query(description="垃圾类别")] = None,
    kind: Annotated[FacilityKind | None, Query(description="设施类型")] = None,
    status: Annotated[
        Literal["active", "decommissioned"] | None, Query(description="状态，默认只看在用的设施")
    ] = "active",
    limit: Annotated[int, Query(ge=1, le=service.MAX_POINTS)] = 20_000,
) -> Response:
    def read(conn: Any) -> dict[str, Any]:
        return service.facility_points(
            conn, caller, county=county, category=category, kind=kind, status=status, limit=limit
        )

    return JSONBody(await run_read(request, read))
