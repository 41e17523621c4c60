"""The quarter's archive in a real browser, at 1280 and at 768 px: the office presses 生成档案包 on
the quarter page, the panel follows the service's job (htmx polling) until the download is offered,
and the download is a ZIP whose manifest names the unit's evidence file.

Runs when SORTLINE_BROWSER_TESTS=1. The registry (demo city), the assessment service with its job
runner (archives are built by the kernel's runner) and the gateway run under uvicorn in background
threads on temporary SQLite databases. Screenshots go to /tmp/sortline-archive-<width>.png.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

from tests.browser.test_admin_flow import CHROMIUM, CHROMIUM_ARGS, Server, free_port
from tests.browser.test_assessment_flow import (
    CATALOGUE,
    PDF,
    UNIT,
    VIEWPORTS,
    NoSupervision,
    RegistryUnits,
    Weekdays,
    login,
    no_horizontal_scroll,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("SORTLINE_BROWSER_TESTS") != "1", reason="set SORTLINE_BROWSER_TESTS=1"),
]


@pytest.fixture
def archive_base_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    from gateway import cli
    from gateway.app import create_app as gateway_app
    from gateway.config import Settings
    from services.assessment.app import create_app as assessment_app
    from services.assessment.config import Settings as AssessmentSettings
    from services.common.auth import Caller, sign_token
    from services.common.db import make_engine
    from services.common.migrations import upgrade
    from services.common.storage import LocalStorage
    from services.registry.app import create_app as registry_app
    from services.registry.config import Settings as RegistrySettings
    from services.registry.demo import seed_demo

    registry_port, assessment_port, gateway_port = free_port(), free_port(), free_port()
    monkeypatch.setenv("SORTLINE_REGISTRY_URL", f"http://127.0.0.1:{registry_port}")
    monkeypatch.setenv("SORTLINE_ASSESSMENT_URL", f"http://127.0.0.1:{assessment_port}")
    monkeypatch.setenv("SORTLINE_ASSESSMENT_RUN_JOBS", "true")  # the archive is the runner's job
    settings, registry_settings, assessment_settings = Settings(), RegistrySettings(), AssessmentSettings()
    for name, url in (
        ("gateway", settings.database_url),
        ("registry", registry_settings.database_url),
        ("assessment", assessment_settings.database_url),
    ):
        upgrade(name, url)
    registry_engine = make_engine(registry_settings.database_url)
    seed_demo(registry_engine, size=300)
    peer = RegistryUnits(registry_engine)
    registry_engine.dispose()
    engine = cli.engine(settings)
    cli.seed_demo_users(engine, "demo-pass-123")
    engine.dispose()
    service = assessment_app(
        assessment_settings,
        registry=peer,
        supervision=NoSupervision(),
        calendar=Weekdays,
        storage=LocalStorage(tmp_path / "files"),
    )
    with (
        Server(registry_app(registry_settings), registry_port),
        Server(service, assessment_port),
        Server(gateway_app(settings), gateway_port),
    ):
        secret = settings.service_token_secret
        office = sign_token(Caller(sub="user:seed", name="分类办", role="office"), secret)
        unit = sign_token(Caller(sub="user:unit", name="联络员", role="unit", unit_code=UNIT), secret)
        base = f"http://127.0.0.1:{assessment_port}"
        with httpx.Client(base_url=base, headers={"authorization": f"Bearer {office}"}) as s:
            cat = s.post("/catalogues/import", files={"file": ("c.yaml", CATALOGUE.encode(), "application/x-yaml")})
            assert cat.status_code == 201, cat.text
            assert s.post(f"/catalogues/{cat.json()['id']}/publish").status_code == 200
            opened = s.post("/quarters", json={"id": "2026Q4", "catalogue_id": cat.json()["id"]})
            assert opened.status_code == 201, opened.text
        with httpx.Client(base_url=base, headers={"authorization": f"Bearer {unit}"}) as s:
            task = s.get("/tasks", params={"quarter": "2026Q4"}).json()["items"][0]
            sent = s.post(
                f"/tasks/{task['id']}/submissions",
                files=[("files", ("检查记录.pdf", PDF, "application/pdf"))],
                data={"effective_date": "2026-11-20"},
            )
            assert sent.status_code == 201, sent.text
        yield f"http://127.0.0.1:{gateway_port}"


@pytest.fixture(params=list(VIEWPORTS))
def archive_page(request: pytest.FixtureRequest, archive_base_url: str) -> Iterator[Page]:
    assert os.path.exists(CHROMIUM) or shutil.which("chromium"), f"Chromium is missing at {CHROMIUM}"
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # the job runs in the service: seconds on a shared machine
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=archive_base_url, locale="zh-CN", viewport=VIEWPORTS[request.param], accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.width = VIEWPORTS[request.param]["width"]  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()


def test_archive_button_gives_a_downloadable_zip(archive_page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = archive_page
    login(page, "office")
    page.goto("/assessment/quarters/2026Q4/board")
    page.get_by_role("button", name="生成档案包").click()
    download_link = page.get_by_role("link", name="下载档案包")
    expect(download_link).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/sortline-archive-{page.width}.png", full_page=True)  # type: ignore[attr-defined]
    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with zipfile.ZipFile(saved) as zf:
        assert zf.testzip() is None
        manifest = json.loads(zf.read("manifest.json"))
        names = zf.namelist()
    paths = [f["path"] for f in manifest["files"]]
    assert len(paths) == 1 and paths[0].endswith(".pdf") and "检查记录" in paths[0]
    assert paths[0] in names and "index.xlsx" in names


def test_controls_fit_and_work_in_the_page(archive_page: Page) -> None:
    """Each control's page or fragment at this width: no sideways scroll; the item due date set
    through htmx shows the service's warning for a Saturday."""
    from playwright.sync_api import expect

    page = archive_page
    login(page, "office")
    page.goto("/assessment/quarters/2026Q4/due")
    row = page.locator('tr[data-item="2.1"]')
    row.get_by_label("限制商品过度包装 的截止日期").fill("2026-12-19")
    row.get_by_role("button", name="保存").click()
    expect(page.locator('tr[data-item="2.1"] .due-warning')).to_contain_text("不是工作日")
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/sortline-controls-due-{page.width}.png", full_page=True)  # type: ignore[attr-defined]

    page.goto("/assessment/forecast?quarter=2026Q4")
    expect(page.locator("#judgement form")).to_be_visible()
    page.locator("#f-judge-item").select_option("2.1")
    page.locator("#f-judge-lost").fill("9")
    page.get_by_role("button", name="保存认定").click()
    expect(page.locator("#judgement .error")).to_contain_text("认定失分：不能超过该项分值 2 分")
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/sortline-controls-forecast-{page.width}.png", full_page=True)  # type: ignore[attr-defined]

    page.goto("/assessment/rankings/ratings?period=2026Q4")
    expect(page.locator("#ratings")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/sortline-controls-ratings-{page.width}.png", full_page=True)  # type: ignore[attr-defined]

    page.goto("/assessment/catalogues")
    expect(page.locator("#unit-aliases form")).to_be_visible()
    no_horizontal_scroll(page)
    page.goto("/assessment/catalogues/1")
    page.once("dialog", lambda dialog: dialog.accept())  # 以第 1 版为基础新建一个草稿版本？
    page.get_by_role("button", name="修订（新建草稿）").click()
    expect(page.get_by_role("link", name="新增评估项目")).to_be_visible()
    page.get_by_role("link", name="修改", exact=True).first.click()
    expect(page.locator("#f-rules")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/sortline-controls-item-{page.width}.png", full_page=True)  # type: ignore[attr-defined]

    page.goto("/assessment/tasks?quarter=2026Q4")
    page.get_by_role("link", name="过度包装检查落实材料").click()
    expect(page.locator("#task-controls form")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=f"/tmp/sortline-controls-task-{page.width}.png", full_page=True)  # type: ignore[attr-defined]
