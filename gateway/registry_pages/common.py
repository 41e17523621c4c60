"""What the registry pages share: Chinese labels, the three record kinds described as data, and
the caller / client / scope helpers every route uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fastapi import Request
from starlette.convertors import Convertor, register_url_convertor

from gateway.clients import Division, RecordKind, RegistryClient
from gateway.deps import request_id
from gateway.security import Principal
from services.common.auth import Caller
from services.common.errors import Forbidden

# --- labels ------------------------------------------------------------------------------------

CATEGORY_LABELS = {
    "recyclable": "可回收物",
    "hazardous": "有害垃圾",
    "kitchen": "厨余垃圾",
    "residual": "其他垃圾",
    "bulky": "大件垃圾",
    "mixed": "多类别",
}
# GB/T 19095-2019 colours; bulky and mixed are outside the standard.
CATEGORY_COLORS = {
    "recyclable": "#1e6fd9",
    "hazardous": "#d9342b",
    "kitchen": "#2e9e4f",
    "residual": "#6b7280",
    "bulky": "#a16207",
    "mixed": "#7c3aed",
}
VEHICLE_CATEGORIES = ("recyclable", "hazardous", "kitchen", "residual", "bulky")
FACILITY_CATEGORIES = ("recyclable", "hazardous", "kitchen", "residual", "mixed")
ENERGY_LABELS = {
    "diesel": "柴油",
    "gasoline": "汽油",
    "electric": "纯电动",
    "hybrid": "混合动力",
    "hydrogen": "氢燃料",
    "lng": "液化天然气（LNG）",
    "cng": "压缩天然气（CNG）",
}
SITE_KIND_LABELS = {
    "residential": "居民小区",
    "public_institution": "公共机构",
    "public_place": "公共场所",
    "business_area": "经营区域",
    "education": "教育机构",
    "medical": "医疗机构",
    "farmers_market": "农贸市场",
}
FACILITY_KIND_LABELS = {
    "bin_group": "四分类桶组",
    "smart_box": "智能分类投放箱",
    "drop_point": "集中投放点（站）",
    "hazardous_store": "有害垃圾暂存点",
    "recycling_point": "可回收物回收网点",
    "sorting_center": "分拣中心/打包站",
    "collection_station": "收集站",
    "transfer_station": "转运站",
    "treatment_incineration": "焚烧处理设施",
    "treatment_kitchen": "厨余垃圾处理设施",
    "treatment_landfill": "填埋场",
    "treatment_hazardous": "有害垃圾处理设施",
}
STATUS_LABELS = {"active": "在用", "decommissioned": "已注销"}
UNIT_KIND_LABELS = {
    "municipal_bureau": "市直部门",
    "county_government": "县区政府",
    "street": "街道（乡镇）",
    "other": "其他单位",
}
LEVEL_LABELS = {"city": "市", "county": "县（市、区）", "street": "街道（乡镇）", "community": "社区（村）"}
ACTION_LABELS = {"created": "登记", "updated": "修改", "decommissioned": "注销"}

# Roles that register and change records (the registry decides again; a county only its own).
EDITOR_ROLES = frozenset({"admin", "office", "county"})
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
# The registry's ``sort`` values and how the list's select names them; the first is the default.
CODE_SORTS = (("code", "统一编号↑"), ("-code", "统一编号↓"), ("-updated_at", "最近更新"))
NAMED_SORTS = (*CODE_SORTS, ("name", "名称"))
DEFAULT_SORT = "code"


# --- the record kinds, as data -----------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    widget: str = "text"  # text, number, date, select, checkbox, textarea, street, community, county
    options: tuple[tuple[str, str], ...] = ()
    required: bool = False
    hint: str = ""
    create_only: bool = False


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class KindSpec:
    kind: RecordKind
    label: str  # 车辆
    noun: str  # 辆 / 个 (for counts)
    title_field: str  # the field that names a record (plate, name)
    search_hint: str
    filters: tuple[Filter, ...]
    form: tuple[FormField, ...]
    # (field, label) shown on the detail page, in order
    detail: tuple[tuple[str, str], ...]
    columns: tuple[tuple[str, str], ...] = field(default=())
    sorts: tuple[tuple[str, str], ...] = CODE_SORTS

    @property
    def path(self) -> str:
        return f"/registry/{self.kind}"

    @property
    def labels(self) -> dict[str, str]:
        out = dict(self.detail)
        out.update({f.name: f.label for f in self.form})
        return out


def _opts(labels: dict[str, str], keys: tuple[str, ...] | None = None) -> tuple[tuple[str, str], ...]:
    return tuple((k, labels[k]) for k in (keys or tuple(labels)))


STATUS_FILTER = Filter("status", "状态", _opts(STATUS_LABELS))
COMMON_DETAIL = (
    ("status", "状态"),
    ("external_id", "县区系统编号"),
    ("created_at", "登记时间"),
    ("updated_at", "最后修改"),
    ("decommissioned_at", "注销时间"),
    ("version", "版本"),
)

VEHICLES = KindSpec(
    kind="vehicles",
    label="车辆",
    noun="辆",
    title_field="plate_number",
    search_hint="统一编号或车牌号的开头",
    filters=(
        Filter("category", "垃圾类别", _opts(CATEGORY_LABELS, VEHICLE_CATEGORIES)),
        Filter("energy_type", "能源类型", _opts(ENERGY_LABELS)),
        STATUS_FILTER,
    ),
    form=(
        FormField("plate_number", "车牌号", required=True, hint="7 位普通号牌或 8 位新能源号牌，如 赣AD12345"),
        FormField("category", "垃圾类别", "select", _opts(CATEGORY_LABELS, VEHICLE_CATEGORIES), required=True),
        FormField("energy_type", "能源类型", "select", _opts(ENERGY_LABELS), required=True),
        FormField("capacity_tonnes", "核定载重（吨）", "number"),
        FormField("operator_name", "运营单位", required=True),
        FormField("county_code", "所属县区", "county", required=True, create_only=True),
        FormField("road_permit_expires_on", "道路运输证有效期至", "date"),
        FormField("inspection_due_on", "下次年检日期", "date"),
        FormField("gps_device_id", "车载定位终端编号"),
        FormField("external_id", "县区系统编号"),
    ),
    detail=(
        ("code", "统一编号"),
        ("plate_number", "车牌号"),
        ("category", "垃圾类别"),
        ("energy_type", "能源类型"),
        ("capacity_tonnes", "核定载重（吨）"),
        ("operator_name", "运营单位"),
        ("county_code", "所属县区"),
        ("road_permit_expires_on", "道路运输证有效期至"),
        ("inspection_due_on", "下次年检日期"),
        ("gps_device_id", "车载定位终端编号"),
        *COMMON_DETAIL,
    ),
    columns=(
        ("code", "统一编号"),
        ("plate_number", "车牌号"),
        ("category", "垃圾类别"),
        ("energy_type", "能源类型"),
        ("capacity_tonnes", "核定载重（吨）"),
        ("operator_name", "运营单位"),
        ("county_code", "县区"),
        ("status", "状态"),
    ),
)

FACILITIES = KindSpec(
    kind="facilities",
    label="设施",
    noun="个",
    title_field="name",
    search_hint="统一编号开头，或名称中的文字",
    filters=(
        Filter("kind", "设施类型", _opts(FACILITY_KIND_LABELS)),
        Filter("category", "垃圾类别", _opts(CATEGORY_LABELS, FACILITY_CATEGORIES)),
        STATUS_FILTER,
    ),
    form=(
        FormField("kind", "设施类型", "select", _opts(FACILITY_KIND_LABELS), required=True),
        FormField(
            "category",
            "垃圾类别",
            "select",
            _opts(CATEGORY_LABELS, FACILITY_CATEGORIES),
            hint="不选则按设施类型确定（桶组、投放点、站点为多类别）",
        ),
        FormField("name", "名称", required=True),
        FormField("county_code", "所属县区", "county", required=True, create_only=True),
        FormField("street_code", "街道（乡镇）", "street"),
        FormField("community_code", "社区（村）", "community"),
        FormField("site_code", "所属管理对象编号", hint="如 360102-S000001，可不填"),
        FormField("address", "地址"),
        FormField("lat", "纬度（WGS-84）", "number", required=True, hint="如 28.6829"),
        FormField("lng", "经度（WGS-84）", "number", required=True, hint="如 115.8986"),
        FormField("capacity", "设计能力", "number", hint="桶组、投放箱为升；站点与处理设施为吨/日"),
        FormField("external_id", "县区系统编号"),
    ),
    detail=(
        ("code", "统一编号"),
        ("name", "名称"),
        ("kind", "设施类型"),
        ("category", "垃圾类别"),
        ("county_code", "所属县区"),
        ("street_code", "街道（乡镇）"),
        ("community_code", "社区（村）"),
        ("site_code", "所属管理对象"),
        ("address", "地址"),
        ("lat", "纬度（WGS-84）"),
        ("lng", "经度（WGS-84）"),
        ("capacity", "设计能力"),
        *COMMON_DETAIL,
    ),
    columns=(
        ("code", "统一编号"),
        ("name", "名称"),
        ("kind", "设施类型"),
        ("category", "垃圾类别"),
        ("county_code", "县区"),
        ("address", "地址"),
        ("status", "状态"),
    ),
    sorts=NAMED_SORTS,
)

SITES = KindSpec(
    kind="sites",
    label="管理对象",
    noun="个",
    title_field="name",
    search_hint="统一编号开头，或名称中的文字",
    filters=(Filter("kind", "类型", _opts(SITE_KIND_LABELS)), STATUS_FILTER),
    form=(
        FormField("kind", "类型", "select", _opts(SITE_KIND_LABELS), required=True),
        FormField("name", "名称", required=True),
        FormField("county_code", "所属县区", "county", required=True, create_only=True),
        FormField("street_code", "街道（乡镇）", "street", required=True),
        FormField("community_code", "社区（村）", "community"),
        FormField("address", "地址"),
        FormField("lat", "纬度（WGS-84）", "number"),
        FormField("lng", "经度（WGS-84）", "number"),
        FormField("covered", "已开展分类投放", "checkbox"),
        FormField("covered_since", "开始分类日期", "date", hint="已开展分类时填写；不填为今天"),
        FormField("sorted_collection", "已分类收集", "checkbox"),
        FormField("sorted_transport", "已分类运输", "checkbox"),
        FormField("external_id", "县区系统编号"),
    ),
    detail=(
        ("code", "统一编号"),
        ("name", "名称"),
        ("kind", "类型"),
        ("county_code", "所属县区"),
        ("street_code", "街道（乡镇）"),
        ("community_code", "社区（村）"),
        ("address", "地址"),
        ("lat", "纬度（WGS-84）"),
        ("lng", "经度（WGS-84）"),
        ("covered", "已开展分类投放"),
        ("covered_since", "开始分类日期"),
        ("sorted_collection", "已分类收集"),
        ("sorted_transport", "已分类运输"),
        *COMMON_DETAIL,
    ),
    columns=(
        ("code", "统一编号"),
        ("name", "名称"),
        ("kind", "类型"),
        ("county_code", "县区"),
        ("covered", "分类投放"),
        ("address", "地址"),
        ("status", "状态"),
    ),
    sorts=NAMED_SORTS,
)

KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in (VEHICLES, FACILITIES, SITES)}
# Which label table a field's value is translated with.
VALUE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "vehicles": {"category": CATEGORY_LABELS, "energy_type": ENERGY_LABELS, "status": STATUS_LABELS},
    "facilities": {"category": CATEGORY_LABELS, "kind": FACILITY_KIND_LABELS, "status": STATUS_LABELS},
    "sites": {"kind": SITE_KIND_LABELS, "status": STATUS_LABELS},
}


# --- record codes in URLs ------------------------------------------------------------------------


class RecordCodeConvertor(Convertor[str]):
    """A unified number always holds a digit (its county code and counter), so the words next to it
    under /registry/<kind>/ (new, export, ...) never match a record route."""

    regex = r"[^/]*[0-9][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rcode", RecordCodeConvertor())


# --- who asks, and what they may do -----------------------------------------------------------


def caller_of(request: Request, principal: Principal) -> Caller:
    return principal.caller(request_id(request))


def registry(request: Request) -> RegistryClient:
    client: RegistryClient = request.app.state.clients.registry
    return client


def can_edit(principal: Principal) -> bool:
    return principal.role in EDITOR_ROLES


def require_editor(principal: Principal) -> None:
    """Readers get the 403 page before anything reaches the registry (which would refuse too)."""
    if not can_edit(principal):
        raise Forbidden("此角色只能查看台账，不能登记、修改或注销")


def own_county(principal: Principal) -> str | None:
    """The only county a county user sees; ``None`` for city-wide roles."""
    return principal.county_code if principal.role == "county" else None


async def counties(request: Request, principal: Principal) -> list[Division]:
    """The counties the user may pick: all of them, or a county user's own."""
    items = await registry(request).counties(caller_of(request, principal))
    mine = own_county(principal)
    return [d for d in items if mine is None or d.code == mine]


# --- showing values ----------------------------------------------------------------------------

_FIELD_PREFIX = re.compile(r"^[a-z_]+（[^）]*）：")


def field_message(message: str) -> str:
    """The registry names the field first (``plate_number（车牌号）：...``); next to the field that is noise."""
    return _FIELD_PREFIX.sub("", message, count=1)


def number(value: float) -> str:
    """All the digits (coordinates need them), without a trailing ``.0``."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def form_value(value: Any) -> str:
    """A record value as a form field holds it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def display_value(kind: str, name: str, value: Any, county_names: dict[str, str] | None = None) -> str:
    """A value as a person reads it: Chinese labels, 是/否, county names."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    labels = VALUE_LABELS.get(kind, {}).get(name)
    if labels is not None:
        return labels.get(str(value), str(value))
    if name == "county_code" and county_names:
        return f"{county_names.get(str(value), '')}（{value}）" if value in county_names else str(value)
    if isinstance(value, float):
        return number(value)
    return str(value)
