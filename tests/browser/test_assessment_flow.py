"""The evidence flow in a real browser, at 1280 and at 768 px: the unit uploads two files (progress
bar, XHR), the office returns them with a reason from the review queue, the unit resubmits, the
office approves, and the score forecast moves by the item's points.

Runs when SORTLINE_BROWSER_TESTS=1. The registry (demo city), the assessment service (a published
catalogue, quarter open; its registry peer reads the same units) and the gateway run under uvicorn in
background threads on temporary SQLite databases. Screenshots go to /tmp/sortline-assess-*-<width>.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

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
UNIT = "U05"  # the demo unit user's unit (gateway/demo.py)
CATALOGUE = f"""
name: 浏览器测试评估细则
categories:
  - name: 推动源头减量
    items:
      - code: "2.1"
        name: 限制商品过度包装
        points: 2
        rules:
          - {{text: 采取有效措施, points: 2, method: all_or_nothing}}
        evidence:
          - {{code: e1, title: 过度包装检查落实材料, frequency: quarterly, kinds: [pdf, image]}}
        lead_unit: {UNIT}
  - name: 体制机制建设
    items:
      - code: "1.1"
        name: 落实城市主体责任
        points: 3
        rules:
          - {{text: 市、区建立领导小组, points: 3, method: all_or_nothing}}
        evidence:
          - {{code: e1, title: 成立领导小组的正式文件, frequency: once, kinds: [pdf]}}
        lead_unit: U01
"""
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class RegistryUnits:
    """The assessment service's registry peer: the units of the registry's demo database."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import select

        from services.registry.models import unit_t

        with engine.connect() as conn:
            self.rows = [dict(r._mapping) for r in conn.execute(select(unit_t))]

    def units(self) -> list[dict[str, Any]]:
        return self.rows

    def coverage(self, as_of: Any) -> dict[str, Any]:
        return {"as_of": str(as_of), "city": {"residential": {"covered": 9, "total": 10, "rate": 0.9}}, "counties": []}


class NoSupervision:
    def enforcement_summary(self, period: str) -> dict[str, Any] | None:
        return None


class Weekdays:
    def is_workday(self, d: Any) -> bool:
        return bool(d.weekday() < 5)

    def add_workdays(self, d: Any, n: int) -> Any:
        from datetime import timedelta

        while n > 0:
            d += timedelta(days=1)
            n -= self.is_workday(d)
        return d

    def workdays_between(self, a: Any, b: Any) -> int:
        from datetime import timedelta

        return sum(self.is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1)) if b > a else 0


@pytest.fixture
def base_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
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
    monkeypatch.setenv("SORTLINE_ASSESSMENT_RUN_JOBS", "false")  # no reminders or archives in this flow
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
    cli.seed_demo_users(engine, PASSWORD)
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
        token = sign_token(Caller(sub="user:seed", name="分类办", role="office"), settings.service_token_secret)
        with httpx.Client(
            base_url=f"http://127.0.0.1:{assessment_port}", headers={"authorization": f"Bearer {token}"}
        ) as s:
            cat = s.post("/catalogues/import", files={"file": ("c.yaml", CATALOGUE.encode(), "application/x-yaml")})
            assert cat.status_code == 201, cat.text
            assert s.post(f"/catalogues/{cat.json()['id']}/publish").status_code == 200
            opened = s.post("/quarters", json={"id": "2026Q4", "catalogue_id": cat.json()["id"]})
            assert opened.status_code == 201, opened.text
        yield f"http://127.0.0.1:{gateway_port}"


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, base_url: str) -> Iterator[Page]:
    assert os.path.exists(CHROMIUM) or shutil.which("chromium"), f"Chromium is missing at {CHROMIUM}"
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)  # this machine is shared: htmx answers can take seconds
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, locale="zh-CN", viewport=VIEWPORTS[request.param])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.width = VIEWPORTS[request.param]["width"]  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=f"/tmp/sortline-assess-{name}-{page.width}.png", full_page=True)  # type: ignore[attr-defined]


def no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


