"""What the registry API reads and writes. Field checks live in ``validation`` and reach the client
as Chinese sentences naming the field; checks against the database live in ``service``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from services.registry import validation as v

Status = Literal["active", "decommissioned"]

# Fields the platform owns: never accepted in a body.
_PLATFORM_FIELDS = {
    "code": "由平台统一分配，不能提交",
    "status": "只能通过注销接口（POST …/decommission）修改",
    "version": "由平台维护，不能提交",
    "created_at": "由平台维护，不能提交",
    "updated_at": "由平台维护，不能提交",
    "decommissioned_at": "由平台维护，不能提交",
}
# Fields fixed once the record exists (the unified number is derived from them).
_IMMUTABLE = {"county_code": "创建后不能修改（统一编号按县区分配）"}


def _refuse(data: Any, refused: dict[str, str]) -> Any:
    if isinstance(data, dict):
        for key, reason in refused.items():
            if key in data:
                raise ValueError(v.message(key, reason))
    return data


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _platform_fields(cls, data: Any) -> Any:
        return _refuse(data, _PLATFORM_FIELDS)


class _Update(_In):
    """PATCH bodies: only the fields sent change; required fields cannot be set to null."""

    required: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The document says what the validator does: a required field may be left out, never null."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        for key in cls.required:
            prop = schema.get("properties", {}).get(key)
            if prop is None or "anyOf" not in prop:
                continue
            kept = [option for option in prop["anyOf"] if option.get("type") != "null"]
            if len(kept) == 1:
                rest = {k: value for k, value in prop.items() if k not in {"anyOf", "default"}}
                prop.clear()
                prop.update({**kept[0], **rest})
        return schema

    @model_validator(mode="before")
    @classmethod
    def _immutable(cls, data: Any) -> Any:
        data = _refuse(data, _IMMUTABLE)
        if isinstance(data, dict):
            for key in cls.required:
                if key in data and data[key] is None:
                    raise ValueError(v.message(key, "不能为空"))
        return data


def _county(value: str | None) -> str | None:
    return None if value is None else v.check_division_code(value, "county")


def _street(value: str | None) -> str | None:
    return None if value is None else v.check_division_code(value, "street")


def _community(value: str | None) -> str | None:
    return None if value is None else v.check_division_code(value, "community")


def _lat(value: float | None) -> float | None:
    return None if value is None else v.check_lat(value)


def _lng(value: float | None) -> float | None:
    return None if value is None else v.check_lng(value)


# A new record's county: a county key's own (the field may be left out), named by city-wide keys.
# ``x-required-for-city-keys``: the gateway's document for an office key lists it as required.
# What the validators in ``validation`` accept, declared in the document (they keep their Chinese
# messages: these only describe). Surrounding blanks are stripped before the checks.
_L = v.PLATE_LETTERS + v.PLATE_LETTERS.lower()
PLATE: dict[str, Any] = {
    "pattern": rf"^\s*[{v.PROVINCES}][{_L}]([{_L}0-9]{{5}}|[DFdf][{_L}0-9][0-9]{{4}}|[0-9]{{5}}[DFdf])\s*$"
}
COUNTY: dict[str, Any] = {"pattern": r"^\s*[0-9]{4}(0[1-9]|[1-9][0-9])\s*$"}
STREET: dict[str, Any] = {"pattern": r"^\s*[0-9]{9}\s*$"}
COMMUNITY: dict[str, Any] = {"pattern": r"^\s*[0-9]{12}\s*$"}
LAT: dict[str, Any] = {"minimum": v.LAT_RANGE[0], "maximum": v.LAT_RANGE[1]}
LNG: dict[str, Any] = {"minimum": v.LNG_RANGE[0], "maximum": v.LNG_RANGE[1]}


def _county_of_new_record() -> Any:
    return Field(
        default=None,
        description="所属县区代码（6 位）：县区密钥可省略（即本县区）；市级密钥必填",
        json_schema_extra={**COUNTY, "x-required-for-city-keys": True},
    )


# --- what every record kind shows ------------------------------------------------------------

# A record as registered: the example of each kind's public form ends with it.
_NEW_RECORD: dict[str, Any] = {
    "status": "active",
    "created_at": "2026-03-01T02:00:00Z",
    "updated_at": "2026-03-01T02:00:00Z",
    "decommissioned_at": None,
    "version": 1,
}


class _PublicCode(BaseModel):
    code: str


class _PublicState(_PublicCode):
    """The last fields of a record as shown. Each ``<Kind>Public`` names this base first and its own
    fields' base second: the fields then stand as code, the kind's own, then these."""

    status: Status
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    decommissioned_at: datetime | None
    version: int


class _RecordPage(BaseModel):
    """A page of a record list; each kind's page names its items' type (the field keeps its place)."""

    items: list[Any]
    next_cursor: str | None = None
    total: int | None = Field(default=None, description="符合筛选条件的记录数（请求带 count=true 时给出）")
    total_estimated: bool = Field(
        default=False, description="total 为估计值（超过 10,000 条时按数据库的估计，页面显示“约”）"
    )


# --- vehicles --------------------------------------------------------------------------------

VEHICLE_EXAMPLE: dict[str, Any] = {
    "plate_number": "赣AD12345",
    "category": "kitchen",
    "energy_type": "electric",
    "capacity_tonnes": 2.5,
    "operator_name": "示范环卫有限公司",
    "road_permit_expires_on": "2027-06-30",
    "inspection_due_on": "2026-09-30",
    "gps_device_id": "GPS-0001",
    "external_id": "NC-0001",
}
VEHICLE_PUBLIC_EXAMPLE: dict[str, Any] = {
    "code": "360102-K00001",
    **VEHICLE_EXAMPLE,
    "county_code": "360102",
    **_NEW_RECORD,
}


class _VehicleFields(_In):
    @field_validator("plate_number", check_fields=False)
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        return None if value is None else v.check_plate(value)

    _county_code = field_validator("county_code", check_fields=False)(_county)


class VehicleCreate(_VehicleFields):
    """Register a vehicle. ``county_code`` comes from a county key; office callers must send it."""

    model_config = ConfigDict(json_schema_extra={"examples": [VEHICLE_EXAMPLE]})

    plate_number: str = Field(
        description="车牌号：7 位普通号牌或 8 位新能源号牌", examples=["赣AD12345"], json_schema_extra=PLATE
    )
    category: v.VehicleCategory = Field(description="垃圾类别（GB/T 19095-2019，另加 bulky 大件垃圾）")
    energy_type: v.EnergyType = Field(description="能源类型")
    capacity_tonnes: float | None = Field(default=None, gt=0, le=100, description="核定载重（吨）")
    operator_name: str = Field(min_length=1, max_length=128, description="运营单位")
    county_code: str | None = _county_of_new_record()
    road_permit_expires_on: date | None = Field(default=None, description="道路运输证有效期至")
    inspection_due_on: date | None = Field(default=None, description="下次年检日期")
    gps_device_id: str | None = Field(default=None, max_length=64, description="车载定位终端编号")
    external_id: str | None = Field(default=None, min_length=1, max_length=64, description="县区系统编号")


class VehicleUpdate(_VehicleFields, _Update):
    """Partial update: only the fields sent change. Changing the category keeps the code."""

    required = frozenset({"plate_number", "category", "energy_type", "operator_name"})
    model_config = ConfigDict(json_schema_extra={"examples": [{"capacity_tonnes": 3.0, "gps_device_id": "GPS-0002"}]})

    plate_number: str | None = Field(default=None, json_schema_extra=PLATE)
    category: v.VehicleCategory | None = None
    energy_type: v.EnergyType | None = None
    capacity_tonnes: float | None = Field(default=None, gt=0, le=100)
    operator_name: str | None = Field(default=None, min_length=1, max_length=128)
    road_permit_expires_on: date | None = None
    inspection_due_on: date | None = None
    gps_device_id: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, min_length=1, max_length=64)


class _VehicleColumns(_PublicCode):
    plate_number: str
    category: str
    energy_type: str
    capacity_tonnes: float | None
    operator_name: str | None
    county_code: str
    road_permit_expires_on: date | None
    inspection_due_on: date | None
    gps_device_id: str | None


class VehiclePublic(_PublicState, _VehicleColumns):
    model_config = ConfigDict(json_schema_extra={"examples": [VEHICLE_PUBLIC_EXAMPLE]})


class VehiclePage(_RecordPage):
    items: list[VehiclePublic]


# --- facilities ------------------------------------------------------------------------------

FACILITY_EXAMPLE: dict[str, Any] = {
    "kind": "hazardous_store",
    "name": "公园街道有害垃圾暂存点",
    "street_code": "360102001",
    "community_code": "360102001001",
    "address": "东湖区公园街道八一大道 100 号",
    "lat": 28.6829,
    "lng": 115.8986,
    "capacity": 2.0,
    "external_id": "DH-F-0001",
}
FACILITY_PUBLIC_EXAMPLE: dict[str, Any] = {
    "code": "360102-F000001",
    **FACILITY_EXAMPLE,
    "category": "hazardous",
    "county_code": "360102",
    "site_code": None,
    **_NEW_RECORD,
}


class _PlaceFields(_In):
    _county_code = field_validator("county_code", check_fields=False)(_county)
    _street_code = field_validator("street_code", check_fields=False)(_street)
    _community_code = field_validator("community_code", check_fields=False)(_community)
    _lat_v = field_validator("lat", check_fields=False)(_lat)
    _lng_v = field_validator("lng", check_fields=False)(_lng)


class FacilityCreate(_PlaceFields):
    """Register a facility. Without ``category`` the kind implies it (``mixed`` for bin groups,
    drop points and stations)."""

    model_config = ConfigDict(json_schema_extra={"examples": [FACILITY_EXAMPLE]})

    kind: v.FacilityKind = Field(description="设施类型")
    category: v.FacilityCategory | None = Field(default=None, description="垃圾类别；mixed 表示多类别")
    name: str = Field(min_length=1, max_length=128)
    county_code: str | None = _county_of_new_record()
    street_code: str | None = Field(default=None, json_schema_extra=STREET)
    community_code: str | None = Field(default=None, json_schema_extra=COMMUNITY)
    site_code: str | None = Field(default=None, max_length=40, description="所属管理对象的统一编号")
    address: str | None = Field(default=None, max_length=255)
    lat: float = Field(description="纬度（WGS-84）", json_schema_extra=LAT)
    lng: float = Field(description="经度（WGS-84）", json_schema_extra=LNG)
    capacity: float | None = Field(default=None, ge=0, description="设计能力：桶组/投放箱为升，站点与处理设施为吨/日")
    external_id: str | None = Field(default=None, min_length=1, max_length=64)


class FacilityUpdate(_PlaceFields, _Update):
    required = frozenset({"kind", "category", "name", "lat", "lng"})
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "公园街道有害垃圾暂存点（改造）"}]})

    kind: v.FacilityKind | None = None
    category: v.FacilityCategory | None = None
    name: str | None = Field(default=None, min_length=1, max_length=128)
    street_code: str | None = Field(default=None, json_schema_extra=STREET)
    community_code: str | None = Field(default=None, json_schema_extra=COMMUNITY)
    site_code: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=255)
    lat: float | None = Field(default=None, json_schema_extra=LAT)
    lng: float | None = Field(default=None, json_schema_extra=LNG)
    capacity: float | None = Field(default=None, ge=0)
    external_id: str | None = Field(default=None, min_length=1, max_length=64)


class _FacilityColumns(_PublicCode):
    kind: str
    category: str
    name: str
    county_code: str
    street_code: str | None
    community_code: str | None
    site_code: str | None
    address: str | None
    lat: float
    lng: float
    capacity: float | None


class FacilityPublic(_PublicState, _FacilityColumns):
    model_config = ConfigDict(json_schema_extra={"examples": [FACILITY_PUBLIC_EXAMPLE]})


class FacilityPage(_RecordPage):
    items: list[FacilityPublic]


# --- sites -----------------------------------------------------------------------------------

SITE_EXAMPLE: dict[str, Any] = {
    "kind": "residential",
    "name": "滨江花园",
    "street_code": "360102001",
    "community_code": "360102001001",
    "address": "东湖区公园街道沿江北大道 8 号",
    "lat": 28.6901,
    "lng": 115.8912,
    "covered": True,
    "covered_since": "2021-07-01",
    "sorted_collection": True,
    "sorted_transport": True,
    "external_id": "DH-S-0001",
}
SITE_PUBLIC_EXAMPLE: dict[str, Any] = {
    "code": "360102-S000001",
    **SITE_EXAMPLE,
    "county_code": "360102",
    **_NEW_RECORD,
}


class SiteCreate(_PlaceFields):
    """Register a site under management. ``covered`` without ``covered_since`` means from today."""

    model_config = ConfigDict(json_schema_extra={"examples": [SITE_EXAMPLE]})

    kind: v.SiteKind = Field(description="管理对象类型")
    name: str = Field(min_length=1, max_length=128)
    county_code: str | None = _county_of_new_record()
    street_code: str = Field(description="街道（乡镇）代码，9 位", json_schema_extra=STREET)
    community_code: str | None = Field(default=None, description="社区（村）代码，12 位", json_schema_extra=COMMUNITY)
    address: str | None = Field(default=None, max_length=255)
    lat: float | None = Field(default=None, json_schema_extra=LAT)
    lng: float | None = Field(default=None, json_schema_extra=LNG)
    covered: bool = Field(default=False, description="已开展分类投放")
    covered_since: date | None = Field(default=None, description="开始分类的日期")
    sorted_collection: bool = Field(default=False, description="已分类收集")
    sorted_transport: bool = Field(default=False, description="已分类运输")
    external_id: str | None = Field(default=None, min_length=1, max_length=64)


class SiteUpdate(_PlaceFields, _Update):
    required = frozenset({"kind", "name", "street_code", "covered", "sorted_collection", "sorted_transport"})
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"covered": True, "covered_since": "2024-01-01", "sorted_transport": True}]}
    )

    kind: v.SiteKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=128)
    street_code: str | None = Field(default=None, json_schema_extra=STREET)
    community_code: str | None = Field(default=None, json_schema_extra=COMMUNITY)
    address: str | None = Field(default=None, max_length=255)
    lat: float | None = Field(default=None, json_schema_extra=LAT)
    lng: float | None = Field(default=None, json_schema_extra=LNG)
    covered: bool | None = None
    covered_since: date | None = None
    sorted_collection: bool | None = None
    sorted_transport: bool | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=64)


class _SiteColumns(_PublicCode):
    kind: str
    name: str
    county_code: str
    street_code: str | None
    community_code: str | None
    address: str | None
    lat: float | None
    lng: float | None
    covered: bool
    covered_since: date | None
    sorted_collection: bool
    sorted_transport: bool


class SitePublic(_PublicState, _SiteColumns):
    model_config = ConfigDict(json_schema_extra={"examples": [SITE_PUBLIC_EXAMPLE]})


class SitePage(_RecordPage):
    items: list[SitePublic]


# --- shared ----------------------------------------------------------------------------------


class DecommissionRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "车辆报废"}]})

    reason: str | None = Field(default=None, max_length=255, description="注销原因")


class HistoryEntry(BaseModel):
    id: int
    action: Literal["created", "updated", "decommissioned"]
    actor_sub: str
    actor_name: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    next_cursor: str | None = None


class DivisionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "360102", "name": "东湖区", "level": "county", "parent_code": "360100"}]
        }
    )

    code: str
    name: str
    level: Literal["city", "county", "street", "community"]
    parent_code: str | None


class DivisionPage(BaseModel):
    items: list[DivisionPublic]
    next_cursor: str | None = None


class UnitPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "U01",
                    "name": "市垃圾分类办",
                    "kind": "municipal_bureau",
                    "county_code": None,
                    "contact": "张伟",
                    "phone": "0791-80000001",
                    "duties": "牵头抓总、统筹协调",
                }
            ]
        }
    )

    code: str
    name: str
    kind: Literal["municipal_bureau", "county_government", "street", "other"]
    county_code: str | None
    contact: str | None
    phone: str | None
    duties: str | None


class UnitList(BaseModel):
    items: list[UnitPublic]


class Rate(BaseModel):
    covered: int
    total: int
    rate: float | None = Field(description="covered ÷ total，total 为 0 时为 null")


class CoverageBlock(BaseModel):
    residential: Rate
    by_kind: dict[str, Rate]


class CountyCoverage(CoverageBlock):
    county_code: str
    county_name: str


class CoverageReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-03-31",
                    "city": {
                        "residential": {"covered": 540, "total": 600, "rate": 0.9},
                        "by_kind": {"residential": {"covered": 540, "total": 600, "rate": 0.9}},
                    },
                    "counties": [
                        {
                            "county_code": "360102",
                            "county_name": "东湖区",
                            "residential": {"covered": 60, "total": 66, "rate": 0.9091},
                            "by_kind": {"residential": {"covered": 60, "total": 66, "rate": 0.9091}},
                        }
                    ],
                }
            ]
        }
    )

    as_of: date
    city: CoverageBlock = Field(description="所列县区的合计（指定 county 时即该县区）")
    counties: list[CountyCoverage]


class CountBlock(BaseModel):
    total: int
    by_category: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    by_energy_type: dict[str, int] = {}


class CountyCounts(BaseModel):
    facilities: CountBlock
    vehicles: CountBlock
    sites: CountBlock


class DecommissionedCounts(BaseModel):
    facilities: int = 0
    vehicles: int = 0
    sites: int = 0


class StatsReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "county_code": None,
                    "facilities": {"total": 5000, "by_category": {"mixed": 4000}, "by_kind": {"bin_group": 2700}},
                    "vehicles": {"total": 400, "by_category": {"kitchen": 100}, "by_energy_type": {"diesel": 200}},
                    "sites": {"total": 1000, "by_kind": {"residential": 600}},
                    "by_county": {
                        "360102": {
                            "facilities": {"total": 560, "by_category": {"mixed": 450}},
                            "vehicles": {"total": 44, "by_category": {"kitchen": 11}},
                            "sites": {"total": 110, "by_kind": {"residential": 66}},
                        }
                    },
                    "decommissioned": {"facilities": 12, "vehicles": 3, "sites": 0},
                }
            ]
        }
    )

    county_code: str | None
    facilities: CountBlock
    vehicles: CountBlock
    sites: CountBlock
    by_county: dict[str, CountyCounts] = {}
    decommissioned: DecommissionedCounts = DecommissionedCounts()
