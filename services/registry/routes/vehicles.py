"""``/vehicles``: the county-facing vehicle registry (收运车辆)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.registry import service
from services.registry.routes.params import VehicleSort
from services.registry.routes.records import add_list_route, add_record_routes
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


add_list_route(
    router,
    kind=KIND,
    plural="vehicles",
    page=VehiclePage,
    summary="车辆列表（游标分页）",
    filters=[
        ("category", Annotated[VehicleCategory | None, Query(description="垃圾类别")], "category"),
        ("energy_type", Annotated[EnergyType | None, Query(description="能源类型")], "energy_type"),
    ],
    search=Annotated[str | None, Query(max_length=64, description="统一编号或车牌号的开头")],
    sort=VehicleSort,
)

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
