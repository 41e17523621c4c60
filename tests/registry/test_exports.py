"""Exports: the list's filters and scope, the template's columns, XLSX and CSV, Chinese file names."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from urllib.parse import quote

from fastapi.testclient import TestClient

from services.common import clock
from services.registry.bulk.columns import FACILITIES, VEHICLES
from tests.registry.conftest import FACILITY, VEHICLE
from tests.registry.importing import read_xlsx

Headers = Callable[..., dict[str, str]]


def _seed(client: TestClient, as_: Headers) -> None:
    client.post("/facilities", json=FACILITY, headers=as_("county"))
    client.post("/facilities", json={**FACILITY, "kind": "bin_group", "name": "=1+1 桶组"}, headers=as_("county"))
    client.post(
        "/facilities",
        json={**FACILITY, "street_code": "360103001", "community_code": None, "county_code": "360103"},
        headers=as_("office"),
    )
    client.post("/vehicles", json=VEHICLE, headers=as_("county"))


def test_facility_export_as_xlsx_has_the_template_columns(client: TestClient, as_: Headers) -> None:
    _seed(client, as_)
    r = client.get("/facilities/export?format=xlsx", headers=as_("office"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    name = f"设施_全市_{clock.today().isoformat()}.xlsx"  # what, where, when
    assert f"filename*=UTF-8''{quote(name)}" in r.headers["content-disposition"]
    rows = read_xlsx(r.content)
    assert rows[0] == ["统一编号", *(c.header for c in FACILITIES.columns), "状态", "登记时间"]
    assert [row[0] for row in rows[1:]] == ["360102-F000001", "360102-F000002", "360103-F000001"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["设施类型"] == "有害垃圾暂存点" and first["垃圾类别"] == "有害垃圾" and first["状态"] == "在用"
    assert first["社区（村）代码"] == "360102001001" and first["所属县区代码"] == "360102"
    assert rows[2][4] == "=1+1 桶组"  # text, never a formula


def test_export_applies_the_list_filters_and_the_county_scope(client: TestClient, as_: Headers) -> None:
    _seed(client, as_)
    own = read_xlsx(client.get("/facilities/export", headers=as_("county")).content)
    assert [row[0] for row in own[1:]] == ["360102-F000001", "360102-F000002"]
    mixed = read_xlsx(client.get("/facilities/export?category=mixed", headers=as_("office")).content)
    assert [row[0] for row in mixed[1:]] == ["360102-F000002"]
    found = read_xlsx(client.get("/facilities/export?q=桶组", headers=as_("office")).content)
    assert len(found) == 2
    assert client.get("/facilities/export?county=360103", headers=as_("county")).status_code == 404
    assert client.get("/facilities/export?format=pdf", headers=as_("office")).status_code == 422
    assert client.get("/facilities/export").status_code == 401


def test_vehicle_export_as_csv_reads_back_in_excel_terms(client: TestClient, as_: Headers) -> None:
    _seed(client, as_)
    r = client.get("/vehicles/export?format=csv&energy_type=electric", headers=as_("county"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert (
        f"filename*=UTF-8''{quote(f'车辆_东湖区_{clock.today().isoformat()}.csv')}" in r.headers["content-disposition"]
    )
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["统一编号", *(c.header for c in VEHICLES.columns), "状态", "登记时间"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["车牌号"] == "赣AD12345" and record["能源类型"] == "纯电动" and record["垃圾类别"] == "厨余垃圾"
    assert record["所属县区代码"].strip() == "360102"
    assert len(rows) == 2


def test_site_export_and_empty_exports(client: TestClient, as_: Headers) -> None:
    r = client.get("/sites/export?format=csv", headers=as_("leader"))
    assert r.status_code == 200
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[0] == "统一编号"
    assert len(read_xlsx(client.get("/sites/export", headers=as_("leader")).content)) == 1
