"""Bulk import: templates, whole-file validation with a per-row report, confirm (all or nothing),
scope, idempotency, the background worker and crash recovery."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from services.common import clock
from services.common.tabular import REPORT_HEADERS
from services.registry import repository
from services.registry.app import create_app
from services.registry.bulk import jobs
from services.registry.bulk import repository as bulk_repository
from services.registry.config import Settings
from services.registry.models import facility_t, history_t, import_job_t, outbox, vehicle_t
from services.registry.models import jobs as kernel_jobs
from tests.registry.conftest import VEHICLE
from tests.registry.importing import (
    FACILITY_HEADERS,
    SITE_HEADERS,
    VEHICLE_HEADERS,
    csv_file,
    facility_row,
    read_xlsx,
    stored_uploads,
    xlsx_file,
)

Headers = Callable[..., dict[str, str]]
job_t = kernel_jobs.job
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs run in the request's background task: done when the response is back."""
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_INLINE", "1")


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def upload(
    client: TestClient, headers: dict[str, str], kind: str, data: bytes, name: str = "导入.csv", ctype: str = CSV
) -> Any:
    return client.post(f"/imports?kind={kind}", files={"file": (name, data, ctype)}, headers=headers)


def validated(client: TestClient, headers: dict[str, str], kind: str, data: bytes, **kw: str) -> dict[str, Any]:
    """Upload, then the job as the page sees it once the (inline) worker has validated it."""
    r = upload(client, headers, kind, data, **kw)
    assert r.status_code == 202, r.text
    job: dict[str, Any] = client.get(f"/imports/{r.json()['id']}", headers=headers).json()
    return job


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sites", "facilities", "vehicles"])
def test_template_has_chinese_headers_drop_downs_text_codes_and_an_example(
    client: TestClient, as_: Headers, kind: str
) -> None:
    r = client.get(f"/imports/templates/{kind}", headers=as_("county"))
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    label = {"sites": "管理对象", "facilities": "设施", "vehicles": "车辆"}[kind]
    assert f"filename*=UTF-8''{quote(label + '导入模板.xlsx')}" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "所属县区代码"
    assert ws.column_dimensions["A"].number_format == "@"  # county codes stay text
    assert ws.cell(row=2, column=1).value == "360102"  # the example row
    assert ws.data_validations.dataValidation  # drop-downs
    if kind == "facilities":
        assert "*设施类型" in headers and "*纬度" in headers
        formulas = " ".join(str(dv.formula1) for dv in ws.data_validations.dataValidation)
        assert "四分类桶组" in formulas or "下拉选项" in formulas
    assert "说明" in wb.sheetnames


def test_template_of_an_unknown_kind_is_422(client: TestClient, as_: Headers) -> None:
    assert client.get("/imports/templates/planets", headers=as_("county")).status_code == 422


def test_the_template_itself_uploads_as_no_data(client: TestClient, as_: Headers) -> None:
    template = client.get("/imports/templates/facilities", headers=as_("county")).content
    r = upload(client, as_("county"), "facilities", template, "模板.xlsx", XLSX)
    assert r.status_code == 422 and "没有数据行" in r.json()["message"]


# --- the whole flow ----------------------------------------------------------------------------


