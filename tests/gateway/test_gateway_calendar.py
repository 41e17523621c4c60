"""The admin page 工作日历 (/admin/calendar) with the real registry in-process: the package's holidays
and make-up days of a year, the office's entries added and deleted through the form, the warning for
a year nobody knows, who may see it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common import clock
from tests.gateway.conftest import HAS_REGISTRY

pytestmark = pytest.mark.skipif(not HAS_REGISTRY, reason="needs the registry service")


def rows(html: str) -> dict[str, str]:
    """Table rows by date: the row's text without tags."""
    found = re.findall(r'<tr id="day-([\d-]+)">(.*?)</tr>', html, flags=re.S)
    return {day: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip() for day, body in found}


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("office", 200), ("leader", 403), ("county", 403)])
def test_who_may_see_the_calendar(make_gateway: Any, role: str, status: int) -> None:
    gw = make_gateway()
    gw.login_as(role, **({"county_code": "360102"} if role == "county" else {}))
    page = gw.client.get("/admin/calendar?year=2026", follow_redirects=False)
    assert page.status_code == status
    home = gw.client.get("/").text
    assert ('href="/admin/calendar"' in home) == (status == 200)


def test_a_known_year_lists_the_packages_days(gw: Any) -> None:
    gw.login_as("office")
    page = gw.client.get("/admin/calendar?year=2026")
    assert page.status_code == 200
    days = rows(page.text)
    assert "国庆节" in days["2026-10-01"] and "休息" in days["2026-10-01"] and "系统内置" in days["2026-10-01"]
    assert "调休上班" in days["2026-10-10"] and "周六" in days["2026-10-10"]
    assert "2026-10-08" not in days
    assert "calendar-warning" not in page.text
    assert "删除" not in days["2026-10-01"]  # the package's days cannot be deleted here


def test_office_enters_2027_and_the_warning_goes(gw: Any) -> None:
    clock.set_now(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    csrf = gw.login_as("office")
    page = gw.client.get("/admin/calendar?year=2027")
    assert "2027 年的法定节假日和调休安排尚未录入" in page.text and "周一至周五" in page.text
    assert rows(page.text) == {}

    hx = {"HX-Request": "true"}
    bad = gw.client.post("/admin/calendar", data={"csrf_token": csrf, "date": "", "kind": "rest"}, headers=hx)
    assert bad.status_code == 200 and "请选择日期" in bad.text
    too_long = gw.client.post(
        "/admin/calendar",
        data={"csrf_token": csrf, "date": "2027-01-01", "kind": "rest", "note": "长" * 300},
        headers=hx,
    )
    assert 'aria-invalid="true"' in too_long.text and 'id="e-note"' in too_long.text

    ok = gw.client.post(
        "/admin/calendar", data={"csrf_token": csrf, "date": "2027-01-01", "kind": "rest", "note": "元旦"}, headers=hx
    )
    assert ok.status_code == 200 and "已将 2027-01-01 设为休息日" in ok.text
    assert ok.text.lstrip().startswith('<div id="calendar-panel"')  # the htmx fragment
    gw.client.post(
        "/admin/calendar", data={"csrf_token": csrf, "date": "2027-02-20", "kind": "work", "note": "春节调休上班"}
    )
    page = gw.client.get("/admin/calendar?year=2027")
    days = rows(page.text)
    assert "元旦" in days["2027-01-01"] and "办公室录入" in days["2027-01-01"] and "删除" in days["2027-01-01"]
    assert "调休上班" in days["2027-02-20"]
    assert "calendar-warning" not in page.text  # the office has entered the year

    gone = gw.client.post("/admin/calendar/2027-02-20/delete", data={"csrf_token": csrf}, headers=hx)
    assert "已删除 2027-02-20 的录入" in gone.text and "2027-02-20" not in rows(gone.text)
    assert gw.client.post("/admin/calendar/2027-01-01/delete", data={}).status_code == 403  # no CSRF token
