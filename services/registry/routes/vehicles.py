"""``/vehicles``: the county-facing vehicle registry (收运车辆)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep
from services.common.responses import JSONBody
from services.registry import service
from services.registry.bulk import service as bulk_service
from services.registry.errors import READ_ERRORS
from services.registry.routes.params import (
    CountQuery,
    CountyQuery,
    CursorQuery,
    ImportJobQuery,
    LimitQuery,
    StatusQuery,
    VehicleSort,
)
from services.registry.routes.records import add_record_routes
from services.registry.schemas import (
    VEHICLE_EXAMPLE,
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


@router.get("", response_model=VehiclePage, summary="车辆列表（游标分页）", responses=READ_ERRORS)
def list_vehicles(
    caller: CallerDep,
    session: ReadSessionDep,
    county: CountyQuery = None,
    category: Annotated[VehicleCategory | None, Query(description="垃圾类别")] = None,
    energy_type: Annotated[EnergyType | None, Query(description="能源类型")] = None,
    status: StatusQuery = None,
    q: Annotated[str | None, Query(max_length=64, description="统一编号或车牌号的开头")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    sort: VehicleSort = "code",
    count: CountQuery = False,
    import_job: ImportJobQuery = None,
) -> Response:
    filters = {"category": category, "energy_type": energy_type, "status": status}
    if import_job:
        filters.update(bulk_service.imported_by(session, caller, "vehicles", import_job))
    return JSONBody(service.list_records(session, caller, KIND, county, filters, q, cursor, limit, sort, count))


UPDATE_EXAMPLES = {"capacity": {"summary": "改载重和定位终端", "value": {"capacity_tonnes": 3.0}}}

add_record_routes(
    router,
    kind=KIND,
    name="vehicle",
    create=VehicleCreate,
    update=VehicleUpdate,
    public=VehiclePublic,
    create_examples=CREATE_EXAMPLES,
    update_examples=UPDATE_EXAMPLES,
    decommission_reason="车辆报废",
)