def login(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


def upload(page: Page, tmp: Path, note: str) -> None:
    from playwright.sync_api import expect

    files = [tmp / "检查记录.pdf", tmp / "现场照片.png"]
    files[0].write_bytes(PDF)
    files[1].write_bytes(PNG)
    page.get_by_label(re.compile("^文件")).set_input_files([str(f) for f in files])
    page.get_by_label(re.compile("^生效日期")).fill("2026-11-20")
    page.get_by_label("说明").fill(note)
    page.get_by_role("button", name="上传并提交").click()
    expect(page.locator("#task-body .badge", has_text="已提交").first).to_be_visible()


def decide(page: Page, button: str) -> None:
    """Press 通过 / 退回 once the page (and the PDF viewer in its frame, which takes the first
    click while it loads) has settled."""
    page.wait_for_load_state("load")
    page.get_by_label(re.compile("^审核意见")).click()
    page.get_by_role("button", name=button).click()


def secured(page: Page) -> float:
    page.goto("/assessment/forecast")
    return float(page.locator("#secured").inner_text())


def test_evidence_flow(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    login(page, "office")
    before = secured(page)
    shot(page, "forecast")
    no_horizontal_scroll(page)

    # The unit: its to-dos on the home page, its task list, the task, an upload of two files.
    login(page, "unit")
    expect(page.locator("#assessment-todos")).to_contain_text("过度包装检查落实材料")
    menu = page.get_by_role("button", name="菜单")
    if menu.is_visible():  # a tablet: the bar is folded into a menu
        menu.click()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的任务").click()
    expect(page.get_by_role("heading", name=re.compile("我的任务"))).to_be_visible()
    no_horizontal_scroll(page)
    shot(page, "tasks")
    page.get_by_role("link", name="过度包装检查落实材料").click()
    upload(page, tmp_path, "第一次提交")
    revision = page.locator("article.revision").first
    expect(revision).to_contain_text("第 1 版")
    expect(revision).to_contain_text("检查记录.pdf")
    expect(revision).to_contain_text("现场照片.png")
    no_horizontal_scroll(page)
    shot(page, "task")

    # The office: the queue opens the submission with the files shown; return with a reason.
    login(page, "office")
    page.goto("/assessment/review")
    expect(page.locator(".review-pane iframe")).to_have_count(1)
    expect(page.locator(".review-pane img.evidence-image")).to_have_count(1)
    no_horizontal_scroll(page)
    shot(page, "review")
    decide(page, "退回")
    expect(page.locator(".review-form .error")).to_contain_text("退回时必须填写原因")
    page.get_by_label(re.compile("^审核意见")).fill("照片看不清，请补充检查记录盖章页")
    decide(page, "退回")
    expect(page.get_by_role("heading", name="审核完毕")).to_be_visible()

    # The unit sees the reason and resubmits.
    login(page, "unit")
    page.goto("/assessment/tasks")
    page.get_by_role("link", name="过度包装检查落实材料").click()
    expect(page.locator("#task-body")).to_contain_text("照片看不清，请补充检查记录盖章页")
    upload(page, tmp_path, "补充了盖章页")
    expect(page.locator("article.revision")).to_have_count(2)
    expect(page.locator("article.revision").first).to_contain_text("第 2 版")

    # The office approves; the forecast moves by the item's 2 points.
    login(page, "office")
    page.goto("/assessment/review")
    expect(page.locator(".review-pane")).to_contain_text("第 2 版")
    decide(page, "通过")
    expect(page.get_by_role("heading", name="审核完毕")).to_be_visible()
    assert secured(page) == before + 2
    # The queue's unit filter: its options load when it is first used; choosing one filters.
    page.goto("/assessment/review")
    units = page.locator("#flt-unit")
    expect(units.locator("option")).to_have_count(1)
    units.focus()
    expect(units.locator(f'option[value="{UNIT}"]')).to_have_count(1)
    units.select_option(UNIT)
    expect(page).to_have_url(re.compile(f"unit={UNIT}"))
    expect(page.locator("#queue")).to_be_visible()
    page.goto("/assessment/quarters/2026Q4/board")
    expect(page.locator("#heatmap")).to_contain_text("100%")
    no_horizontal_scroll(page)
    shot(page, "board")

    # 国检结果: one result entered, the trend chart draws (charts.js + assessment_charts.js).
    page.goto("/assessment/results")
    expect(page.locator("#trend-chart")).to_have_count(0)
    page.locator("#r-quarter").fill("2026Q4")
    page.locator("#r-score").fill("88.5")
    page.locator("#r-rank").fill("3")
    page.locator("#r-class_name").fill("大城市")
    page.locator("#r-class_size").fill("20")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#results tr[data-quarter='2026Q4']")).to_be_visible()
    expect(page.locator("#trend-chart canvas")).to_have_count(1)  # ECharts drew
    no_horizontal_scroll(page)
