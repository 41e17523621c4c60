"""Checks on the registry's identifiers and values: plates, division codes, coordinates, categories.

Every message names the field as ``field（中文名）：说明`` so a county developer reading the error
knows which field to fix. Functions raise ``ValueError`` (pydantic turns it into a 422 with the
sentence kept); ``field_error`` wraps the same sentence for checks made outside a schema.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from services.common import kinds
from services.common.errors import InvalidInput

LABELS = {
    "is_workday": "是否上班",  # the office calendar (routes/calendar.py)
    "plate_number": "车牌号",
    "county_code": "所属县区代码",
    "street_code": "街道（乡镇）代码",
    "community_code": "社区（村）代码",
    "site_code": "所属管理对象编号",
    "lat": "纬度",
    "lng": "经度",
    "category": "垃圾类别",
    "kind": "类型",
    "energy_type": "能源类型",
    "external_id": "县区系统编号",
    "code": "统一编号",
    "name": "名称",
    "covered_since": "开始分类日期",
    "status": "状态",
    "capacity_tonnes": "核定载重（吨）",
    "operator_name": "运营单位",
    "sort": "排序",
}


def label(field: str) -> str:
    """``plate_number（车牌号）`` for messages."""
    name = LABELS.get(field)
    return f"{field}（{name}）" if name else field


def message(field: str, text: str) -> str:
    return f"{label(field)}：{text}"


def field_error(field: str, text: str, value: object = None) -> InvalidInput:
    """A 422 naming the field, for checks that need the database (parents, duplicates)."""
    return InvalidInput.field(field, text, value)


# --- plate numbers (GA 36-2018) -------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = PLATE_LETTERS = "A-HJ-NP-Z"  # I and O are never used: they read as 1 and 0
_ORDINARY = re.compile(rf"^[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{5}}$")
# New-energy plates, 8 characters. Small vehicles: D (pure electric) or F (other new energy), then a
# letter or digit, then four digits. Large vehicles: five digits, then D or F.
_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_LETTER}](?:[DF][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$")


def normalize_plate(value: str) -> str:
    """Drop spaces and the middle dot people write (赣A·D12345), upper-case the letters."""
    return re.sub(r"[\s·•・.\-]", "", value).upper()


def check_plate(value: str) -> str:
    """The normalised plate, or ``ValueError`` naming plate_number."""
    plate = normalize_plate(value)
    if not plate:
        raise ValueError(message("plate_number", "不能为空"))
    if plate[0] not in PROVINCES:
        raise ValueError(message("plate_number", f"车牌号格式不正确：首字“{plate[0]}”不是省份简称"))
    if len(plate) == 7 and _ORDINARY.match(plate):
        return plate
    if len(plate) == 8 and _NEW_ENERGY.match(plate):
        return plate
    if len(plate) not in (7, 8):
        raise ValueError(message("plate_number", "车牌号格式不正确：应为 7 位（普通）或 8 位（新能源）"))
    if re.search("[IO]", plate[1:]):
        raise ValueError(message("plate_number", "车牌号格式不正确：不能使用字母 I 或 O"))
    if len(plate) == 8:
        raise ValueError(
            message("plate_number", "车牌号格式不正确：新能源号牌序号的第一位或最后一位应为 D 或 F，其余为数字")
        )
    raise ValueError(message("plate_number", "车牌号格式不正确：应为省份简称 + 发牌机关字母 + 5 位字母或数字"))


# --- division codes (GB/T 2260 and the statistical 12-digit codes) --------------------------

Level = Literal["city", "county", "street", "community"]
LEVEL_LENGTH: dict[str, int] = {"city": 6, "county": 6, "street": 9, "community": 12}
LEVEL_FIELD = {"county": "county_code", "street": "street_code", "community": "community_code"}
PARENT_LEVEL: dict[str, str] = {"county": "city", "street": "county", "community": "street"}


def check_division_code(value: str, level: str, field: str | None = None) -> str:
    """Digits of the right length for the level; a city code ends in 00, a county code does not."""
    field = field or LEVEL_FIELD.get(level, "code")
    value = value.strip()
    size = LEVEL_LENGTH[level]
    if len(value) != size or not value.isdigit():
        raise ValueError(message(field, f"应为 {size} 位数字"))
    if level == "city" and not value.endswith("00"):
        raise ValueError(message(field, "市级代码应以 00 结尾"))
    if level == "county" and value.endswith("00"):
        raise ValueError(message(field, "县级代码不能以 00 结尾（以 00 结尾的是市级代码）"))
    return value


def parent_code_of(code: str, level: str) -> str:
    """The parent a code must hang under, read from the code itself."""
    if level == "county":
        return code[:4] + "00"
    if level == "street":
        return code[:6]
    if level == "community":
        return code[:9]
    raise ValueError(level)


def check_under(code: str, level: str, parent: str) -> None:
    """``ValueError`` unless ``code`` belongs to ``parent`` (a street under its county, ...)."""
    if parent_code_of(code, level) != parent:
        field = LEVEL_FIELD[level]
        parent_field = LEVEL_FIELD.get(PARENT_LEVEL[level], "parent_code")
        raise ValueError(message(field, f"{code} 不属于 {label(parent_field)} {parent}"))


# --- coordinates, WGS-84, inside China's bounding box ----------------------------------------

LAT_RANGE = (3.8, 53.6)
LNG_RANGE = (73.5, 135.1)


def check_lat(value: float) -> float:
    if not LAT_RANGE[0] <= value <= LAT_RANGE[1]:
        raise ValueError(message("lat", f"应在 {LAT_RANGE[0]} 到 {LAT_RANGE[1]} 之间（中国境内，WGS-84）"))
    return value


def check_lng(value: float) -> float:
    if not LNG_RANGE[0] <= value <= LNG_RANGE[1]:
        raise ValueError(message("lng", f"应在 {LNG_RANGE[0]} 到 {LNG_RANGE[1]} 之间（中国境内，WGS-84）"))
    return value


# --- categories (GB/T 19095-2019) -----------------------------------------------------------

WasteCategory = Literal["recyclable", "hazardous", "kitchen", "residual"]
# Vehicles also carry bulky waste (大件垃圾), which the standard handles apart.
VehicleCategory = Literal["recyclable", "hazardous", "kitchen", "residual", "bulky"]
# Facilities serving several categories (bin groups, drop points, stations) are "mixed".
FacilityCategory = Literal["recyclable", "hazardous", "kitchen", "residual", "mixed"]
CATEGORY_NAMES = {
    "recyclable": "可回收物",
    "hazardous": "有害垃圾",
    "kitchen": "厨余垃圾",
    "residual": "其他垃圾",
    "bulky": "大件垃圾",
    "mixed": "多类别",
}
EnergyType = Literal["diesel", "gasoline", "electric", "hybrid", "hydrogen", "lng", "cng"]

SiteKind = Literal[
    "residential",
    "public_institution",
    "public_place",
    "business_area",
    "education",
    "medical",
    "farmers_market",
]
SITE_KINDS: tuple[str, ...] = get_args(SiteKind)
SITE_KIND_NAMES = {
    "residential": "居民小区",
    "public_institution": "公共机构",
    "public_place": "公共场所",
    "business_area": "经营区域",
    "education": "教育机构",
    "medical": "医疗机构",
    "farmers_market": "农贸市场",
}

FacilityKind = Literal[
    "bin_group",
    "smart_box",
    "drop_point",
    "hazardous_store",
    "recycling_point",
    "sorting_center",
    "collection_station",
    "transfer_station",
    "treatment_incineration",
    "treatment_kitchen",
    "treatment_landfill",
    "treatment_hazardous",
]
FACILITY_KIND_NAMES = kinds.FACILITY_KIND_NAMES
# The category a facility kind implies when the body gives none, and the kinds tied to one.
FACILITY_DEFAULT_CATEGORY = {
    "hazardous_store": "hazardous",
    "recycling_point": "recyclable",
    "sorting_center": "recyclable",
    "treatment_incineration": "residual",
    "treatment_kitchen": "kitchen",
    "treatment_landfill": "residual",
    "treatment_hazardous": "hazardous",
}
FACILITY_FIXED_CATEGORY = {
    "hazardous_store": "hazardous",
    "recycling_point": "recyclable",
    "treatment_kitchen": "kitchen",
    "treatment_hazardous": "hazardous",
}


def facility_category(kind: str, category: str | None) -> str:
    """The category a facility gets: as given, or implied by its kind (``mixed`` otherwise)."""
    fixed = FACILITY_FIXED_CATEGORY.get(kind)
    if category is None:
        return FACILITY_DEFAULT_CATEGORY.get(kind, "mixed")
    if fixed and category != fixed:
        raise ValueError(
            message(
                "category",
                f"{FACILITY_KIND_NAMES[kind]}的垃圾类别只能是 {fixed}（{CATEGORY_NAMES[fixed]}）",
            )
        )
    return category
