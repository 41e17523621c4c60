"""The office's registry flow in a real browser, at desktop width and at 768 px: the dashboard,
filtering the vehicle list, registering a vehicle, importing a file with errors (the report) and
a clean one (confirmed, then listed).

Runs when SORTLINE_BROWSER_TESTS=1 (and then fails if Chromium is missing). The registry (a small
demo city) and the gateway run under uvicorn in background threads on temporary SQLite databases.
Screenshots go to /tmp/sortline-*-<width>.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

from tests.browser.test_admin_flow import CHROMIUM, CHROMIUM_ARGS, Server, free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("SORTLINE_BROWSER_TESTS") != "1", reason="set SORTLINE_BROWSER_TESTS=1"),
]

PASSWORD = "demo-pass-123"
VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "tablet": {"width": 768, "height": 1024},
}
HEADER = "所属县区代码,车牌号,垃圾类别,能源类型,核定载重（吨）,运营单位\n"


@pytest.fixture
def base_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from gateway import cli
    from gateway.app import create_app as gateway_app
    from gateway.config import Settings
    from services.common.db import make_engine
    from services.common.migrations import upgrade
    from services.registry.app import create_app as registry_app
    from services.registry.config import Settings as RegistrySettings
    from services.registry.demo import seed_demo

    registry_port, gateway_port = free_port(), free_port()
    monkeypatch.setenv("SORTLINE_REGISTRY_URL", f"http://127.0.0.1:{registry_port}")
    settings, registry_settings = Settings(), RegistrySettings()
    upgrade("gateway", settings.database_url)
    upgrade("registry", registry_settings.database_url)
    engine = make_engine(registry_settings.database_url)
    seed_demo(engine, size=300)
    engine.dispose()
    engine = cli.engine(settings)
    cli.seed_demo_users(engine, PASSWORD)
    engine.dispose()
    with Server(registry_app(registry_settings), registry_port), Server(gateway_app(settings), gateway_port):
        yield f"http://127.0.0.1:{gateway_port}"


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, base_url: str) -> Iterator[object]:
    assert os.path.exists(CHROMIUM) or shutil.which("chromium"), f"Chromium is missing at {CHROMIUM}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=base_url, locale="zh-CN", viewport=VIEWPORTS[request.param], accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.width = VIEWPORTS[request.param]["width"]  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=f"/tmp/sortline-{name}-{page.width}.png", full_page=True)


def no_horizontal_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


def test_office_registry_flow(page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # Log in: the dashboard.
    page.goto("/")
    page.get_by_label("用户名").fill("office")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="全市居民小区分类覆盖率")).to_be_visible()
    expect(page.locator("#residential-rate")).to_have_text(re.compile(r"^\d+\.\d%$"))
    expect(page.locator("#coverage-table tbody tr")).to_have_count(9)  # the demo city's counties
    expect(page.locator("#coverage-chart canvas")).to_have_count(1)  # ECharts drew
    expect(page.locator("#facility-counts .cat-blue .cat-label")).to_have_text("可回收物")
    no_horizontal_scroll(page)
    shot(page, "dashboard")

    # Filter the vehicle list by county and category (htmx swaps the table and pushes the URL).
    page.goto("/registry/vehicles")
    page.get_by_label("县区").select_option("360102")
    expect(page).to_have_url(re.compile(r"county=360102"))
    rows = page.locator("#records tbody tr")
    expect(rows.first).to_contain_text("东湖区")
    counties = rows.locator("td:nth-child(7)").all_inner_texts()
    assert counties and set(counties) == {"东湖区"}, counties
    page.get_by_label("垃圾类别").select_option("kitchen")
    expect(page).to_have_url(re.compile(r"category=kitchen"))
    for text in rows.locator("td:nth-child(3)").all_inner_texts():
        assert "厨余垃圾" in text
    shot(page, "vehicles")
    # Export what is shown: streamed from the registry through the gateway.
    with page.expect_download() as download:
        page.locator("#records").get_by_role("link", name="导出 Excel").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx" and saved.read_bytes()[:2] == b"PK"
    from openpyxl import load_workbook

    exported = list(load_workbook(saved, read_only=True).worksheets[0].iter_rows(values_only=True))[1:]
    assert exported and all("360102" in " ".join(str(c) for c in row if c) for row in exported if any(row))

    # Facilities by street: the street choices follow the county (swapped with the table); the bar counts.
    page.goto("/registry/facilities")
    expect(page.locator("#records-count")).to_contain_text("共 300 个设施")
    expect(page.get_by_label("街道（乡镇）")).to_be_disabled()
    page.get_by_label("县区").select_option("360102")
    expect(page.get_by_label("街道（乡镇）")).to_be_enabled()
    page.get_by_label("街道（乡镇）").select_option(label="公园街道")
    expect(page).to_have_url(re.compile(r"street=360102001"))
    expect(page.locator("#records-count")).to_contain_text(re.compile(r"共 \d+ 个设施"))
    assert page.locator("#records tbody tr").count() >= 1
    assert all("公园街道" in t for t in page.locator("#records tbody td:nth-child(6)").all_inner_texts())

    # Register a vehicle through the form: its unified number is shown.
    plate = "赣AD13579" if page.width > 1000 else "赣AD24680"
    page.goto("/registry/vehicles/new")
    page.get_by_label("车牌号").fill(plate)
    page.get_by_label("垃圾类别").select_option("kitchen")
    page.get_by_label("能源类型").select_option("electric")
    page.get_by_label("运营单位").fill("示范环卫有限公司")
    page.get_by_label("所属县区").select_option("360102")
    page.get_by_role("button", name=re.compile("登记|保存|提交")).click()
    expect(page.get_by_text(re.compile(r"360102-K\d{5}")).first).to_be_visible()
    vehicle_code = re.search(r"360102-K\d{5}", page.content())
    assert vehicle_code
    expect(page.get_by_text(plate).first).to_be_visible()
    shot(page, "vehicle-new")

    # Import a file with errors: the per-row report.
    page.goto("/registry/imports?kind=vehicles")
    expect(page.get_by_role("link", name="下载车辆导入模板 (XLSX)")).to_be_visible()
    shot(page, "imports")
    bad = tmp_path / "车辆-有错误.csv"
    bad.write_text(
        HEADER
        + "360102,赣AI2345,厨余垃圾,纯电动,2.5,示范环卫有限公司\n360102,赣A11111,湿垃圾,柴油,5,示范环卫有限公司\n",
        encoding="utf-8",
    )
    page.get_by_label("表格文件（XLSX 或 CSV）").set_input_files(str(bad))
    page.get_by_role("button", name="上传并校验").click()
    expect(page.locator("#job-status")).to_have_text("有错误")
    errors = page.locator("#error-table tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("赣AI2345")
    expect(errors.nth(1)).to_contain_text("湿垃圾")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载错误报告 (XLSX)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    no_horizontal_scroll(page)
    shot(page, "import-errors")

    # A clean file: ready, confirm, progress, done; the rows are in the list.
    plates = ["赣A13579", "赣A24680"] if page.width > 1000 else ["赣A35791", "赣A46802"]
    good = tmp_path / "车辆.csv"
    good.write_text(
        HEADER + "".join(f"360102,{p},其他垃圾,柴油,5,示范环卫有限公司\n" for p in plates), encoding="utf-8"
    )
    page.goto("/registry/imports?kind=vehicles")
    page.get_by_label("表格文件（XLSX 或 CSV）").set_input_files(str(good))
    page.get_by_role("button", name="上传并校验").click()
    expect(page.locator("#job-status")).to_have_text("待确认")
    shot(page, "import-ready")
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("#job-status")).to_have_text("已完成")
    expect(page.locator("#job-result")).to_contain_text("已导入 2 条车辆")
    shot(page, "import-done")
    page.locator("#created-link").click()
    expect(page.locator("#import-filter")).to_be_visible()
    expect(page.locator("#records-count")).to_contain_text("共 2 辆车辆")  # just the import's
    for p in plates:
        expect(page.locator("#records")).to_contain_text(p)

    # The job list brings one back to the jobs.
    page.goto("/registry/imports")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(2)
    expect(page.locator("#jobs-table")).to_contain_text("已完成")
    expect(page.locator("#jobs-table")).to_contain_text("有错误")

    # Back on the dashboard, this week's changes list the registration and the import.
    page.goto("/")
    changes = page.locator("#changes-table")
    expect(changes).to_contain_text(vehicle_code.group(0))
    for p in plates:
        expect(changes).to_contain_text(p)
    no_horizontal_scroll(page)
    shot(page, "dashboard-changes")
