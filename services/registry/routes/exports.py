"""``/sites/export``, ``/facilities/export``, ``/vehicles/export``: the list as a download."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import StreamingResponse

from services.common import clock
from services.common.auth import Caller, CallerDep
from services.common.tabular import stream_csv, stream_xlsx
from services.registry import repository, service
from services.registry.bulk import exports
from services.registry.bulk import service as bulk_service
from services.registry.bulk.columns import SPECS
from services.registry.errors import READ_ERRORS
from services.registry.routes.downloads import CSV_TYPE, XLSX_TYPE, attachment
from services.registry.validation import EnergyType, FacilityCategory, FacilityKind, SiteKind, VehicleCategory

router = APIRouter(tags=["exports"])
Format = Annotated[Literal["xlsx", "csv"], Query(description="文件格式")]
County = Annotated[str | None, Query(description="县区代码", examples=["360102"])]
Status = Annotated[str | None, Query(pattern="^(active|decommissioned)$", description="状态")]
Q = Annotated[str | None, Query(max_length=64, description="统一编号的开头，或名称中的文字")]
ImportJob = Annotated[str | None, Query(max_length=64, description="只导出这次导入登记的记录（导入任务 id）")]
Street = Annotated[
    str | None, Query(pattern=r"^\d{9}$", description="街道（乡镇）代码（9 位）", examples=["360102001"])
]
DOCS = {200: {"content": {XLSX_TYPE: {}, CSV_TYPE: {}}, "description": "文件下载"}, **READ_ERRORS}


def _file_name(request: Request, label: str, county: str | None, street: str | None, fmt: str) -> str:
    """``设施_东湖区_2026-12-03.csv``: what, which part of the city (全市, a county, a county's street),
    and the day (Asia/Shanghai)."""
    scope = "全市"
    county = county or (street[:6] if street else None)
    with request.app.state.read_engine.connect() as conn:
        names = [d["name"] for code in (county, street) if code for d in [repository.division(conn, code)] if d]
    if names:
        scope = "".join(names)
    return f"{label}_{scope}_{clock.today().isoformat()}.{fmt}"


def _download(
    request: Request,
    caller: Caller,
    plural: str,
    fmt: str,
    county: str | None,
    filters: dict[str, Any],
    q: str | None,
    import_job: str | None = None,
) -> StreamingResponse:
    spec = SPECS[plural]
    kind = {"sites": service.SITES, "facilities": service.FACILITIES, "vehicles": service.VEHICLES}[plural]
    county = service.visible_county(caller, county)  # 403 / 404 before the download starts
    name = _file_name(request, spec.label, county, filters.get("street_code"), fmt)
    if import_job:
        with request.app.state.read_engine.connect() as conn:
            filters = {**filters, **bulk_service.imported_by(conn, caller, plural, import_job)}
    rows = exports.records(
        request.app.state.read_engine,
        spec,
        kind,
        filters={"county_code": county, **filters},
        q=(q or "").strip() or None,
    )
    columns = exports.export_columns(spec)
    if fmt == "csv":
        csv_body = stream_csv(columns, rows)
        return StreamingResponse(csv_body, media_type=CSV_TYPE, headers=attachment(name))
    body = stream_xlsx(columns, rows, sheet_title=spec.label)
    return StreamingResponse(body, media_type=XLSX_TYPE, headers=attachment(name))


@router.get("/sites/export", summary="导出管理对象（XLSX / CSV，列与导入模板一致）", responses=DOCS)
def export_sites(
    request: Request,
    caller: CallerDep,
    format: Format = "xlsx",
    county: County = None,
    kind: Annotated[SiteKind | None, Query(description="管理对象类型")] = None,
    status: Status = None,
    q: Q = None,
    street: Street = None,
    import_job: ImportJob = None,
) -> StreamingResponse:
    filters = {"kind": kind, "status": status, "street_code": street}
    return _download(request, caller, "sites", format, county, filters, q, import_job)


@router.get("/facilities/export", summary="导出设施（XLSX / CSV，列与导入模板一致）", responses=DOCS)
def export_facilities(
    request: Request,
    caller: CallerDep,
    format: Format = "xlsx",
    county: County = None,
    category: Annotated[FacilityCategory | None, Query(description="垃圾类别")] = None,
    kind: Annotated[FacilityKind | None, Query(description="设施类型")] = None,
    status: Status = None,
    q: Q = None,
    street: Street = None,
    import_job: ImportJob = None,
) -> StreamingResponse:
    filters = {"category": category, "kind": kind, "status": status, "street_code": street}
    return _download(request, caller, "facilities", format, county, filters, q, import_job)


@router.get("/vehicles/export", summary="导出车辆（XLSX / CSV，列与导入模板一致）", responses=DOCS)
def export_vehicles(
    request: Request,
    caller: CallerDep,
    format: Format = "xlsx",
    county: County = None,
    category: Annotated[VehicleCategory | None, Query(description="垃圾类别")] = None,
    energy_type: Annotated[EnergyType | None, Query(description="能源类型")] = None,
    status: Status = None,
    q: Q = None,
    import_job: ImportJob = None,
) -> StreamingResponse:
    filters = {"category": category, "energy_type": energy_type, "status": status}
    return _download(request, caller, "vehicles", format, county, filters, q, import_job)
