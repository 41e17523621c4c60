"""The sort select on the registry list pages: kept in the URL, passed to the registry, kept by the pager."""

from __future__ import annotations

import html
import re

import pytest

from tests.gateway.conftest import HAS_REGISTRY, Gateway
from tests.gateway.test_gateway_registry_pages import HX, add_vehicle, codes_in, seed_divisions, sign_in

pytestmark = pytest.mark.skipif(not HAS_REGISTRY, reason="registry service not built yet")


@pytest.fixture
def office(gw: Gateway) -> tuple[Gateway, str]:
    seed_divisions(gw)
    return gw, sign_in(gw, "office")


def link(page: str, rel: str) -> str:
    found = re.search(rf'<a class="btn" rel="{rel}" href="([^"]+)"', page)
    assert found, page
    return html.unescape(found.group(1))


def test_sort_select_orders_the_list_and_the_pager_keeps_it(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    codes = sorted(add_vehicle(gw, csrf, f"赣A{n:05d}") for n in range(1, 13))

    plain = gw.client.get("/registry/vehicles")
    assert '<select id="flt-sort" name="sort">' in plain.text
    assert '<option value="code" selected>统一编号↑</option>' in plain.text
    assert '<option value="-code">统一编号↓</option>' in plain.text
    assert '<option value="-updated_at">最近更新</option>' in plain.text
    assert '<option value="name">' not in plain.text  # vehicles have no name
    assert "排序：统一编号 ↑" not in plain.text
    assert 'href="/registry/vehicles/export"' in plain.text  # the default sort stays out of URLs
    sites = gw.client.get("/registry/sites")
    assert '<option value="name">名称</option>' in sites.text

    # What the form sends on change (htmx): the block, descending.
    first = gw.client.get("/registry/vehicles", params={"county": "", "sort": "-code", "size": "10"}, headers=HX)
    assert "<html" not in first.text
    assert codes_in(first.text) == codes[::-1][:10]
    assert first.headers["HX-Push-Url"] == "/registry/vehicles?size=10&sort=-code"
    assert 'href="/registry/vehicles/export?sort=-code"' in first.text
    assert "清除筛选" not in first.text  # a sort is not a filter

    next_url = link(first.text, "next")
    assert "sort=-code" in next_url and "cursor=" in next_url
    second = gw.client.get(next_url)  # a reload / back to the pushed URL: the whole page, same state
    assert "<html" in second.text
    assert codes_in(second.text) == codes[::-1][10:]
    assert '<option value="-code" selected>统一编号↓</option>' in second.text
    prev_url = link(second.text, "prev")
    assert "sort=-code" in prev_url
    assert codes_in(gw.client.get(prev_url).text) == codes[::-1][:10]

    # The cursor of one sort under another (an edited URL): back to the first page of that sort.
    switched = gw.client.get(next_url.replace("sort=-code", "sort=-updated_at"))
    assert "分页位置已失效" in switched.text
    assert '<option value="-updated_at" selected>最近更新</option>' in switched.text

    # An unknown sort in the URL is dropped, not sent on.
    odd = gw.client.get("/registry/vehicles?sort=name")
    assert odd.status_code == 200 and codes_in(odd.text) == codes
