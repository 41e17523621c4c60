"""The inspector's tablet flow in a real browser at 768x1024: open today's list and a target's
form while online, go offline, fill the inspection with two photos, reload the page (the service
worker serves it, the draft and photos come back from IndexedDB), submit (it waits in 待发送),
reload again, come back online, and find exactly one inspection with two photos on the server —
the larger photo scaled to 2,560 px on its longest side with its EXIF orientation applied.
Screenshots of the supervision pages at 768 and 1280 px go to /tmp/sortline-sv-*.png.

Runs when SORTLINE_BROWSER_TESTS=1. The supervision service (with a small fake registry for its
targets) and the gateway run under uvicorn in background threads on temporary SQLite databases.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.test_admin_flow import CHROMIUM, CHROMIUM_ARGS, Server, free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("SORTLINE_BROWSER_TESTS") != "1", reason="set SORTLINE_BROWSER_TESTS=1"),
]


def needs_photo_kernel() -> None:
    """Photos go through the kernel's uploads and get their thumbnail from its job runner."""
    pytest.importorskip("services.common.uploads", reason="kernel uploads not merged yet")
    pytest.importorskip("services.common.jobs", reason="kernel jobs not merged yet")


PASSWORD = "tablet-pass-123"
CHECKLIST = {
    "code": "RES",
    "name": "居民小区督导检查表",
    "target_kind": "site:residential",
    "items": [
        {"id": "bins", "label": "四分类桶组齐全", "type": "yesno", "category": "facility_damage"},
        {"id": "quality", "label": "分类质量", "type": "score", "max": 10, "category": "mixed_disposal"},
        {"id": "overflow", "label": "满溢桶数", "type": "count", "pass_min": 0, "category": "overflow"},
        {"id": "photo", "label": "投放点全景照片", "type": "photo"},
        {"id": "remark", "label": "其他情况", "type": "text", "required": False},
    ],
}


SITES = [
    {
        "code": f"360102-S{i:06d}",
        "kind": "residential",
        "name": f"青山湖小区{i}",
        "county_code": "360102",
        "lat": 28.68 + i / 500,
        "lng": 115.89,
    }
    for i in range(1, 5)
]


class Registry:
    """The registry paths a plan reads, for the supervision service's peer client."""

    sites = SITES

    def get_json(self, path: str, params: dict[str, Any] | None = None, caller: Any = None) -> Any:
        params = params or {}
        if path == "/sites":
            rows = [s for s in self.sites if s["county_code"] == params.get("county")]
            return {
                "items": [s for s in rows if not params.get("cursor") or s["code"] > params["cursor"]],
                "next_cursor": None,
            }
        if path == "/divisions":
            return {"items": [{"code": "360102", "name": "东湖区"}]}
        if path == "/units":
            return {"items": []}
        return {"items": []}


class EveryDay:
    def is_workday(self, d: Any) -> bool:
        return True

    def add_workdays(self, d: Any, n: int) -> Any:
        return d + timedelta(days=n)

    def workdays_between(self, a: Any, b: Any) -> int:
        return max(0, (b - a).days)

    def warning(self, d: Any) -> str | None:
        return None


