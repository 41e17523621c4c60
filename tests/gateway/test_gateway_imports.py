"""Bulk import and export pages through the gateway, with the real registry in-process: the
per-row error report, a clean file confirmed into records, a malformed file's message on the
form, who may import, the export of a filtered list."""

from __future__ import annotations

import io
import re
import time
from html import unescape
from typing import Any

import pytest
from openpyxl import load_workbook

from gateway.clients import ImportJob
from gateway.imports_pages import created_list_href, job_view
from gateway.render import env
from tests.gateway.conftest import HAS_REGISTRY, Gateway
from tests.gateway.test_gateway_dashboard import table, vehicle

pytestmark = pytest.mark.skipif(not HAS_REGISTRY, reason="needs the registry service")

HEADER = "所属县区代码,车牌号,垃圾类别,能源类型,核定载重（吨）,运营单位\n"
CLEAN = (
    HEADER + "360102,赣AD12345,厨余垃圾,纯电动,2.5,示范环卫有限公司\n360102,赣A54321,其他垃圾,柴油,5,示范环卫有限公司\n"
)
WITH_ERRORS = (
    HEADER
    + "360102,赣AI2345,厨余垃圾,纯电动,2.5,示范环卫有限公司\n"  # I is never used on plates
    + "360102,赣A11111,湿垃圾,柴油,5,示范环卫有限公司\n"  # not a category
    + "360102,赣A22222,其他垃圾,柴油,5,示范环卫有限公司\n"  # fine
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(gw: Gateway, csrf: str, kind: str, name: str, content: bytes, ctype: str = "text/csv") -> Any:
    return gw.client.post(
        "/registry/imports",
        data={"csrf_token": csrf, "kind": kind},
        files={"file": (name, content, ctype)},
        follow_redirects=False,
    )


def wait_for(gw: Gateway, job_url: str, done: tuple[str, ...], timeout: float = 20) -> str:
    """The job page once its status is one of ``done`` (the registry works in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        page = gw.client.get(job_url)
        assert page.status_code == 200, page.text
        status = re.search(r'data-status="(\w+)"', page.text)
        assert status, page.text
        if status.group(1) in done:
            return page.text
        assert time.monotonic() < deadline, f"job still {status.group(1)}"
        # while it runs, the fragment polls itself every second
        assert 'hx-trigger="every 1s"' in page.text
        time.sleep(0.1)


def job_url(resp: Any) -> str:
    assert resp.status_code == 303, resp.text
    location: str = resp.headers["location"]
    assert re.fullmatch(r"/registry/imports/[\w-]+", location), location
    return location


def test_leader_and_unit_may_not_import(make_gateway: Any) -> None:
    gw = make_gateway()
    csrf = gw.login_as("leader")
    page = gw.client.get("/registry/imports")
    assert page.status_code == 403
    assert "upload-form" not in page.text
    assert "您的角色无权访问此页面" in page.text
    assert upload(gw, csrf, "vehicles", "a.csv", CLEAN.encode()).status_code == 403
    assert 'href="/registry/imports"' not in gw.client.get("/").text  # not in the navigation
    gw2 = make_gateway()
    gw2.login_as("unit", unit_code="U05")
    assert gw2.client.get("/registry/imports").status_code == 403


def test_upload_form_and_template(gw: Gateway) -> None:
    gw.login_as("office")
    page = gw.client.get("/registry/imports?kind=vehicles")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert re.search(r'name="csrf_token" value="[^"]+"', page.text)
    assert 'value="vehicles" checked' in page.text
    assert 'href="/registry/imports/templates/vehicles"' in page.text
    resp = gw.client.get("/registry/imports/templates/vehicles")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith(XLSX)
    assert "attachment" in resp.headers.get("content-disposition", "")
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    headers = [str(c) for c in next(sheet.iter_rows(max_row=1, values_only=True)) if c]
    assert any("车牌号" in h for h in headers)


def test_file_with_errors_shows_the_report(gw: Gateway) -> None:
    csrf = gw.login_as("office")
    url = job_url(upload(gw, csrf, "vehicles", "车辆.csv", WITH_ERRORS.encode()))
    html = wait_for(gw, url, ("invalid",))
    assert "有错误" in html
    rows = table(html, "error-table")
    assert rows[0] == ["行号", "列", "值", "错误说明"]
    by_row = {r[0]: r for r in rows[1:]}
    assert set(by_row) == {"2", "3"}, rows
    assert by_row["2"][2] == "赣AI2345" and "I 或 O" in by_row["2"][3]
    assert by_row["3"][2] == "湿垃圾" and "垃圾类别" in by_row["3"][1]
    assert "下载错误报告 (XLSX)" in html
    assert "确认导入" not in html
    # a file with errors cannot be confirmed: the registry's 409 as an error page
    refused = gw.client.post(url + "/confirm", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "没有权限" not in refused.text and "<html" in refused.text
    report = gw.client.get(url + "/report")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith(XLSX)
    assert report.content[:2] == b"PK"
    # nothing was written
    listed = gw.client.get("/api/v1/registry/vehicles", headers={"X-CSRF-Token": csrf}).json()
    assert listed["items"] == []
    # the job list lets one come back to it
    index = gw.client.get("/registry/imports").text
    assert f'href="{url}"' in index
    assert "车辆.csv" in index


def test_clean_file_confirmed_creates_the_records(gw: Gateway) -> None:
    csrf = gw.login_as("office")
    url = job_url(upload(gw, csrf, "vehicles", "clean.csv", CLEAN.encode()))
    html = wait_for(gw, url, ("ready",))
    assert "校验通过" in html
    assert 'action="' + url + '/confirm"' in html
    assert "确认导入" in html
    resp = gw.client.post(url + "/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == url
    html = wait_for(gw, url, ("done",))
    assert "已导入 <strong>2</strong> 条车辆" in html
    listed = gw.client.get("/api/v1/registry/vehicles", headers={"X-CSRF-Token": csrf}).json()["items"]
    plates = sorted(v["plate_number"] for v in listed)
    assert plates == ["赣A54321", "赣AD12345"]
    assert " 至 " not in html  # no first…last "range": each county numbers on its own
    link = re.search(r'href="([^"]+)" id="created-link"', html)
    assert link and link.group(1) == f"/registry/vehicles?import_job={url.rsplit('/', 1)[1]}"
    assert "查看本次导入的 2 条车辆" in html
    gw.client.post(  # registered by hand afterwards: not in the import's list
        "/registry/vehicles/new",
        data={"csrf_token": csrf, "plate_number": "赣AF99999", "category": "kitchen", "energy_type": "electric",
              "operator_name": "示范环卫有限公司", "county_code": "360102"},
    )  # fmt: skip
    assert len(gw.client.get("/api/v1/registry/vehicles", headers={"X-CSRF-Token": csrf}).json()["items"]) == 3
    imported = gw.client.get(link.group(1)).text
    count_url = re.search(r'id="records-total" hx-get="([^"]+)"', imported)
    assert count_url and "import_job=" in count_url.group(1)  # the count follows the import's filter
    count = gw.client.get(unescape(count_url.group(1)), headers={"HX-Request": "true"}).text
    assert "共 <strong>2</strong> 辆车辆" in count and "只显示一次导入登记的车辆" in imported
    assert "赣A54321" in imported and "赣AD12345" in imported and "赣AF99999" not in imported
    export = gw.client.get(f"/registry/vehicles/export?format=csv&import_job={url.rsplit('/', 1)[1]}")
    assert len(export.content.decode("utf-8-sig").strip().splitlines()) == 3
    # a second click on "确认导入" (another tab) changes nothing
    again = gw.client.post(url + "/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 303
    assert len(gw.client.get("/api/v1/registry/vehicles", headers={"X-CSRF-Token": csrf}).json()["items"]) == 3


def test_confirm_needs_the_csrf_token(gw: Gateway) -> None:
    csrf = gw.login_as("office")
    url = job_url(upload(gw, csrf, "vehicles", "clean.csv", CLEAN.encode()))
    wait_for(gw, url, ("ready",))
    assert gw.client.post(url + "/confirm", data={}, follow_redirects=False).status_code == 403


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("empty.csv", b""),
    ],
)
def test_malformed_file_message_on_the_form(gw: Gateway, name: str, content: bytes) -> None:
    csrf = gw.login_as("office")
    resp = upload(gw, csrf, "vehicles", name, content, "application/octet-stream")
    assert 400 <= resp.status_code < 500, resp.text
    message = re.search(r'id="upload-error">([^<]+)<', resp.text)
    assert message, resp.text
    assert re.search(r"[\u4e00-\u9fff]", message.group(1))
    assert 'id="upload-form"' in resp.text


def test_no_file_chosen(gw: Gateway) -> None:
    csrf = gw.login_as("office")
    resp = gw.client.post("/registry/imports", data={"csrf_token": csrf, "kind": "vehicles"})
    assert resp.status_code == 422
    assert "请选择要上传的文件" in resp.text


def test_export_streams_the_filtered_rows(gw: Gateway) -> None:
    csrf = gw.login_as("office")
    h = {"X-CSRF-Token": csrf}
    for county, plate, category in [
        ("360102", "赣A12345", "kitchen"),
        ("360102", "赣A23456", "residual"),
        ("360103", "赣A34567", "residual"),
    ]:
        resp = gw.client.post("/api/v1/registry/vehicles", json=vehicle(county, plate, category), headers=h)
        assert resp.status_code == 201, resp.text
    resp = gw.client.get("/registry/vehicles/export?county=360102&format=xlsx")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(XLSX)
    assert "attachment" in resp.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    text = [" ".join(str(c) for c in row if c is not None) for row in values[1:] if any(row)]
    assert len(text) == 2, values
    assert all("360102" in row for row in text)
    assert not any("赣A34567" in row for row in text)
    # filters combine; CSV too
    csv = gw.client.get("/registry/vehicles/export?county=360102&category=residual&format=csv")
    assert csv.status_code == 200
    body = csv.content.decode("utf-8-sig")
    assert "赣A23456" in body and "赣A12345" not in body and "赣A34567" not in body
    assert gw.client.get("/registry/vehicles/export?format=pdf").status_code == 404


def test_county_user_exports_only_its_county(gw: Gateway) -> None:
    csrf = gw.login_as("office")
    h = {"X-CSRF-Token": csrf}
    for county, plate in [("360102", "赣A12345"), ("360103", "赣A34567")]:
        assert gw.client.post("/api/v1/registry/vehicles", json=vehicle(county, plate, "kitchen"), headers=h).is_success
    gw.client.post("/logout", data={"csrf_token": csrf})
    gw.login_as("county", county_code="360103")
    body = gw.client.get("/registry/vehicles/export?format=csv").content.decode("utf-8-sig")
    assert "赣A34567" in body and "赣A12345" not in body


def _job(**kw: Any) -> ImportJob:
    return ImportJob.model_validate({"id": "j1", "kind": "vehicles", "status": "validating", **kw})


def test_the_job_fragment_polls_only_while_running() -> None:
    block = env.get_template("imports/job.html").blocks["job"]
    tmpl = env.get_template("imports/job.html")

    def render(job: ImportJob) -> str:
        return "".join(block(tmpl.new_context({"csrf_token": "t", **job_view(job)})))

    running = render(_job(total_rows=200, processed_rows=50))
    assert 'hx-trigger="every 1s"' in running and 'hx-get="/registry/imports/j1"' in running
    assert '<progress class="job-progress" max="100" value="25"' in running
    assert "50 / 200" in running
    writing = render(_job(status="writing", total_rows=10, processed_rows=10))
    assert 'hx-trigger="every 1s"' in writing
    for status in ("invalid", "ready", "done", "failed"):
        assert "hx-trigger" not in render(_job(status=status, total_rows=10, processed_rows=10))


def test_created_list_link() -> None:
    job = _job(status="done", first_code="360102-K00063", last_code="360121-K00053", created_count=30)
    assert created_list_href(job) == "/registry/vehicles?import_job=j1"  # exactly its records, any county
    assert created_list_href(_job(status="done")) == "/registry/vehicles"  # nothing registered
    assert created_list_href(_job(status="ready", created_count=0)) == "/registry/vehicles"
