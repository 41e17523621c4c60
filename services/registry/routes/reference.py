"""``/divisions``, ``/units``, ``/coverage``, ``/stats``: reference data and figures."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep
from services.common.isotime import IsoDate
from services.common.responses import JSONBody
from services.registry import repository, service
from services.registry.errors import READ_ERRORS, error_docs
from services.registry.routes.params import CursorQuery
from services.registry.schemas import CoverageReport, DivisionPage, StatsReport, UnitList, UnitPublic

divisions_router = APIRouter(tags=["divisions"])
units_router = APIRouter(tags=["units"])
figures_router = APIRouter(tags=["coverage"])


@divisions_router.get(
    "/divisions", response_model=DivisionPage, summary="行政区划（市、县区、街道、社区）", responses=error_docs(401)
)
def list_divisions(
    _caller: CallerDep,
    session: ReadSessionDep,
    level: Annotated[Literal["city", "county", "street", "community"] | None, Query(description="层级")] = None,
    parent: Annotated[str | None, Query(description="上级区划代码", examples=["360102"])] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> Response:
    return JSONBody(service.divisions(session, level=level, parent=parent, cursor=cursor, limit=limit))


@units_router.get("/units", response_model=UnitList, summary="成员单位", responses=error_docs(401))
def list_units(_caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody({"items": repository.units(session)})


@units_router.get("/units/{code}", response_model=UnitPublic, summary="查看成员单位", responses=error_docs(401, 404))
def get_unit(code: str, _caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.unit(session, code))


@figures_router.get(
    "/coverage", response_model=CoverageReport, summary="分类覆盖率（按县区与管理对象类型）", responses=READ_ERRORS
)
def get_coverage(
    caller: CallerDep,
    session: ReadSessionDep,
    as_of: Annotated[
        IsoDate | None, Query(description="统计日期（当日结束时），默认今天", examples=["2026-03-31"])
    ] = None,
    county: Annotated[str | None, Query(description="只看一个县区", examples=["360102"])] = None,
) -> Response:
    return JSONBody(service.coverage(session, caller, as_of=as_of, county=county))


@figures_router.get("/stats", response_model=StatsReport, summary="设施、车辆与管理对象统计", responses=READ_ERRORS)
def get_stats(
    caller: CallerDep,
    session: ReadSessionDep,
    county: Annotated[str | None, Query(description="只看一个县区")] = None,
) -> Response:
    return JSONBody(service.stats(session, caller, county=county))