def test_county_imports_facilities_from_utf8_csv(client: TestClient, as_: Headers, engine: Engine) -> None:
    rows = [facility_row(i, county="" if i % 2 else "360102") for i in range(1, 6)]
    rows[0][1] = "有害垃圾暂存点"  # label; category implied (hazardous)
    rows[1][1] = "smart_box"  # API values are accepted too
    rows[1][2] = "厨余垃圾"
    r = upload(client, as_("county"), "facilities", csv_file(FACILITY_HEADERS, rows), "设施.csv")
    assert r.status_code == 202
    job = r.json()
    assert job["kind"] == "facilities" and job["filename"] == "设施.csv"
    job = client.get(f"/imports/{job['id']}", headers=as_("county")).json()
    assert job["status"] == "ready", job
    assert (job["total_rows"], job["processed_rows"], job["error_count"], job["errors"]) == (5, 5, 0, [])
    assert "校验通过" in job["message"]
    assert _count(engine, facility_t) == 0  # nothing before the confirm

    r = client.post(f"/imports/{job['id']}/confirm", headers=as_("county"))
    assert r.status_code == 202
    job = client.get(f"/imports/{job['id']}", headers=as_("county")).json()
    assert job["status"] == "done", job
    assert (job["created_count"], job["first_code"], job["last_code"]) == (5, "360102-F000001", "360102-F000005")
    assert "已登记 5 个设施" in job["message"] and job["finished_at"]

    items = client.get("/facilities", headers=as_("county")).json()["items"]
    assert [f["name"] for f in items] == [f"测试桶组{i}号" for i in range(1, 6)]  # numbers in file order
    assert items[0]["category"] == "hazardous" and items[1]["kind"] == "smart_box"
    assert items[1]["category"] == "kitchen" and items[2]["category"] == "mixed"
    with engine.connect() as conn:
        hist = conn.execute(select(history_t.c.code, history_t.c.county_code, history_t.c.action)).all()
        events = conn.execute(select(outbox.table.c.type, outbox.table.c.subject)).all()
        assert repository.table_counts(conn) == {k: n for k, n in _counters(conn).items() if n}
    assert len(hist) == 5 and {h.county_code for h in hist} == {"360102"} and {h.action for h in hist} == {"created"}
    assert [e.type for e in events].count("sortline.registry.facility.registered") == 5
    assert ("sortline.registry.import.completed", job["id"]) in [(e.type, e.subject) for e in events]
    # the next registration continues the sequence
    created = client.post(
        "/facilities",
        json={"kind": "bin_group", "name": "x", "street_code": "360102001", "lat": 28.7, "lng": 115.9},
        headers=as_("county"),
    ).json()
    assert created["code"] == "360102-F000006"
    assert client.get("/stats", headers=as_("county")).json()["facilities"]["total"] == 6


def _counters(conn: Any) -> dict[Any, int]:
    return {(k, c, cat, sub, st): n for k, c, cat, sub, st, n in repository.counts(conn, None)}


def test_office_imports_vehicles_from_gb18030_csv_across_counties(
    client: TestClient, as_: Headers, engine: Engine
) -> None:
    rows = [
        ["360102", "赣A·D1234 5", "厨余垃圾", "纯电动", "2.5", "示范环卫有限公司", "V-1"],
        ["360103", "赣A12345", "residual", "柴油", "8", "洪城环境服务有限公司", ""],
        ["360102", "赣A54321", "大件垃圾", "diesel", "", "示范环卫有限公司", "V-2"],
    ]
    job = validated(client, as_("office"), "vehicles", csv_file(VEHICLE_HEADERS, rows, "gb18030"), name="车辆.csv")
    assert job["status"] == "ready", job
    client.post(f"/imports/{job['id']}/confirm", headers=as_("office"))
    job = client.get(f"/imports/{job['id']}", headers=as_("office")).json()
    assert job["status"] == "done" and job["created_count"] == 3
    codes = [v["code"] for v in client.get("/vehicles", headers=as_("office")).json()["items"]]
    assert codes == ["360102-B00002", "360102-K00001", "360103-Q00001"]
    plate = client.get("/vehicles/360102-K00001", headers=as_("office")).json()["plate_number"]
    assert plate == "赣AD12345"  # normalised as the API does


def test_office_imports_sites_from_xlsx(client: TestClient, as_: Headers) -> None:
    rows: list[list[object]] = [
        ["360102", "居民小区", "滨江花园", "360102001", "360102001001", "是", "2021/7/1", "是", "是"],
        ["360103", "education", "朝阳小学", "360103001", None, "否", None, "否", "否"],
        ["360102", "居民小区", "新建小区", "360102002", "360102002001", "是", None, "是", "是"],
    ]
    job = validated(client, as_("office"), "sites", xlsx_file(SITE_HEADERS, rows), name="管理对象.xlsx", ctype=XLSX)
    assert job["status"] == "ready", job["errors"]
    client.post(f"/imports/{job['id']}/confirm", headers=as_("office"))
    sites = {s["name"]: s for s in client.get("/sites", headers=as_("office")).json()["items"]}
    assert sites["滨江花园"]["covered_since"] == "2021-07-01" and sites["滨江花园"]["covered"] is True
    assert sites["朝阳小学"]["covered"] is False and sites["朝阳小学"]["county_code"] == "360103"
    assert sites["新建小区"]["covered_since"] == clock.today().isoformat()


