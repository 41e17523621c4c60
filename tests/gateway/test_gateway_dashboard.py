"""The home dashboard through the gateway, with the real registry in-process: coverage figures
from a small known dataset, the county user's own county, counts by GB/T 19095 category."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import insert

from tests.gateway.conftest import HAS_REGISTRY, Gateway

if HAS_REGISTRY:
    from services.registry.models import division_t

pytestmark = pytest.mark.skipif(not HAS_REGISTRY, reason="needs the registry service")

STREETS = [
    {"code": "360102001", "name": "公园街道", "level": "street", "parent_code": "360102"},
    {"code": "360103001", "name": "朝阳洲街道", "level": "street", "parent_code": "360103"},
]


class Tables(HTMLParser):
    """The text of each cell of each table (by id), row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables[table_id]


def by_id(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"#{element_id} missing"
    return match.group(1).strip()


def category_counts(html: str, section_id: str) -> dict[str, int]:
    section = html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]
    found = re.findall(
        r'data-category="(\w+)">\s*<span class="cat-label">[^<]*</span>\s*<span class="cat-count">(\d+)<', section
    )
    return {key: int(n) for key, n in found}


def office_key(gw: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gw.key(county_code=None, role='office')}"}


def post(gw: Gateway, headers: dict[str, str], kind: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = gw.client.post(f"/api/v1/registry/{kind}", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    result: dict[str, Any] = resp.json()
    return result


def site(county: str, kind: str, name: str, covered: bool, transport: bool | None = None) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "county_code": county,
        "street_code": f"{county}001",
        "covered": covered,
        "covered_since": "2024-01-01" if covered else None,
        "sorted_collection": covered,
        "sorted_transport": covered if transport is None else transport,
    }


def facility(county: str, kind: str, name: str) -> dict[str, Any]:
    return {"kind": kind, "name": name, "county_code": county, "lat": 28.68, "lng": 115.9}


def vehicle(county: str, plate: str, category: str) -> dict[str, Any]:
    return {
        "plate_number": plate,
        "category": category,
        "energy_type": "diesel",
        "operator_name": "示范环卫有限公司",
        "county_code": county,
    }


@pytest.fixture
def city(gw: Gateway) -> Gateway:
    """东湖区: 3 of 4 residential sites covered, 1 of 2 schools; 西湖区: 1 of 2 residential (the
    other lacks sorted transport). Facilities: 2 hazardous + 1 recyclable in 东湖区, 1 kitchen in
    西湖区. Vehicles: 1 kitchen in 东湖区, 2 residual in 西湖区."""
    with gw.service_engines["registry"].begin() as conn:
        conn.execute(insert(division_t), STREETS)
    h = office_key(gw)
    for i in range(4):
        post(gw, h, "sites", site("360102", "residential", f"东湖小区{i}", covered=i < 3))
    post(gw, h, "sites", site("360102", "education", "东湖小学", covered=True))
    post(gw, h, "sites", site("360102", "education", "东湖中学", covered=False))
    post(gw, h, "sites", site("360103", "residential", "西湖小区甲", covered=True))
    post(gw, h, "sites", site("360103", "residential", "西湖小区乙", covered=True, transport=False))
    post(gw, h, "facilities", facility("360102", "hazardous_store", "公园街道有害垃圾暂存点"))
    post(gw, h, "facilities", facility("360102", "hazardous_store", "八一桥有害垃圾暂存点"))
    post(gw, h, "facilities", facility("360102", "recycling_point", "公园街道回收网点"))
    post(gw, h, "facilities", facility("360103", "treatment_kitchen", "西湖厨余处理厂"))
    post(gw, h, "vehicles", vehicle("360102", "赣A12345", "kitchen"))
    post(gw, h, "vehicles", vehicle("360103", "赣A23456", "residual"))
    post(gw, h, "vehicles", vehicle("360103", "赣A34567", "residual"))
    return gw


def test_office_sees_the_city_coverage_per_county_and_kind(city: Gateway) -> None:
    city.login_as("office")
    resp = city.client.get("/")
    assert resp.status_code == 200
    html = resp.text
    assert "全市居民小区分类覆盖率" in html
    assert by_id(html, "residential-rate") == "66.7%"  # 4 of 6
    assert "已覆盖 4 / 共 6 个居民小区" in html
    rows = {r[0]: r for r in table(html, "coverage-table")[2:]}
    assert set(rows) == {"东湖区", "西湖区"}
    assert rows["东湖区"][1:3] == ["3/4", "75.0%"]
    assert rows["西湖区"][1:3] == ["1/2", "50.0%"]
    # per-kind columns: 公共机构, 公共场所, 经营区域, 教育机构, ...
    assert rows["东湖区"][3 + 3] == "50.0%"  # 教育机构: 1 of 2
    assert rows["西湖区"][3 + 3] == "—"  # no schools
    # the chart's data and its script (no inline JS)
    assert 'id="coverage-chart" data-chart="' in html
    assert "&#34;values&#34;: [75.0, 50.0]" in html
    assert '<script src="/static/js/dashboard.js"' in html
    assert "/static/vendor/echarts/echarts.min.js" in html


def test_counts_by_category_with_the_standard_colours(city: Gateway) -> None:
    city.login_as("leader")
    html = city.client.get("/").text
    assert category_counts(html, "facility-counts") == {"recyclable": 1, "hazardous": 2, "kitchen": 1, "residual": 0}
    assert category_counts(html, "vehicle-counts") == {"recyclable": 0, "hazardous": 0, "kitchen": 1, "residual": 2}
    assert re.search(r'class="cat-card cat-blue" data-category="recyclable"', html)
    assert re.search(r'class="cat-card cat-red" data-category="hazardous"', html)
    assert re.search(r'class="cat-card cat-green" data-category="kitchen"', html)
    assert re.search(r'class="cat-card cat-grey" data-category="residual"', html)
    assert "共 4" in html.split('id="facility-counts"', 1)[1].split("</h2>", 1)[0]


def test_county_user_sees_only_its_county(city: Gateway) -> None:
    city.login_as("county", county_code="360102")
    html = city.client.get("/").text
    assert "东湖区居民小区分类覆盖率" in html
    assert by_id(html, "residential-rate") == "75.0%"
    rows = table(html, "coverage-table")[2:]
    assert [r[0] for r in rows] == ["东湖区"]
    assert "西湖区" not in html
    assert category_counts(html, "facility-counts") == {"recyclable": 1, "hazardous": 2, "kitchen": 0, "residual": 0}
    assert category_counts(html, "vehicle-counts") == {"recyclable": 0, "hazardous": 0, "kitchen": 1, "residual": 0}


def test_changes_of_the_week(city: Gateway) -> None:
    city.login_as("office")
    html = city.client.get("/").text
    assert "变更记录暂不可用" not in html
    rows = table(html, "changes-table")[1:]
    assert len(rows) == 15  # every site (8), facility (4) and vehicle (3) registered above
    assert sum("登记车辆" in r[2] for r in rows) == 3
    assert re.search(r'href="/registry/vehicles/360103-[A-Z0-9-]+"', html)
    assert re.search(r'href="/registry/sites/360102-[A-Z0-9-]+"', html)


def test_changes_older_than_a_week_are_left_out(city: Gateway) -> None:
    from datetime import timedelta

    from services.common import clock

    clock.set_now(clock.now() + timedelta(days=8))
    city.login_as("office")
    html = city.client.get("/").text
    assert "最近 7 天没有变更" in html


def test_county_user_sees_only_its_county_changes(city: Gateway) -> None:
    city.login_as("county", county_code="360103")
    rows = table(city.client.get("/").text, "changes-table")[1:]
    assert len(rows) == 5 and all(r[1].startswith("360103-") for r in rows)


def test_dashboard_needs_a_login(gw: Gateway) -> None:
    resp = gw.client.get("/", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=%2F"


def test_registry_down_still_shows_the_page(make_gateway: Any) -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    gw = make_gateway(transports={"registry": httpx.MockTransport(handler)})
    gw.login_as("office", display_name="王丽")
    resp = gw.client.get("/")
    assert resp.status_code == 200
    assert "欢迎，王丽" in resp.text
    assert "覆盖率数据暂不可用" in resp.text
    assert "统计数据暂不可用" in resp.text
    assert "变更记录暂不可用" in resp.text