def jpeg(width: int, height: int, colour: tuple[int, int, int], orientation: int | None = None) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height), colour)
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[dict[str, Any]]:
    import httpx

    from gateway import cli
    from gateway.app import create_app as gateway_app
    from gateway.config import Settings
    from services.common import clock
    from services.common.auth import Caller, sign_token
    from services.common.migrations import upgrade
    from services.supervision.app import create_app as supervision_app
    from services.supervision.config import Settings as SupervisionSettings

    sv_port, gateway_port = free_port(), free_port()
    monkeypatch.setenv("SORTLINE_SUPERVISION_URL", f"http://127.0.0.1:{sv_port}")
    monkeypatch.setenv("SORTLINE_REGISTRY_URL", f"http://127.0.0.1:{free_port()}")  # nobody: pages degrade
    settings = Settings()
    sv_settings = SupervisionSettings(run_jobs=False, storage_url=str(tmp_path / "sv-files"))
    upgrade("gateway", settings.database_url)
    upgrade("supervision", sv_settings.database_url)
    engine = cli.engine(settings)
    cli.create_user(
        engine, username="tablet", password=PASSWORD, role="inspector", display_name="李督导", team_code="T01"
    )
    cli.create_user(engine, username="office", password=PASSWORD, role="office", display_name="王主任")
    cli.create_user(
        engine, username="donghu", password=PASSWORD, role="county", display_name="东湖区分类办", county_code="360102"
    )
    engine.dispose()
    sv = supervision_app(sv_settings)
    sv.state.peers = {"registry": Registry()}
    sv.state.calendar = EveryDay()
    with Server(sv, sv_port), Server(gateway_app(settings), gateway_port):
        token = sign_token(Caller(sub="user:office", name="office", role="office"), sv_settings.service_token_secret)
        with httpx.Client(base_url=f"http://127.0.0.1:{sv_port}", headers={"Authorization": f"Bearer {token}"}) as api:
            team = {
                "code": "T01",
                "name": "第一督导组",
                "leader": "tablet",
                "members": ["tablet"],
                "counties": ["360102"],
            }
            assert api.put("/teams/T01", json=team).status_code in (200, 201)
            checklist = api.post("/checklists", json=CHECKLIST).json()
            assert api.post(f"/checklists/{checklist['id']}/publish").status_code == 200
            day = clock.today()
            plan = api.post(
                "/plans",
                json={
                    "name": "冬季居民小区督导",
                    "starts_on": day.isoformat(),
                    "ends_on": (day + timedelta(days=3)).isoformat(),
                    "team_code": "T01",
                    "checklist_id": checklist["id"],
                    "selection": {"source": "site", "counties": ["360102"]},
                    "per_inspector_per_day": 4,
                },
            )
            assert plan.status_code == 201, plan.text
            yield {"url": f"http://127.0.0.1:{gateway_port}", "plan": plan.json(), "api": api}


@pytest.fixture
def browser() -> Iterator[Any]:
    assert os.path.exists(CHROMIUM) or shutil.which("chromium"), f"Chromium is missing at {CHROMIUM}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def login(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


def shot(page: Any, name: str) -> None:
    page.screenshot(path=f"/tmp/sortline-sv-{name}-{page.viewport_size['width']}.png", full_page=True)