# --- every kind of error -----------------------------------------------------------------------


def test_every_row_error_is_reported_and_nothing_is_written(client: TestClient, as_: Headers, engine: Engine) -> None:
    existing = client.post(
        "/facilities",
        json={"kind": "bin_group", "name": "已有", "street_code": "360102001", "lat": 28.7, "lng": 115.9,
              "external_id": "EXT-IN-DB"},
        headers=as_("county"),
    ).json()  # fmt: skip
    rows = [
        facility_row(1),  # fine
        facility_row(2, name=""),  # 3: required
        facility_row(3, kind="垃圾桶"),  # 4: not a choice
        facility_row(4, lat=95),  # 5: out of range
        facility_row(5, street="360103001", community=""),  # 6: street of another county
        facility_row(6, community="360102001099"),  # 7: community not registered
        facility_row(7, county="360103"),  # 8: another county
        facility_row(8, kind="有害垃圾暂存点", category="厨余垃圾"),  # 9: category fixed by the kind
        facility_row(9, external="EXT-360102-1"),  # 10: duplicate of row 2
        facility_row(10, external="EXT-IN-DB"),  # 11: in the database
        facility_row(11, community="3.60102E+11"),  # 12: Excel's scientific notation
        facility_row(12, lng="东经"),  # 13: not a number
        facility_row(13, street="", community="360102002001"),  # fine: the street comes from the community
    ]
    rows[6][4], rows[6][5] = "360103001", "360103001001"
    r = upload(client, as_("county"), "facilities", csv_file(FACILITY_HEADERS, rows))
    assert r.status_code == 202
    job = client.get(f"/imports/{r.json()['id']}", headers=as_("county")).json()
    assert job["status"] == "invalid"
    found = {(e["row"], e["column"]): e for e in job["errors"]}
    expected = {
        (3, "名称"): "必填",
        (4, "设施类型"): "应为 四分类桶组、",
        (5, "纬度"): "应在 3.8 到 53.6 之间",
        (6, "街道（乡镇）代码"): "360103001 不属于",
        (7, "社区（村）代码"): "360102001099 不是已登记的社区（村）",
        (8, "所属县区代码"): "只能导入本县区（360102）的记录",
        (9, "垃圾类别"): "有害垃圾暂存点的垃圾类别只能是 hazardous",
        (10, "县区系统编号"): "与第 2 行重复",
        (11, "县区系统编号"): f"已由 {existing['code']} 使用",
        (12, "社区（村）代码"): "科学计数法",
        (13, "经度"): "必须是数字",
    }
    for key, fragment in expected.items():
        assert key in found, (key, job["errors"])
        assert fragment in found[key]["message"], (key, found[key])
    assert job["error_count"] == len(expected) == len(job["errors"])
    assert found[(8, "所属县区代码")]["value"] == "360103"
    assert "发现 11 处错误" in job["message"] and "错误报告" in job["message"]
    assert _count(engine, facility_t) == 1

    confirm = client.post(f"/imports/{job['id']}/confirm", headers=as_("county"))
    assert confirm.status_code == 409 and "错误" in confirm.json()["message"]

    report = client.get(f"/imports/{job['id']}/report", headers=as_("county"))
    assert report.status_code == 200 and report.headers["content-type"] == XLSX
    assert "filename*=UTF-8''" in report.headers["content-disposition"]
    lines = read_xlsx(report.content)
    assert tuple(lines[0]) == REPORT_HEADERS and len(lines) == 1 + len(expected)
    assert [3, "名称", None, "必填"] in lines


