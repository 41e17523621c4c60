"""On a tablet (768x1024): the navigation folds into a menu that opens, 系统管理 holds 用户管理,
API 密钥 and 接口文档; the record form's map picker fills the coordinates by a click, over the
county outlines drawn without a tile service; a facility saved with GCJ-02 coordinates is stored
as WGS-84.

Runs when SORTLINE_BROWSER_TESTS=1; the registry (the demo city) and the gateway run under
uvicorn in background threads (``base_url`` of test_registry_flow). Screenshots go to
/tmp/sortline-nav-*.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

import pytest

from gateway.coords import distance_m, wgs84_to_gcj02
from tests.browser.test_admin_flow import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_registry_flow import PASSWORD, base_url, no_horizontal_scroll

__all__ = ["base_url"]  # the fixture, used by name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("SORTLINE_BROWSER_TESTS") != "1", reason="set SORTLINE_BROWSER_TESTS=1"),
]


@pytest.fixture
def tablet(base_url: str) -> Iterator[object]:
    assert os.path.exists(CHROMIUM) or shutil.which("chromium"), f"Chromium is missing at {CHROMIUM}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 768, "height": 1024})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def login(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


def test_tablet_navigation_folds_into_a_menu(tablet) -> None:
    from playwright.sync_api import expect

    page = tablet
    login(page, "admin")
    nav = page.get_by_role("navigation", name="主导航")
    menu = page.get_by_role("button", name="菜单")
    expect(menu).to_be_visible()
    expect(nav).to_be_hidden()  # folded, not wrapped over rows
    bar = page.locator("header.topbar").bounding_box()
    assert bar and bar["height"] < 120, bar
    no_horizontal_scroll(page)
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="设施", exact=True)).to_be_visible()
    admin = nav.locator("details.nav-group")
    expect(admin.locator("summary")).to_have_text("系统管理")
    for label in ("用户管理", "API 密钥", "接口文档"):
        expect(admin.get_by_role("link", name=label)).to_be_hidden()
    admin.locator("summary").click()
    for label in ("用户管理", "API 密钥", "接口文档"):
        expect(admin.get_by_role("link", name=label)).to_be_visible()
    page.screenshot(path="/tmp/sortline-nav-menu-768.png", full_page=True)
    admin.get_by_role("link", name="用户管理").click()
    expect(page.get_by_role("heading", name="用户管理")).to_be_visible()
    # the badge of a user's state stays on one line
    badge = page.locator("#users-table .badge").first
    assert badge.evaluate("b => getComputedStyle(b).whiteSpace") == "nowrap"
    box = badge.bounding_box()
    assert box and box["height"] < 30, box


def test_map_picker_and_gcj02_form(tablet) -> None:
    from playwright.sync_api import expect

    page = tablet
    login(page, "office")
    page.goto("/registry/facilities/new")
    picker = page.locator("#coord-picker")
    expect(picker).to_have_class(re.compile("leaflet-container"))
    # no tile service: the county outlines are drawn (one path per county with facilities)
    expect(picker.locator("path").first).to_be_attached()
    outlines = page.request.get("/registry/map/outlines").json()["items"]
    assert len(outlines) >= 2 and all(len(c["ring"]) >= 3 for c in outlines)
    expect(picker.locator(".county-label").first).to_have_text(re.compile(r"区|县|市"))
    picker.scroll_into_view_if_needed()
    page.locator("#f-coord_system").select_option("gcj02")
    box = picker.bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lat, lng = float(page.locator("#f-lat").input_value()), float(page.locator("#f-lng").input_value())
    lats = [p[0] for c in outlines for p in c["ring"]]
    lngs = [p[1] for c in outlines for p in c["ring"]]
    assert min(lats) <= lat <= max(lats) and min(lngs) <= lng <= max(lngs), (lat, lng)
    expect(page.locator("#f-coord_system")).to_have_value("wgs84")  # a click is WGS-84
    expect(picker.locator(".leaflet-marker-icon")).to_have_count(1)
    page.screenshot(path="/tmp/sortline-nav-picker-768.png", full_page=True)

    # The clerk pastes a 高德 (GCJ-02) position instead: stored as WGS-84.
    wgs = (28.6829, 115.8986)
    gcj = wgs84_to_gcj02(*wgs)
    page.locator("#f-kind").select_option("bin_group")
    page.locator("#f-name").fill("高德坐标桶组")
    page.locator("#f-county_code").select_option("360102")
    page.locator("#f-coord_system").select_option("gcj02")
    page.locator("#f-lat").fill(f"{gcj[0]:.7f}")
    page.locator("#f-lng").fill(f"{gcj[1]:.7f}")
    page.get_by_role("button", name="登记").click()
    expect(page).to_have_url(re.compile(r"/registry/facilities/360102-F\d+\?done=created"))
    code = re.search(r"360102-F\d+", page.url)
    assert code
    page.goto(f"/registry/facilities/{code.group(0)}/edit")
    stored = float(page.locator("#f-lat").input_value()), float(page.locator("#f-lng").input_value())
    assert distance_m(*stored, *wgs) < 1.0, stored
    expect(page.locator("#f-coord_system")).to_have_value("wgs84")
    # the picker shows the stored point
    expect(page.locator("#coord-picker .leaflet-marker-icon")).to_have_count(1)