def test_offline_inspection_with_two_photos_reaches_the_server_once(
    platform: dict[str, Any], browser: Any, tmp_path: Any
) -> None:
    from playwright.sync_api import expect

    needs_photo_kernel()
    context = browser.new_context(
        base_url=platform["url"],
        locale="zh-CN",
        viewport={"width": 768, "height": 1024},
        geolocation={"latitude": 28.681, "longitude": 115.891, "accuracy": 15},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "tablet")
        page.goto("/supervision/today")
        targets = page.locator(".sv-target")
        expect(targets.first).to_be_visible()
        expect(targets.first.locator("[data-distance]")).to_contain_text(re.compile(r"约 \d"))  # from the position
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        shot(page, "today")
        targets.first.locator("a").click()
        form = page.locator("#inspection[data-ready]")
        expect(form).to_be_visible()
        expect(page.locator("[data-position]").first).to_contain_text("精度 ±15 米")
        form_url = page.url

        # The network drops: everything from here on happens offline.
        context.set_offline(True)
        page.locator('.sv-item[data-item="bins"] .sv-no-choice').click()
        page.locator('.sv-item[data-item="quality"] .sv-choice', has_text="7").click()
        page.locator('.sv-item[data-item="overflow"] [data-step="1"]').click()
        page.locator('.sv-item[data-item="overflow"] [data-step="1"]').click()
        page.locator('.sv-item[data-item="bins"] .sv-note').fill("厨余桶破损")
        big = jpeg(3000, 2000, (200, 60, 40), orientation=6)  # a portrait photo stored sideways
        small = jpeg(640, 480, (40, 120, 200))
        page.locator('.sv-item[data-item="bins"] [data-photo-input]').set_input_files(
            [{"name": "bins.jpg", "mimeType": "image/jpeg", "buffer": big}]
        )
        page.locator('.sv-item[data-item="photo"] [data-photo-input]').set_input_files(
            [{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": small}]
        )
        expect(page.locator(".sv-thumb")).to_have_count(2)
        expect(page.locator("[data-saved]")).to_contain_text("草稿已保存")

        # Reload without a network: the service worker serves the page, IndexedDB the draft.
        page.reload()
        expect(page.locator("#inspection[data-ready]")).to_be_visible()
        expect(page.locator("[data-saved]")).to_contain_text("已恢复本机保存的草稿（2 张照片）")
        expect(page.locator(".sv-thumb")).to_have_count(2)
        expect(page.locator('.sv-item[data-item="bins"] input[value="no"]')).to_be_checked()
        expect(page.locator('.sv-item[data-item="overflow"] input[type=number]')).to_have_value("2")
        expect(page.locator('.sv-item[data-item="bins"] .sv-note')).to_have_value("厨余桶破损")
        shot(page, "inspect")

        page.get_by_role("button", name="提交检查").click()
        expect(page.locator("[data-saved]")).to_contain_text("已保存到待发送")
        outbox = page.locator("#outbox")
        expect(outbox.locator("[data-outbox-count]")).to_have_text("（1 条检查，2 张照片）")
        expect(outbox.locator(".sv-outbox-item .badge")).to_have_text(re.compile("等待"))
        page.reload()  # still offline: the queue is in IndexedDB, not in the page
        expect(page.locator("#outbox [data-outbox-count]")).to_have_text("（1 条检查，2 张照片）")
        expect(page.locator("#outbox [data-net]")).to_contain_text("离线")
        assert page.url == form_url

        # Back online: the queue sends the inspection, each photo, then submit, and empties.
        context.set_offline(False)
        expect(page.locator("#outbox [data-outbox-count]")).to_have_text("（无）", timeout=30_000)
    finally:
        context.close()

    api = platform["api"]
    inspections = api.get("/inspections", params={"plan": platform["plan"]["id"]}).json()["items"]
    assert len(inspections) == 1, inspections
    ins = inspections[0]
    assert ins["state"] == "submitted"
    assert len(ins["photos"]) == 2
    assert ins["accuracy_m"] == 15 and abs(ins["latitude"] - 28.681) < 1e-6
    answers = {a["item_id"]: a for a in ins["answers"]}
    assert answers["bins"]["value"] is False and answers["bins"]["note"] == "厨余桶破损"
    assert answers["quality"]["value"] == 7 and answers["overflow"]["value"] == 2
    assert len(answers["bins"]["photo_ids"]) == 1 and len(answers["photo"]["photo_ids"]) == 1
    from PIL import Image

    sizes = sorted(Image.open(io.BytesIO(api.get(p["url"]).content)).size for p in ins["photos"])
    # the 3000x2000 photo turned upright (EXIF 6) and scaled: 1707x2560; the small one untouched
    assert sizes == [(640, 480), (1707, 2560)], sizes


def test_offline_free_finding_with_a_photo_reaches_the_server_once(platform: dict[str, Any], browser: Any) -> None:
    """另报问题 on the tablet, offline: a free finding with a photo is kept in the draft (a reload
    brings it back), queued with the inspection and, once online, sent after it: one finding with
    its photo, however often the queue retried."""
    from playwright.sync_api import expect

    needs_photo_kernel()
    context = browser.new_context(
        base_url=platform["url"],
        locale="zh-CN",
        viewport={"width": 768, "height": 1024},
        geolocation={"latitude": 28.681, "longitude": 115.891, "accuracy": 15},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "tablet")
        page.goto("/supervision/today")
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        page.locator(".sv-target").first.locator("a").click()
        expect(page.locator("#inspection[data-ready]")).to_be_visible()

        context.set_offline(True)
        page.locator('.sv-item[data-item="bins"] .sv-choice', has_text="是").click()
        page.locator('.sv-item[data-item="quality"] .sv-choice', has_text="8").click()
        page.locator('.sv-item[data-item="overflow"] [data-step="1"]').click()
        page.locator('.sv-item[data-item="photo"] [data-photo-input]').set_input_files(
            [{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": jpeg(640, 480, (40, 120, 200))}]
        )
        page.locator("[data-add-finding]").click()
        free = page.locator(".sv-free-finding")
        expect(free).to_have_count(1)
        free.locator("[data-f-category]").select_option("illegal_dumping")
        free.locator("[data-f-severity]").select_option("major")
        free.locator("[data-f-description]").fill("围墙外偷倒建筑垃圾")
        free.locator("[data-photo-input]").set_input_files(
            [{"name": "dump.jpg", "mimeType": "image/jpeg", "buffer": jpeg(800, 600, (120, 90, 60))}]
        )
        expect(free.locator(".sv-thumb")).to_have_count(1)
        expect(page.locator("[data-saved]")).to_contain_text("草稿已保存")

        page.reload()
        expect(page.locator("#inspection[data-ready]")).to_be_visible()
        free = page.locator(".sv-free-finding")
        expect(free).to_have_count(1)
        expect(free.locator("[data-f-category]")).to_have_value("illegal_dumping")
        expect(free.locator("[data-f-description]")).to_have_value("围墙外偷倒建筑垃圾")
        expect(free.locator(".sv-thumb")).to_have_count(1)

        page.get_by_role("button", name="提交检查").click()
        expect(page.locator("[data-saved]")).to_contain_text("已保存到待发送")
        expect(page.locator("#outbox [data-outbox-count]")).to_have_text("（1 条检查，2 张照片）")
        context.set_offline(False)
        expect(page.locator("#outbox [data-outbox-count]")).to_have_text("（无）", timeout=30_000)
    finally:
        context.close()

    api = platform["api"]
    inspections = api.get("/inspections", params={"plan": platform["plan"]["id"]}).json()["items"]
    assert len(inspections) == 1 and inspections[0]["state"] == "submitted"
    findings = api.get("/findings", params={"category": "illegal_dumping"}).json()["items"]
    assert len(findings) == 1, findings
    finding = api.get(f"/findings/{findings[0]['id']}").json()
    assert finding["description"] == "围墙外偷倒建筑垃圾" and finding["severity"] == "major"
    assert len(finding["photos"]) == 1


def test_correct_this_inspection_starts_from_its_answers(platform: dict[str, Any], browser: Any) -> None:
    """更正此检查 on a submitted inspection's page opens the tablet form filled with its answers;
    what is sent is a new version naming the one it replaces."""
    from playwright.sync_api import expect

    needs_photo_kernel()
    api, plan = platform["api"], platform["plan"]
    code = api.get(f"/plans/{plan['id']}/targets").json()["items"][0]["target_code"]
    body = {
        "plan_id": plan["id"],
        "target_code": code,
        "answers": [
            {"item_id": "bins", "value": False, "note": "桶盖破损"},
            {"item_id": "quality", "value": 5},
            {"item_id": "overflow", "value": 1},
            {"item_id": "photo", "photo_ids": ["o1"]},
        ],
    }
    assert api.put("/inspections/orig-1", json=body).status_code == 201
    photo = jpeg(320, 240, (10, 200, 10))
    assert api.put("/inspections/orig-1/photos/o1", content=photo).status_code == 201
    assert api.post("/inspections/orig-1/submit").status_code == 200
    context = browser.new_context(base_url=platform["url"], locale="zh-CN", viewport={"width": 768, "height": 1024})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "tablet")
        page.goto("/supervision/inspections/orig-1")
        page.get_by_role("link", name="更正此检查").click()
        expect(page.locator("#inspection[data-ready]")).to_be_visible()
        expect(page.locator("#correction-note")).to_contain_text("正在更正检查")
        expect(page.locator('.sv-item[data-item="bins"] input[value="no"]')).to_be_checked()
        expect(page.locator('.sv-item[data-item="bins"] .sv-note')).to_have_value("桶盖破损")
        expect(page.locator('.sv-item[data-item="quality"] input[value="5"]')).to_be_checked()
        page.locator('.sv-item[data-item="quality"] .sv-choice', has_text="9").click()
        page.locator('.sv-item[data-item="photo"] [data-photo-input]').set_input_files(
            [{"name": "again.jpg", "mimeType": "image/jpeg", "buffer": jpeg(320, 240, (200, 10, 10))}]
        )
        expect(page.locator(".sv-thumb")).to_have_count(1)
        page.get_by_role("button", name="提交检查").click()
        # Queued first (the outbox shows 无 before the record enters it too), then sent.
        expect(page.locator("#inspection[data-queued]")).to_be_attached()
        expect(page.locator("#outbox [data-outbox-count]")).to_have_text("（无）", timeout=30_000)
    finally:
        context.close()

    old = api.get("/inspections/orig-1").json()
    assert old["replaced_by"], old
    new = api.get(f"/inspections/{old['replaced_by']}").json()
    assert new["replaces"] == "orig-1" and new["state"] == "submitted"
    answers = {a["item_id"]: a for a in new["answers"]}
    assert answers["bins"]["value"] is False and answers["bins"]["note"] == "桶盖破损"
    assert answers["quality"]["value"] == 9


VIEWPORTS = [{"width": 768, "height": 1024}, {"width": 1280, "height": 900}]


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["768", "1280"])
def test_office_pages_fit_the_screen(platform: dict[str, Any], browser: Any, viewport: dict[str, int]) -> None:
    needs_photo_kernel()
    api, plan = platform["api"], platform["plan"]
    target = api.get(f"/plans/{plan['id']}/targets").json()["items"][0]["target_code"]
    answers = [
        {"item_id": "bins", "value": False, "note": "厨余桶破损"},
        {"item_id": "quality", "value": 4},
        {"item_id": "overflow", "value": 1},
        {"item_id": "photo", "photo_ids": ["p1"]},
    ]
    body = {"plan_id": plan["id"], "target_code": target, "answers": answers, "latitude": 28.68, "longitude": 115.89}
    assert api.put("/inspections/screen-1", json=body).status_code == 201
    photo = jpeg(800, 600, (90, 140, 60))
    assert (
        api.put("/inspections/screen-1/photos/p1", content=photo, headers={"content-type": "image/jpeg"}).status_code
        == 201
    )
    assert api.post("/inspections/screen-1/submit").status_code == 200
    order = api.get("/rectifications").json()["items"][0]
    context = browser.new_context(base_url=platform["url"], locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, "office")
        for name, path in [
            ("plans", "/supervision/plans"),
            ("plan", f"/supervision/plans/{platform['plan']['id']}"),
            ("plan-new", "/supervision/plans/new"),
            ("board", "/supervision/rectifications"),
            ("order", f"/supervision/rectifications/{order['id']}"),
            ("inspection", "/supervision/inspections/screen-1"),
            ("findings", "/supervision/findings"),
            ("map", "/supervision/findings/map"),
            ("teams", "/supervision/teams"),
            ("reports", "/supervision/reports"),
            ("checklists", "/supervision/checklists"),
            ("enforcement", "/supervision/enforcement"),
        ]:
            response = page.goto(path)
            assert response is not None and response.status < 500, (path, response and response.status)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px"
            shot(page, name)
    finally:
        context.close()


def test_a_resend_with_other_content_keeps_the_record_and_says_so(platform: dict[str, Any], browser: Any) -> None:
    """The server already holds this id with other content (409): the record stays on the tablet,
    marked 编号冲突 with the server's message, until the inspector sends it under a new id."""
    from playwright.sync_api import expect

    api, plan = platform["api"], platform["plan"]
    target = api.get(f"/plans/{plan['id']}/targets").json()["items"][0]["target_code"]
    answers = [{"item_id": "remark", "value": "服务器上的版本"}]
    body = {"plan_id": plan["id"], "target_code": target, "answers": answers}
    assert api.put("/inspections/dup-1", json=body).status_code == 201
    context = browser.new_context(base_url=platform["url"], locale="zh-CN", viewport={"width": 768, "height": 1024})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "tablet")
        page.goto("/supervision/outbox")
        page.wait_for_function("window.SortlineInspect !== undefined")
        # as if the page came from the offline cache of an earlier session: the queue reads the
        # current token from a fresh page and carries on
        page.evaluate("""document.body.setAttribute("hx-headers", '{"X-CSRF-Token": "stale-token"}')""")
        tablet = {**body, "answers": [{"item_id": "remark", "value": "平板上的版本", "note": None, "photo_ids": []}]}
        page.evaluate(
            """(payload) => window.SortlineInspect.enqueue({
                client_id: "dup-1", draft_key: "", status: "draft", plan_name: "冬季居民小区督导",
                target_name: "青山湖小区1", photo_ids: {}, payload: payload })""",
            tablet,
        )
        item = page.locator('.sv-outbox-item[data-client-id="dup-1"]')
        expect(item.locator(".badge")).to_have_text("编号冲突")
        expect(item.locator(".sv-outbox-error")).to_contain_text("本机草稿已保留")
        page.reload()  # still there after a reload
        expect(page.locator('.sv-outbox-item[data-client-id="dup-1"] .badge')).to_have_text("编号冲突")
        # sent again under a new id: accepted (it then waits for submit's required items)
        page.get_by_role("button", name="作为新记录发送").click()
        expect(page.locator('.sv-outbox-item[data-client-id="dup-1"]')).to_have_count(0)
        # the copy is re-keyed at once and sent after: wait for the server to hold it before the
        # context (and with it the page's pending request) closes
        copies: list[dict[str, Any]] = []
        for _ in range(100):
            items = api.get("/inspections", params={"plan": plan["id"]}).json()["items"]
            copies = [i for i in items if i["client_id"] != "dup-1"]
            if copies:
                break
            page.wait_for_timeout(100)
    finally:
        context.close()
    held = api.get("/inspections/dup-1").json()
    assert held["answers"][0]["value"] == "服务器上的版本"  # the server's copy never changed
    assert len(copies) == 1 and copies[0]["answers"][0]["value"] == "平板上的版本"


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["768", "1280"])
def test_county_signs_an_order_from_its_list(platform: dict[str, Any], browser: Any, viewport: dict[str, int]) -> None:
    from playwright.sync_api import expect

    finding = {
        "target_code": "360102-S000002",
        "target_name": "青山湖小区2",
        "county_code": "360102",
        "category": "overflow",
        "severity": "major",
        "description": "东门投放点满溢，周边散落垃圾",
    }
    created = platform["api"].post("/findings", json=finding)
    assert created.status_code == 201, created.text
    context = browser.new_context(base_url=platform["url"], locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, "donghu")
        expect(page.locator("#supervision-home")).to_contain_text("满溢")  # the home page's block
        shot(page, "county-home")
        page.goto("/supervision/my")
        page.get_by_role("link", name="处理").first.click()
        expect(page.locator("#order-state")).to_have_text("已下发")
        page.get_by_role("button", name="签收").click()
        expect(page.locator("#order-state")).to_have_text("已签收")
        expect(page.get_by_label("整改后照片")).to_be_attached()
        expect(page.locator("#events")).to_contain_text("签收")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the order page scrolls sideways by {overflow}px"
        shot(page, "county-order")
    finally:
        context.close()
