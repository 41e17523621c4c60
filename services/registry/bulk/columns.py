"""The columns of the import template / export file of each record kind, and how a row's cells
become the API body: Chinese drop-down labels (or the API values) to API values, 是/否 to booleans.

The column keys are the fields of the ``*Create`` schemas, so a row is validated by the same
schema (and gets the same messages) as ``POST /<kind>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, get_args

from pydantic import BaseModel

from services.common.tabular import Column, ErrorEntry, Row, row_errors
from services.registry import validation as v
from services.registry.schemas import FacilityCreate, SiteCreate, VehicleCreate

ENERGY_NAMES = {
    "diesel": "柴油",
    "gasoline": "汽油",
    "electric": "纯电动",
    "hybrid": "混合动力",
    "hydrogen": "氢燃料电池",
    "lng": "液化天然气（LNG）",
    "cng": "压缩天然气（CNG）",
}
YES, NO = "是", "否"
BOOL_VALUES = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False, "y": True, "n": False}
BOOL_VALUES |= {"yes": True, "no": False, "√": True, "×": False}

COUNTY_NOTE = "县区账号导入时可留空（即本县区）；市级账号导入时每行必填"


def _names(values: Sequence[str], names: Mapping[str, str]) -> dict[str, str]:
    return {value: names[value] for value in values}


@dataclass(frozen=True)
class Spec:
    """One importable record kind."""

    name: str  # facility (history, events, numbering)
    plural: str  # facilities (paths)
    label: str  # 设施
    columns: tuple[Column, ...]
    schema: type[BaseModel]
    choices: Mapping[str, Mapping[str, str]]  # column key → API value → Chinese label
    bools: frozenset[str] = frozenset()

    @cached_property
    def headers(self) -> dict[str, str]:
        return {c.key: c.header for c in self.columns}

    @property
    def template_name(self) -> str:
        return f"{self.label}导入模板.xlsx"

    def export_name(self, fmt: str) -> str:
        return f"{self.label}台账.{fmt}"

    @cached_property
    def plain_columns(self) -> tuple[Column, ...]:
        """The columns without drop-down values, for the generic required / scientific checks
        (drop-down columns are mapped here, accepting labels and API values)."""
        return tuple(dataclasses.replace(c, choices=None) for c in self.columns)


def _choice_column(key: str, header: str, names: Mapping[str, str], **kw: Any) -> Column:
    return Column(key, header, choices=list(names.values()), **kw)


_COUNTY = Column("county_code", "所属县区代码", text=True, example="360102", note=COUNTY_NOTE)
_STREET = Column("street_code", "街道（乡镇）代码", text=True, example="360102001", note="9 位数字")
_COMMUNITY = Column(
    "community_code", "社区（村）代码", text=True, example="360102001001", note="12 位数字；填写后可不填街道"
)
_EXTERNAL = Column("external_id", "县区系统编号", text=True, example="DH-0001", note="县区自有系统中的编号，县区内唯一")
_ADDRESS = Column("address", "地址", example="东湖区公园街道八一大道 100 号", width=30)


def _spec(
    names: tuple[str, str, str], schema: type[BaseModel], own: tuple[Column, ...], external_example: str, **kw: Any
) -> Spec:
    """A kind's spec (``names``: name, plural, label): its ``own`` columns between the county (first)
    and its external id (last)."""
    name, plural, label = names
    columns = (_COUNTY, *own, dataclasses.replace(_EXTERNAL, example=external_example))
    return Spec(name=name, plural=plural, label=label, columns=columns, schema=schema, **kw)


FACILITY_KINDS = _names(get_args(v.FacilityKind), v.FACILITY_KIND_NAMES)
FACILITY_CATEGORIES = _names(get_args(v.FacilityCategory), v.CATEGORY_NAMES)
VEHICLE_CATEGORIES = _names(get_args(v.VehicleCategory), v.CATEGORY_NAMES)
ENERGY_TYPES = _names(get_args(v.EnergyType), ENERGY_NAMES)
SITE_KINDS = _names(get_args(v.SiteKind), v.SITE_KIND_NAMES)

FACILITIES = _spec(
    ("facility", "facilities", "设施"),
    FacilityCreate,
    (
        _choice_column("kind", "设施类型", FACILITY_KINDS, required=True, example="有害垃圾暂存点"),
        _choice_column("category", "垃圾类别", FACILITY_CATEGORIES, example="有害垃圾", note="留空时按设施类型确定"),
        Column("name", "名称", required=True, example="公园街道有害垃圾暂存点", width=30),
        _STREET,
        _COMMUNITY,
        Column("site_code", "所属管理对象编号", text=True, note="本县区已登记的管理对象统一编号"),
        _ADDRESS,
        Column("lat", "纬度", required=True, example="28.6829", note="WGS-84"),
        Column("lng", "经度", required=True, example="115.8986", note="WGS-84"),
        Column("capacity", "设计能力", example="2", note="桶组/投放箱为升，站点与处理设施为吨/日"),
    ),
    external_example="DH-F-0001",
    choices={"kind": FACILITY_KINDS, "category": FACILITY_CATEGORIES},
)

SITES = _spec(
    ("site", "sites", "管理对象"),
    SiteCreate,
    (
        _choice_column("kind", "管理对象类型", SITE_KINDS, required=True, example="居民小区"),
        Column("name", "名称", required=True, example="滨江花园", width=24),
        dataclasses.replace(_STREET, required=True),
        _COMMUNITY,
        _ADDRESS,
        Column("lat", "纬度", example="28.6901", note="WGS-84，可不填"),
        Column("lng", "经度", example="115.8912", note="WGS-84，可不填"),
        Column("covered", "已开展分类投放", choices=[YES, NO], example=YES),
        Column("covered_since", "开始分类日期", date=True, example="2021-07-01", note="已开展分类但不填时按导入当天"),
        Column("sorted_collection", "已分类收集", choices=[YES, NO], example=YES),
        Column("sorted_transport", "已分类运输", choices=[YES, NO], example=YES),
    ),
    external_example="DH-S-0001",
    choices={"kind": SITE_KINDS},
    bools=frozenset({"covered", "sorted_collection", "sorted_transport"}),
)

VEHICLES = _spec(
    ("vehicle", "vehicles", "车辆"),
    VehicleCreate,
    (
        Column("plate_number", "车牌号", required=True, example="赣AD12345", note="7 位普通号牌或 8 位新能源号牌"),
        _choice_column("category", "垃圾类别", VEHICLE_CATEGORIES, required=True, example="厨余垃圾"),
        _choice_column("energy_type", "能源类型", ENERGY_TYPES, required=True, example="纯电动"),
        Column("capacity_tonnes", "核定载重（吨）", example="2.5"),
        Column("operator_name", "运营单位", required=True, example="示范环卫有限公司", width=24),
        Column("road_permit_expires_on", "道路运输证有效期至", date=True, example="2027-06-30"),
        Column("inspection_due_on", "下次年检日期", date=True, example="2026-09-30"),
        Column("gps_device_id", "车载定位终端编号", text=True, example="GPS-0001"),
    ),
    external_example="NC-0001",
    choices={"category": VEHICLE_CATEGORIES, "energy_type": ENERGY_TYPES},
)

SPECS: dict[str, Spec] = {s.plural: s for s in (SITES, FACILITIES, VEHICLES)}
KIND_LABEL = {s.plural: s.label for s in SPECS.values()}


def _lookup(names: Mapping[str, str]) -> dict[str, str]:
    """Label or API value (any case) → API value."""
    table = {value.casefold(): value for value in names}
    table |= {label.casefold(): value for value, label in names.items()}
    return table


_LOOKUPS: dict[tuple[str, str], dict[str, str]] = {
    (spec.plural, key): _lookup(names) for spec in SPECS.values() for key, names in spec.choices.items()
}


def parse_row(spec: Spec, row: Row) -> tuple[dict[str, Any], list[ErrorEntry]]:
    """The body a row stands for (API values) and the cell-level errors (required, drop-downs,
    yes/no, codes Excel turned into scientific notation)."""
    errors = row_errors(row, spec.plain_columns)
    bad = {header for _, header, _, _ in errors}
    body: dict[str, Any] = {}
    for column in spec.columns:
        value = row.values.get(column.key)
        if value is None or column.header in bad:
            continue
        if column.key in spec.choices:
            mapped = _LOOKUPS[(spec.plural, column.key)].get(value.casefold())
            if mapped is None:
                labels = list(spec.choices[column.key].values())
                allowed = "、".join(labels) if len(labels) <= 12 else "下拉列表中的值"
                errors.append((row.number, column.header, value, f"应为 {allowed} 之一"))
                continue
            body[column.key] = mapped
        elif column.key in spec.bools:
            flag = BOOL_VALUES.get(value.casefold())
            if flag is None:
                errors.append((row.number, column.header, value, "应为 是 或 否"))
                continue
            body[column.key] = flag
        else:
            body[column.key] = value
    return body, errors


def export_row(spec: Spec, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as a row of the export file: drop-down columns as their Chinese labels."""
    out = dict(record)
    for key, names in spec.choices.items():
        value = out.get(key)
        if value is not None:
            out[key] = names.get(value, value)
    for key in spec.bools:
        if key in out and out[key] is not None:
            out[key] = YES if out[key] else NO
    return out