def test_vehicle_plate_errors_in_file_and_against_the_database(client: TestClient, as_: Headers) -> None:
    client.post("/vehicles", json=VEHICLE, headers=as_("county"))  # 赣AD12345, NC-0001
    rows = [
        ["", "赣AI2345", "厨余垃圾", "纯电动", "", "示范环卫有限公司", ""],
        ["", "赣A11111", "厨余垃圾", "柴油", "", "示范环卫有限公司", ""],
        ["", "赣A 11111", "厨余垃圾", "柴油", "", "示范环卫有限公司", ""],
        ["", "赣AD12345", "厨余垃圾", "纯电动", "", "示范环卫有限公司", "NC-0001"],
        ["", "赣A22222", "煤炭", "核动力", "200", "", ""],
    ]
    job = upload(client, as_("key"), "vehicles", csv_file(VEHICLE_HEADERS, rows)).json()
    job = client.get(f"/imports/{job['id']}", headers=as_("key")).json()
    messages = {(e["row"], e["column"]): e["message"] for e in job["errors"]}
    assert "不能使用字母 I 或 O" in messages[(2, "车牌号")]
    assert "与第 3 行的车牌号重复" in messages[(4, "车牌号")]
    assert "已登记为车辆 360102-K00001" in messages[(5, "车牌号")]
    assert "已由 360102-K00001 使用" in messages[(5, "县区系统编号")]
    assert "应为" in messages[(6, "垃圾类别")] and "应为" in messages[(6, "能源类型")]
    assert messages[(6, "运营单位")] == "必填" and "不能大于 100" in messages[(6, "核定载重（吨）")]


def test_office_rows_need_a_county(client: TestClient, as_: Headers) -> None:
    rows = [facility_row(1, county=""), facility_row(2, county="360199")]
    job = upload(client, as_("office"), "facilities", csv_file(FACILITY_HEADERS, rows)).json()
    job = client.get(f"/imports/{job['id']}", headers=as_("office")).json()
    messages = {(e["row"], e["column"]): e["message"] for e in job["errors"]}
    assert "市级账号导入时每行须填写所属县区代码" in messages[(2, "所属县区代码")]
    assert "360199 不是已登记的县区" in messages[(3, "所属县区代码")]


def test_stored_errors_are_capped_but_all_counted(
    client: TestClient, as_: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_STORED_ERRORS", "250")
    rows = [facility_row(i, name="") for i in range(1, 2601)]
    job = upload(client, as_("county"), "facilities", csv_file(FACILITY_HEADERS, rows)).json()
    job = client.get(f"/imports/{job['id']}", headers=as_("county")).json()
    assert job["status"] == "invalid" and job["error_count"] == 2600 and job["processed_rows"] == 2600
    assert len(job["errors"]) == 200
    lines = read_xlsx(client.get(f"/imports/{job['id']}/report", headers=as_("county")).content)
    assert len(lines) == 1 + 250 + 1 and "另有 2,350 处错误未列出" in str(lines[-1][3])


# --- malformed files ---------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (9 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "不是 XLSX 或 CSV"),
        (b"", "没有数据行"),
        ("名称,颜色\n桶,绿\n".encode(), "表头有误"),
        (csv_file(FACILITY_HEADERS, []), "没有数据行"),
        (b"PK\x03\x04garbage", "文件已损坏"),
        (_zip_bomb(), "解压后过大"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧版 Excel"),
    ],
    ids=["png", "empty", "wrong-columns", "header-only", "broken-zip", "zip-bomb", "xls"],
)
def test_malformed_files_answer_422_in_chinese_and_create_no_job(
    client: TestClient, as_: Headers, engine: Engine, data: bytes, fragment: str
) -> None:
    r = upload(client, as_("county"), "facilities", data, "坏文件.dat")
    assert r.status_code == 422, r.text
    assert fragment in r.json()["message"]
    assert _count(engine, import_job_t) == 0
    assert not stored_uploads() and not list(jobs.imports_dir().iterdir())  # nothing stored


