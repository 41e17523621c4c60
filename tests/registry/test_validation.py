"""Field rules: plates (GA 36-2018), division codes, coordinates, facility categories."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.registry import validation as v
from services.registry.schemas import FacilityCreate, SiteCreate, VehicleCreate, VehicleUpdate

VALID_PLATES = [
    ("赣A12345", "赣A12345"),
    ("赣AB1234", "赣AB1234"),
    ("京N9Z8Y7", "京N9Z8Y7"),
    ("琼A00000", "琼A00000"),
    ("赣AD12345", "赣AD12345"),  # small new-energy: D first
    ("赣AF12345", "赣AF12345"),
    ("赣ADA1234", "赣ADA1234"),  # second of six may be a letter
    ("赣A12345D", "赣A12345D"),  # large new-energy: D/F last
    ("赣A12345F", "赣A12345F"),
    ("赣a·d12345", "赣AD12345"),  # middle dot and lower case are normalised
    (" 赣A 12345 ", "赣A12345"),
]
INVALID_PLATES = [
    ("", "不能为空"),
    ("X赣12345", "省份简称"),
    ("港A12345", "省份简称"),  # not in the list of province abbreviations
    ("赣I12345", "I 或 O"),  # I never used as issuing letter
    ("赣AO1234", "I 或 O"),
    ("赣A1234I", "I 或 O"),
    ("赣1A2345", "格式不正确"),  # issuing authority must be a letter
    ("赣A1234", "7 位"),
    ("赣A123456789", "7 位"),
    ("赣A1D2345", "D 或 F"),  # D in the middle
    ("赣AD1234A", "D 或 F"),  # small new-energy: last four digits
    ("赣A123456", "D 或 F"),  # eight characters but no D/F
    ("赣AE12345", "D 或 F"),
    ("赣A#1234", "格式不正确"),
]


@pytest.mark.parametrize(("raw", "normalised"), VALID_PLATES)
def test_valid_plates(raw: str, normalised: str) -> None:
    assert v.check_plate(raw) == normalised


@pytest.mark.parametrize(("raw", "fragment"), INVALID_PLATES)
def test_invalid_plates_name_the_field(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        v.check_plate(raw)
    text = str(info.value)
    assert text.startswith("plate_number（车牌号）：")
    assert fragment in text


def test_every_province_abbreviation_accepted() -> None:
    assert len(v.PROVINCES) == 31
    for p in v.PROVINCES:
        assert v.check_plate(f"{p}A12345") == f"{p}A12345"


@pytest.mark.parametrize(
    ("code", "level", "ok"),
    [
        ("360100", "city", True),
        ("360102", "city", False),
        ("360102", "county", True),
        ("360100", "county", False),  # a city code
        ("36010", "county", False),
        ("36010a", "county", False),
        ("360102001", "street", True),
        ("36010200", "street", False),
        ("360102001001", "community", True),
        ("3601020010011", "community", False),
    ],
)
def test_division_code_format(code: str, level: str, ok: bool) -> None:
    if ok:
        assert v.check_division_code(code, level) == code
    else:
        with pytest.raises(ValueError):
            v.check_division_code(code, level)


def test_division_parent_relation() -> None:
    v.check_under("360102", "county", "360100")
    v.check_under("360102001", "street", "360102")
    v.check_under("360102001001", "community", "360102001")
    with pytest.raises(ValueError, match=r"street_code（街道（乡镇）代码）：360103001 不属于"):
        v.check_under("360103001", "street", "360102")
    with pytest.raises(ValueError, match="community_code"):
        v.check_under("360102002001", "community", "360102001")
    with pytest.raises(ValueError):
        v.check_under("360202", "county", "360100")


@pytest.mark.parametrize(
    ("lat", "lng", "field"),
    [(3.79, 115.0, "lat"), (53.61, 115.0, "lat"), (28.0, 73.4, "lng"), (28.0, 135.2, "lng"), (-28.0, 115.0, "lat")],
)
def test_coordinates_outside_china(lat: float, lng: float, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        FacilityCreate(kind="bin_group", name="x", lat=lat, lng=lng)
    assert f"{field}（{'纬度' if field == 'lat' else '经度'}）" in str(info.value)


def test_coordinates_at_the_edges_accepted() -> None:
    FacilityCreate(kind="bin_group", name="x", lat=3.8, lng=73.5)
    FacilityCreate(kind="bin_group", name="x", lat=53.6, lng=135.1)


def test_facility_category_follows_kind() -> None:
    assert v.facility_category("bin_group", None) == "mixed"
    assert v.facility_category("hazardous_store", None) == "hazardous"
    assert v.facility_category("treatment_kitchen", None) == "kitchen"
    assert v.facility_category("transfer_station", "kitchen") == "kitchen"
    with pytest.raises(ValueError, match="category（垃圾类别）：有害垃圾暂存点的垃圾类别只能是 hazardous"):
        v.facility_category("hazardous_store", "kitchen")


def test_categories_of_the_standard() -> None:
    base = {"plate_number": "赣A12345", "energy_type": "diesel", "operator_name": "x"}
    for category in ("recyclable", "hazardous", "kitchen", "residual", "bulky"):
        VehicleCreate(category=category, **base)
    with pytest.raises(ValidationError):
        VehicleCreate(category="mixed", **base)
    with pytest.raises(ValidationError):
        FacilityCreate(kind="bin_group", name="x", lat=28, lng=115, category="bulky")


def test_platform_fields_and_immutables_refused() -> None:
    with pytest.raises(ValidationError, match="code（统一编号）：由平台统一分配"):
        VehicleCreate.model_validate(
            {
                "code": "X",
                "plate_number": "赣A12345",
                "category": "kitchen",
                "energy_type": "diesel",
                "operator_name": "x",
            }
        )
    with pytest.raises(ValidationError, match="county_code（所属县区代码）：创建后不能修改"):
        VehicleUpdate.model_validate({"county_code": "360103"})
    with pytest.raises(ValidationError, match="status（状态）"):
        VehicleUpdate.model_validate({"status": "active"})
    with pytest.raises(ValidationError, match="plate_number（车牌号）：不能为空"):
        VehicleUpdate.model_validate({"plate_number": None})


def test_site_codes_checked_in_schema() -> None:
    with pytest.raises(ValidationError, match="street_code（街道（乡镇）代码）：应为 9 位数字"):
        SiteCreate(kind="residential", name="x", street_code="3601020")
