"""The admin's flow in a real browser: log in, create an API key, see it, revoke it, log out.

Runs when SORTLINE_BROWSER_TESTS=1 (and then fails if Chromium is missing). The gateway and the
registry run under uvicorn in background threads on free ports, on temporary SQLite databases.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("SORTLINE_BROWSER_TESTS") != "1", reason="set SORTLINE_BROWSER_TESTS=1"),
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = "/tmp/sortline-admin.png"
PASSWORD = "admin-pass-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A uvicorn server in a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def base_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from gateway import cli
    from gateway.app import create_app as gateway_app
    from gateway.config import Settings
    from services.common.migrations import upgrade
    from services.registry.app import create_app as registry_app
    from services.registry.config import Settings as RegistrySettings

    registry_port, gateway_port = free_port(), free_port()
    monkeypatch.setenv("SORTLINE_REGISTRY_URL", f"http://127.0.0.1:{registry_port}")
    settings, registry_settings = Settings(), RegistrySettings()
    upgrade("gateway", settings.database_url)
    upgrade("registry", registry_settings.database_url)
    from services.common.db import make_engine
    from tests.gateway.conftest import seed_registry

    registry_engine = make_engine(registry_settings.database_url)
    seed_registry(registry_engine)  # 东湖区, 西湖区: a county key names a registered county
    registry_engine.dispose()
    engine = cli.engine(settings)
    cli.create_user(engine, username="admin", password=PASSWORD, role="admin", display_name="系统管理员")
    engine.dispose()
    with Server(registry_app(registry_settings), registry_port), Server(gateway_app(settings), gateway_port):
        yield f"http://127.0.0.1:{gateway_port}"


@pytest.fixture
def page(base_url: str) -> Iterator[object]:
    assert os.path.exists(CHROMIUM) or shutil.which("chromium"), f"Chromium is missing at {CHROMIUM}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def test_admin_creates_and_revokes_an_api_key(page) -> None:
    from playwright.sync_api import expect

    # A wrong password: the error on the form, the username kept.
    page.goto("/admin/apikeys")
    assert page.url.endswith("/login?next=%2Fadmin%2Fapikeys")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    expect(page.get_by_label("用户名")).to_have_value("admin")
    page.screenshot(path="/tmp/sortline-login.png")

    # The right one: back to the page asked for.
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="API 密钥")).to_be_visible()
    expect(page.locator(".who .user")).to_have_text("系统管理员")

    # Create a county key through the htmx form: shown once, then listed.
    page.get_by_label("名称").fill("东湖区环卫系统")
    page.get_by_label("县区", exact=True).select_option(label="东湖区")
    page.get_by_role("button", name="创建密钥").click()
    secret = page.locator("#secret-value")
    expect(secret).to_contain_text("sk_")
    key = secret.inner_text().strip()
    row = page.locator("#keys-table tbody tr", has_text="东湖区环卫系统")
    expect(row).to_contain_text("东湖区")
    expect(row).to_contain_text("有效")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # The key works on the API, from the browser's point of view a plain fetch with a bearer.
    status = page.evaluate(
        "k => fetch('/api/openapi.json', {headers: {Authorization: 'Bearer ' + k}}).then(r => r.status)", key
    )
    assert status == 200

    # Revoke with confirmation.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="吊销").click()
    expect(page.locator("#keys-table tbody tr", has_text="东湖区环卫系统")).to_contain_text("已吊销")
    expect(page.locator(".toast", has_text="已吊销")).to_be_visible()
    status = page.evaluate(
        "k => fetch('/api/v1/registry/divisions', {headers: {Authorization: 'Bearer ' + k}}).then(r => r.status)",
        key,
    )
    assert status == 401

    # A new page load does not show the key again.
    page.reload()
    expect(page.locator("#secret-value")).to_have_count(0)

    # Log out.
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    page.goto("/admin/apikeys")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