def _far_row(xlsx: bytes, number: int) -> bytes:
    """The one data row of ``xlsx`` moved (with its cells and the dimension) to row ``number``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = re.sub(r'r="([A-Z]*)2"', rf'r="\g<1>{number}"', body.decode())
                body = re.sub(r'<dimension ref="A1:([A-Z]+)2"', rf'<dimension ref="A1:\g<1>{number}"', text).encode()
            dst.writestr(info.filename, body)
    return out.getvalue()


def test_a_far_declared_row_is_refused_at_upload_at_once(client: TestClient, as_: Headers, engine: Engine) -> None:
    good = xlsx_file(FACILITY_HEADERS, [facility_row(1)])
    data = _far_row(good, 20_000_001)
    started = time.perf_counter()
    r = upload(client, as_("county"), "facilities", data, "设施.xlsx")
    assert time.perf_counter() - started < 1.0  # was 11 s at upload, then 22 s of the import worker
    assert r.status_code == 422, r.text
    assert "第 20,000,001 行" in r.json()["message"] and "超出了上限" in r.json()["message"]
    assert _count(engine, import_job_t) == 0
    assert upload(client, as_("county"), "facilities", good).status_code < 300  # its row where it belongs


def test_too_big_and_too_many_rows(client: TestClient, as_: Headers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_MAX_BYTES", "2000")
    big = csv_file(FACILITY_HEADERS, [facility_row(i) for i in range(100)])
    r = upload(client, as_("county"), "facilities", big)
    assert r.status_code == 422 and "文件太大" in r.json()["message"]


def test_too_many_rows_makes_the_job_invalid(client: TestClient, as_: Headers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_MAX_ROWS", "3")
    data = csv_file(FACILITY_HEADERS, [facility_row(i) for i in range(1, 6)])
    job = upload(client, as_("county"), "facilities", data).json()
    job = client.get(f"/imports/{job['id']}", headers=as_("county")).json()
    assert job["status"] == "invalid" and "数据行太多" in job["message"]
    assert job["errors"][-1]["column"] == "文件"


# --- scope, rights, idempotency ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["leader", "unit", "key_read", "inspector"])
def test_readers_cannot_import(client: TestClient, as_: Headers, who: str) -> None:
    r = upload(client, as_(who), "facilities", csv_file(FACILITY_HEADERS, [facility_row(1)]))
    assert r.status_code == 403 and r.json()["message"]


def test_jobs_are_visible_in_their_county_only(client: TestClient, as_: Headers) -> None:
    job = upload(client, as_("county"), "facilities", csv_file(FACILITY_HEADERS, [facility_row(1)])).json()
    other = validated(
        client, as_("county_other"), "facilities", csv_file(FACILITY_HEADERS, [facility_row(1, "360103")])
    )
    assert other["status"] == "ready"
    assert client.get(f"/imports/{job['id']}", headers=as_("county_other")).status_code == 404
    assert client.get(f"/imports/{job['id']}/report", headers=as_("county_other")).status_code == 404
    assert client.post(f"/imports/{job['id']}/confirm", headers=as_("county_other")).status_code == 404
    assert client.post(f"/imports/{job['id']}/confirm", headers=as_("leader")).status_code == 403
    assert client.get(f"/imports/{job['id']}", headers=as_("office")).status_code == 200
    mine = client.get("/imports", headers=as_("county")).json()["items"]
    assert [j["id"] for j in mine] == [job["id"]]
    assert len(client.get("/imports?kind=facilities", headers=as_("office")).json()["items"]) == 2
    assert client.get("/imports?kind=vehicles", headers=as_("office")).json()["items"] == []
    assert client.get("/imports/nope", headers=as_("office")).status_code == 404


def test_confirm_twice_writes_once(client: TestClient, as_: Headers, engine: Engine) -> None:
    job = upload(client, as_("county"), "facilities", csv_file(FACILITY_HEADERS, [facility_row(1)])).json()
    first = client.post(f"/imports/{job['id']}/confirm", headers=as_("county"))
    again = client.post(f"/imports/{job['id']}/confirm", headers=as_("county"))
    assert first.status_code == again.status_code == 202
    assert again.json()["status"] == "done" and again.json()["created_count"] == 1
    assert _count(engine, facility_t) == 1


def test_idempotency_key_gives_the_same_job(client: TestClient, as_: Headers, engine: Engine) -> None:
    data = csv_file(FACILITY_HEADERS, [facility_row(1)])
    a = upload(client, as_("key", **{"Idempotency-Key": "imp-1"}), "facilities", data).json()
    b = upload(client, as_("key", **{"Idempotency-Key": "imp-1"}), "facilities", data).json()
    assert a["id"] == b["id"] and _count(engine, import_job_t) == 1
    assert len(stored_uploads()) == 1
    other = upload(client, as_("key", **{"Idempotency-Key": "imp-1"}), "facilities", data + b"\n")
    assert other.status_code == 409


def test_a_plate_registered_after_validation_fails_the_job_and_writes_nothing(
    client: TestClient, as_: Headers, engine: Engine
) -> None:
    rows = [
        ["", "赣A11111", "厨余垃圾", "柴油", "", "示范环卫有限公司", ""],
        ["", "赣AD12345", "厨余垃圾", "纯电动", "", "示范环卫有限公司", ""],
    ]
    job = upload(client, as_("county"), "vehicles", csv_file(VEHICLE_HEADERS, rows)).json()
    assert client.get(f"/imports/{job['id']}", headers=as_("county")).json()["status"] == "ready"
    client.post("/vehicles", json=VEHICLE, headers=as_("county"))  # meanwhile, 赣AD12345
    assert client.post(f"/imports/{job['id']}/confirm", headers=as_("county")).status_code == 202
    job = client.get(f"/imports/{job['id']}", headers=as_("county")).json()
    assert job["status"] == "failed" and job["created_count"] == 0
    assert "第 3 行" in job["message"] and "车牌号" in job["message"] and "未写入任何数据" in job["message"]
    assert _count(engine, vehicle_t) == 1
    assert client.post(f"/imports/{job['id']}/confirm", headers=as_("county")).status_code == 409


# --- the background worker, recovery ------------------------------------------------------------


def _poll(client: TestClient, headers: dict[str, str], job_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/imports/{job_id}", headers=headers).json()
        if job["status"] in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stuck: {job}")


def test_background_worker_validates_and_writes_while_the_page_polls(
    engine: Engine, settings: Settings, as_: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_INLINE", "0")
    rows = [facility_row(i) for i in range(1, 3001)]
    with TestClient(create_app(settings, engine)) as client:  # runs the lifespan (recovery, worker)
        r = upload(client, as_("county"), "facilities", csv_file(FACILITY_HEADERS, rows))
        assert r.status_code == 202 and r.json()["status"] == "validating"
        job = _poll(client, as_("county"), r.json()["id"], {"ready", "invalid", "failed"})
        assert job["status"] == "ready" and job["processed_rows"] == 3000, job
        client.post(f"/imports/{job['id']}/confirm", headers=as_("county"))
        job = _poll(client, as_("county"), job["id"], {"done", "failed"})
        assert job["status"] == "done" and job["created_count"] == 3000
        assert job["last_code"] == "360102-F003000"
        assert client.get("/stats", headers=as_("county")).json()["facilities"]["total"] == 3000


def test_a_slow_import_does_not_hold_up_another_users(
    engine: Engine, settings: Settings, as_: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_INLINE", "0")
    gate = threading.Event()
    validate = jobs.Importer.validate_job

    def slow_validate(self: jobs.Importer, ctx: Any) -> None:
        with engine.connect() as conn:
            job = bulk_repository.load_job(conn, ctx.payload["import_id"])
        if job is not None and job["filename"].startswith("慢"):
            gate.wait(30)  # a file that takes its time
        validate(self, ctx)

    monkeypatch.setattr(jobs.Importer, "validate_job", slow_validate)
    data = csv_file(FACILITY_HEADERS, [facility_row(1)])
    try:
        with TestClient(create_app(settings, engine)) as client:
            a1 = upload(client, as_("county"), "facilities", data, "慢1.csv").json()["id"]
            a2 = upload(client, as_("county"), "facilities", data, "慢2.csv").json()["id"]
            b = upload(client, as_("key"), "facilities", data, "快.csv").json()["id"]
            job = _poll(client, as_("key"), b, {"ready", "invalid", "failed"})  # while A's first still runs
            assert job["status"] == "ready", job
            with engine.connect() as conn:
                kernel = {r.payload["import_id"]: r.state for r in conn.execute(select(job_t.c.payload, job_t.c.state))}
            assert kernel == {a1: "running", a2: "queued", b: "done"}  # never two of A's at once
            gate.set()
            for a in (a1, a2):
                assert _poll(client, as_("county"), a, {"ready", "invalid", "failed"})["status"] == "ready"
    finally:
        gate.set()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_jobs_left_running_by_a_dead_process_are_failed_at_startup(engine: Engine, settings: Settings) -> None:
    now = clock.now()
    host = socket.gethostname()
    base = {"kind": "facilities", "filename": "a.csv", "processed_rows": 0, "valid_rows": 0, "error_count": 0,
            "created_count": 0, "message": "", "created_by": "user:x", "created_by_name": "", "file_path": "/nope",
            "file_sha256": "0" * 64, "file_size": 1, "created_at": now, "updated_at": now}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(import_job_t),
            [
                {**base, "id": "dead", "status": "writing", "runner": f"{host}:{_dead_pid()}"},
                {**base, "id": "alive", "status": "validating", "runner": f"{host}:{os.getppid()}"},
                {**base, "id": "far-stale", "status": "validating", "runner": "other:1",
                 "updated_at": now - timedelta(hours=1)},
                {**base, "id": "far-fresh", "status": "writing", "runner": "other:1"},
                {**base, "id": "ready", "status": "ready", "runner": f"{host}:{_dead_pid()}"},
            ],
        )  # fmt: skip
    with TestClient(create_app(settings, engine)):
        pass
    with engine.connect() as conn:
        status = {row.id: row.status for row in conn.execute(select(import_job_t.c.id, import_job_t.c.status))}
        message = conn.execute(select(import_job_t.c.message).where(import_job_t.c.id == "dead")).scalar_one()
    assert status == {"dead": "failed", "alive": "validating", "far-stale": "failed", "far-fresh": "writing",
                      "ready": "ready"}  # fmt: skip
    assert message == jobs.INTERRUPTED


def test_error_messages_speak_of_the_sheets_columns_not_api_fields(client: TestClient, as_: Headers) -> None:
    """A person reads 所属县区代码, never ``county_code（所属县区代码）``: the report's 列 names the column."""
    rows = [
        facility_row(1, county="360199"),  # not a registered county
        facility_row(2, county="360102", street="360103001", community=""),  # street of another county
        facility_row(3, county="360102", kind="有害垃圾暂存点", category="厨余垃圾"),
        facility_row(4, county="360102", lat=95),
    ]
    job = upload(client, as_("office"), "facilities", csv_file(FACILITY_HEADERS, rows)).json()
    job = client.get(f"/imports/{job['id']}", headers=as_("office")).json()
    messages = {(e["row"], e["column"]): e["message"] for e in job["errors"]}
    assert messages[(2, "所属县区代码")] == "360199 不是已登记的县区"
    assert messages[(3, "街道（乡镇）代码")] == "360103001 不属于 所属县区代码 360102"
    assert messages[(4, "垃圾类别")].startswith("有害垃圾暂存点的垃圾类别只能是")
    assert messages[(5, "纬度")].startswith("应在 3.8 到 53.6 之间")
    report = read_xlsx(client.get(f"/imports/{job['id']}/report", headers=as_("office")).content)
    for line in [*messages.values(), *(str(r[3]) for r in report[1:])]:
        assert "_code" not in line, line
        assert not any(f"{f}（" in line for f in ("county_code", "street_code", "category", "lat")), line


def test_a_done_import_reports_its_count_and_lists_exactly_its_records(client: TestClient, as_: Headers) -> None:
    """Across counties first…last is no range: the job says how many, and ?import_job= lists just those."""
    client.post("/vehicles", json=VEHICLE, headers=as_("county"))  # registered by hand: not the import's
    rows = [
        ["360102", "赣A11111", "厨余垃圾", "柴油", "", "示范环卫有限公司", ""],
        ["360103", "赣A22222", "其他垃圾", "柴油", "", "洪城环境服务有限公司", ""],
    ]
    job = validated(client, as_("office"), "vehicles", csv_file(VEHICLE_HEADERS, rows))
    client.post(f"/imports/{job['id']}/confirm", headers=as_("office"))
    job = client.get(f"/imports/{job['id']}", headers=as_("office")).json()
    assert job["status"] == "done" and job["message"] == "已登记 2 个车辆" and "至" not in job["message"]
    page = client.get("/vehicles", params={"import_job": job["id"], "count": "true"}, headers=as_("office")).json()
    assert sorted(v["plate_number"] for v in page["items"]) == ["赣A11111", "赣A22222"] and page["total"] == 2
    export = client.get("/vehicles/export", params={"import_job": job["id"], "format": "csv"}, headers=as_("office"))
    assert len(export.content.decode("utf-8-sig").strip().splitlines()) == 3
    mine = client.get("/vehicles", params={"import_job": job["id"]}, headers=as_("county")).status_code
    assert mine == 404  # an office job is not the county's to see
    wrong = client.get("/sites", params={"import_job": job["id"]}, headers=as_("office"))
    assert wrong.status_code == 422 and "没有登记管理对象" in wrong.json()["message"]
