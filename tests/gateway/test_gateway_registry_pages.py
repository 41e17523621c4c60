"""The registry pages through the gateway with the real registry in-process: what a person sees."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import insert

from tests.gateway.conftest import HAS_REGISTRY, Gateway

pytestmark = pytest.mark.skipif(not HAS_REGISTRY, reason="registry service not built yet")

HX = {"HX-Request": "true"}


def seed_divisions(gw: Gateway) -> None:
    """Streets and communities under the two counties of the conftest city, and a member unit."""
    from services.registry.models import division_t, unit_t

    with gw.service_engines["registry"].begin() as conn:
        conn.execute(
            insert(division_t),
            [
                {"code": "360102001", "name": "公园街道", "level": "street", "parent_code": "360102"},
                {"code": "360102002", "name": "董家窑街道", "level": "street", "parent_code": "360102"},
                {"code": "360102001001", "name": "八一社区", "level": "community", "parent_code": "360102001"},
                {"code": "360103001", "name": "南浦街道", "level": "street", "parent_code": "360103"},
            ],
        )
        conn.execute(
            insert(unit_t),
            [
                {
                    "code": "U01",
                    "name": "市垃圾分类办",
                    "kind": "municipal_bureau",
                    "county_code": None,
                    "contact": "张伟",
                    "phone": "0791-80000001",
                    "duties": "牵头抓总、统筹协调",
                }
            ],
        )


def sign_in(gw: Gateway, role: str, **scope: str) -> str:
    """Create a user of ``role``, sign in, and read the session's CSRF token off a registry page."""
    gw.user(f"u_{role}", role, **scope)
    assert gw.login(f"u_{role}").status_code == 303
    page = gw.client.get("/registry/units")
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


@pytest.fixture
def office(gw: Gateway) -> tuple[Gateway, str]:
    seed_divisions(gw)
    return gw, sign_in(gw, "office")


def vehicle_form(csrf: str, plate: str, county: str = "360102", **kw: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "plate_number": plate,
        "category": "kitchen",
        "energy_type": "electric",
        "capacity_tonnes": "2.5",
        "operator_name": "示范环卫有限公司",
        "county_code": county,
        **kw,
    }


def add_vehicle(gw: Gateway, csrf: str, plate: str, county: str = "360102", **kw: str) -> str:
    resp = gw.client.post(
        "/registry/vehicles/new", data=vehicle_form(csrf, plate, county, **kw), follow_redirects=False
    )
    assert resp.status_code == 303, resp.text
    match = re.match(r"^/registry/vehicles/([^?]+)\?done=created$", resp.headers["location"])
    assert match, resp.headers["location"]
    return match.group(1)


def codes_in(page: str) -> list[str]:
    return re.findall(r'<td class="col-code"><a href="/registry/\w+/([^"]+)">', page)


# --- lists -------------------------------------------------------------------------------------


def test_list_filters_county_scope_and_plate_search(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    east = add_vehicle(gw, csrf, "赣A12345")
    east2 = add_vehicle(gw, csrf, "赣AD23456", category="recyclable")
    west = add_vehicle(gw, csrf, "赣A54321", county="360103")

    page = gw.client.get("/registry/vehicles")
    assert page.status_code == 200
    assert codes_in(page.text) == sorted([east, east2, west])
    assert '<select id="flt-county" name="county">' in page.text  # office picks the county
    assert "东湖区" in page.text and "西湖区" in page.text
    assert "厨余垃圾" in page.text and 'class="cat cat-kitchen"' in page.text
    assert "纯电动" in page.text
    assert 'href="/registry/imports?kind=vehicles"' in page.text

    only_west = gw.client.get("/registry/vehicles?county=360103")
    assert codes_in(only_west.text) == [west]
    assert 'href="/registry/vehicles/export?county=360103"' in only_west.text

    recyclable = gw.client.get("/registry/vehicles?category=recyclable", headers=HX)
    assert "<html" not in recyclable.text  # the table block only
    assert 'id="records"' in recyclable.text
    assert len(codes_in(recyclable.text)) == 1 and "赣AD23456" in recyclable.text

    found = gw.client.get("/registry/vehicles", params={"q": "赣A543"}, headers=HX)
    assert codes_in(found.text) == [west]
    assert "赣A54321" in found.text

    # The county user: own county only, no county select, the URL cannot widen it.
    gw.client.cookies.clear()
    sign_in(gw, "county", county_code="360102")
    mine = gw.client.get("/registry/vehicles?county=360103")
    assert mine.status_code == 200
    assert west not in codes_in(mine.text)
    assert east in codes_in(mine.text)
    assert 'name="county"' not in mine.text
    assert "登记车辆" in mine.text  # the county edits its own records
    other = gw.client.get(f"/registry/vehicles/{west}")
    assert other.status_code == 404
    assert "不存在" in other.text


def test_pagination_cursor_round_trip(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    codes = sorted(add_vehicle(gw, csrf, f"赣A{n:05d}") for n in range(1, 13))

    first = gw.client.get("/registry/vehicles?size=10")
    assert codes_in(first.text) == codes[:10]
    assert "第 1 页" in first.text and "上一页" not in first.text
    found = re.search(r'<a class="btn" rel="next" href="([^"]+)"', first.text)
    assert found, first.text
    next_url = html.unescape(found.group(1))
    assert "size=10" in next_url and "cursor=" in next_url
    assert 'hx-push-url="true"' in first.text  # the URL keeps filters and cursor (back button)

    second = gw.client.get(next_url, headers=HX)  # htmx: the block only
    assert "<html" not in second.text
    assert codes_in(second.text) == codes[10:]
    assert "第 2 页" in second.text and "下一页" not in second.text
    found = re.search(r'<a class="btn" rel="prev" href="([^"]+)"', second.text)
    assert found, second.text
    prev_url = html.unescape(found.group(1))

    reload = gw.client.get(next_url)  # a reload of the pushed URL renders the same state in full
    assert "<html" in reload.text and codes_in(reload.text) == codes[10:]
    assert 'value="10" selected' in reload.text

    back = gw.client.get(prev_url)
    assert codes_in(back.text) == codes[:10]

    restore = gw.client.get(next_url, headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text  # htmx's history cache miss needs the whole page

    stale = gw.client.get("/registry/vehicles?size=10&cursor=not-a-cursor&trail=~")
    assert stale.status_code == 200
    assert "分页位置已失效" in stale.text and codes_in(stale.text) == codes[:10]


# --- detail, create, edit, decommission ------------------------------------------------------------


def test_create_with_errors_shows_field_messages_in_place_and_keeps_values(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    form = gw.client.get("/registry/vehicles/new")
    assert form.status_code == 200
    assert '<select id="f-county_code" name="county_code"' in form.text  # the office picks the county

    data = vehicle_form(csrf, "赣AI2345", operator_name="", capacity_tonnes="很多")
    resp = gw.client.post("/registry/vehicles/new", data=data)
    assert resp.status_code == 422
    text = resp.text
    plate_error = re.search(r'<p class="error" id="e-plate_number">([^<]+)</p>', text)
    assert plate_error and "不能使用字母 I 或 O" in plate_error.group(1)
    assert "plate_number（" not in plate_error.group(1)  # the field is named by its place
    assert re.search(r'<p class="error" id="e-capacity_tonnes">[^<]+</p>', text)
    assert 'value="赣AI2345"' in text  # what was typed stays
    assert 'value="很多"' in text
    assert '<option value="kitchen" selected>' in text
    assert '<option value="360102" selected>' in text

    no_county = gw.client.post("/registry/vehicles/new", data={**data, "county_code": ""})
    assert re.search(r'<p class="error" id="e-county_code">请选择所属县区</p>', no_county.text)

    # htmx submits get the form block back with 200 (htmx 2 does not swap 4xx answers).
    hx = gw.client.post("/registry/vehicles/new", data=data, headers=HX)
    assert hx.status_code == 200 and "<html" not in hx.text and 'id="e-plate_number"' in hx.text


def test_duplicate_plate_is_shown_at_the_plate(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    code = add_vehicle(gw, csrf, "赣A12345")
    resp = gw.client.post("/registry/vehicles/new", data=vehicle_form(csrf, "赣A12345"))
    assert resp.status_code == 422
    error = re.search(r'<p class="error" id="e-plate_number">([^<]+)</p>', resp.text)
    assert error and code in error.group(1)


def test_successful_create_shows_the_unified_number(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    resp = gw.client.post("/registry/vehicles/new", data=vehicle_form(csrf, "赣AD12345"), follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/registry/vehicles/360102-K00001?done=created"
    page = gw.client.get(resp.headers["location"])
    assert "已登记，统一编号 360102-K00001" in page.text
    assert "赣AD12345" in page.text and "示范环卫有限公司" in page.text and "东湖区" in page.text

    hx = gw.client.post("/registry/vehicles/new", data=vehicle_form(csrf, "赣AD12346"), headers=HX)
    assert hx.headers["HX-Redirect"] == "/registry/vehicles/360102-K00002?done=created"


def test_detail_shows_history_after_an_edit(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    code = add_vehicle(gw, csrf, "赣A12345")
    edit = gw.client.get(f"/registry/vehicles/{code}/edit")
    assert edit.status_code == 200
    assert 'value="赣A12345"' in edit.text and 'value="2.5"' in edit.text
    assert 'name="county_code"' not in edit.text  # fixed once registered

    data = vehicle_form(csrf, "赣A12345", operator_name="新运营公司", capacity_tonnes="3")
    data.pop("county_code")
    resp = gw.client.post(f"/registry/vehicles/{code}/edit", data=data, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == f"/registry/vehicles/{code}?done=saved"

    page = gw.client.get(resp.headers["location"]).text
    assert "已保存修改" in page
    assert "变更记录" in page and "共 2 次" in page
    history = page[page.index("变更记录") :]
    assert "修改" in history and "登记" in history
    assert re.search(r"<th scope=\"row\">运营单位</th><td class=\"before\">示范环卫有限公司</td>.*?新运营公司", history)
    assert re.search(r"核定载重（吨）</th><td class=\"before\">2.5</td>.*?<td class=\"after\">3</td>", history)
    assert "版本" not in history  # bookkeeping fields are not changes a person made
    # times in Asia/Shanghai
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", history)

    same = gw.client.post(f"/registry/vehicles/{code}/edit", data=data, follow_redirects=False)
    assert same.headers["location"].endswith("?done=unchanged")

    bad = gw.client.post(f"/registry/vehicles/{code}/edit", data={**data, "plate_number": "京"})
    assert bad.status_code == 422 and 'id="e-plate_number"' in bad.text and 'value="京"' in bad.text


def test_decommission(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    code = add_vehicle(gw, csrf, "赣A12345")
    detail = gw.client.get(f"/registry/vehicles/{code}").text
    assert "hx-confirm=" in detail and f"/registry/vehicles/{code}/decommission" in detail

    no_token = gw.client.post(f"/registry/vehicles/{code}/decommission", data={"reason": "x"})
    assert no_token.status_code == 403

    resp = gw.client.post(
        f"/registry/vehicles/{code}/decommission",
        data={"csrf_token": csrf, "reason": "车辆报废"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = gw.client.get(resp.headers["location"]).text
    assert "已注销" in page and "注销原因：车辆报废" in page
    assert f'href="/registry/vehicles/{code}/edit"' not in page
    assert "/decommission" not in page
    assert gw.client.get(f"/registry/vehicles/{code}/edit").status_code == 409
    listed = gw.client.get("/registry/vehicles?status=decommissioned")
    assert codes_in(listed.text) == [code]


def test_leader_reads_everything_and_changes_nothing(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    code = add_vehicle(gw, csrf, "赣A12345")
    gw.client.cookies.clear()
    leader_csrf = sign_in(gw, "leader")
    listing = gw.client.get("/registry/vehicles")
    assert codes_in(listing.text) == [code]
    assert "登记车辆" not in listing.text and "/registry/imports" not in listing.text
    assert "导出" in listing.text
    detail = gw.client.get(f"/registry/vehicles/{code}")
    assert detail.status_code == 200
    assert "/edit" not in detail.text and "/decommission" not in detail.text
    assert gw.client.get("/registry/vehicles/new").status_code == 403
    post = gw.client.post("/registry/vehicles/new", data=vehicle_form(leader_csrf, "赣A99999"))
    assert post.status_code == 403 and "没有权限" in post.text
    dec = gw.client.post(f"/registry/vehicles/{code}/decommission", data={"csrf_token": leader_csrf})
    assert dec.status_code == 403
    assert "在用" in gw.client.get(f"/registry/vehicles/{code}").text


def test_county_user_registers_a_site_in_its_own_county(gw: Gateway) -> None:
    seed_divisions(gw)
    csrf = sign_in(gw, "county", county_code="360102")
    form = gw.client.get("/registry/sites/new")
    assert form.status_code == 200
    assert 'name="county_code"' not in form.text  # the county is the user's own
    assert "公园街道（360102001）" in form.text and "南浦街道" not in form.text

    missing = gw.client.post("/registry/sites/new", data={"csrf_token": csrf, "kind": "residential", "name": ""})
    assert missing.status_code == 422
    assert 'id="e-street_code"' in missing.text and 'id="e-name"' in missing.text

    resp = gw.client.post(
        "/registry/sites/new",
        data={
            "csrf_token": csrf,
            "kind": "residential",
            "name": "滨江花园",
            "street_code": "360102001",
            "community_code": "360102001001",
            "covered": "1",
            "covered_since": "2021-07-01",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    page = gw.client.get(resp.headers["location"]).text
    assert "已登记，统一编号 360102-S" in page
    assert "居民小区" in page and "公园街道" in page and "八一社区" in page and "2021-07-01" in page

    options = gw.client.get("/registry/divisions/options?level=community&street_code=360102001", headers=HX)
    assert "八一社区（360102001001）" in options.text
    # a county user's street options are its own county's, whatever is asked
    streets = gw.client.get("/registry/divisions/options?level=street&county_code=360103", headers=HX)
    assert "公园街道" in streets.text and "南浦街道" not in streets.text


def test_facility_form_and_detail(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    streets = gw.client.get("/registry/divisions/options?level=street&county_code=360103", headers=HX)
    assert "南浦街道（360103001）" in streets.text and 'hx-swap-oob="innerHTML"' in streets.text
    resp = gw.client.post(
        "/registry/facilities/new",
        data={
            "csrf_token": csrf,
            "kind": "hazardous_store",
            "name": "公园街道有害垃圾暂存点",
            "county_code": "360102",
            "street_code": "360102001",
            "lat": "28.6829",
            "lng": "115.8986",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    page = gw.client.get(resp.headers["location"]).text
    assert "有害垃圾暂存点" in page and 'class="cat cat-hazardous"' in page and "有害垃圾" in page
    assert "28.6829" in page and "115.8986" in page
    listing = gw.client.get("/registry/facilities?kind=hazardous_store&q=暂存").text
    assert len(codes_in(listing)) == 1

    bad = gw.client.post(
        "/registry/facilities/new",
        data={"csrf_token": csrf, "kind": "bin_group", "name": "桶组", "county_code": "360102", "lat": "99", "lng": ""},
    )
    assert bad.status_code == 422
    assert re.search(r'id="e-lat">[^<]*之间', bad.text) and 'id="e-lng"' in bad.text
    assert 'value="99"' in bad.text


def test_divisions_tree_and_units(office: tuple[Gateway, str]) -> None:
    gw, _csrf = office
    page = gw.client.get("/registry/divisions")
    assert page.status_code == 200
    assert "东湖区" in page.text and "西湖区" in page.text
    assert 'hx-get="/registry/divisions?parent=360102"' in page.text and 'hx-trigger="toggle once"' in page.text
    streets = gw.client.get("/registry/divisions?parent=360102", headers=HX)
    assert "<html" not in streets.text and "公园街道" in streets.text and "董家窑街道" in streets.text
    assert 'hx-get="/registry/divisions?parent=360102001"' in streets.text
    communities = gw.client.get("/registry/divisions?parent=360102001", headers=HX)
    assert "八一社区" in communities.text and "tree-leaf" in communities.text

    units = gw.client.get("/registry/units")
    assert "市垃圾分类办" in units.text and "市直部门" in units.text
    unit = gw.client.get("/registry/units/U01")
    assert "张伟" in unit.text and "0791-80000001" in unit.text and "牵头抓总" in unit.text
    assert gw.client.get("/registry/units/U99").status_code == 404


def test_navigation_lists_the_registry_pages(office: tuple[Gateway, str]) -> None:
    gw, _csrf = office
    page = gw.client.get("/registry/vehicles").text
    for href, label in [
        ("/registry/divisions", "行政区划"),
        ("/registry/units", "成员单位"),
        ("/registry/sites", "管理对象"),
        ("/registry/facilities", "设施"),
        ("/registry/vehicles", "车辆"),
        ("/registry/map", "设施地图"),
    ]:
        assert f'<a href="{href}"' in page and label in page
    assert '<a href="/registry/vehicles" class="active"' in page


def test_registry_down_shows_the_503_page(make_gateway: Callable[..., Gateway]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    gw = make_gateway(transports={"registry": httpx.MockTransport(handler)})
    sign_in(gw, "office")
    for path in ("/registry/vehicles", "/registry/vehicles/360102-K00001", "/registry/divisions", "/registry/map"):
        resp = gw.client.get(path)
        assert resp.status_code == 503, path
        assert "服务暂不可用" in resp.text and "Traceback" not in resp.text
    hx = gw.client.get("/registry/vehicles?q=x", headers=HX)
    assert hx.status_code == 503 and "toast" in hx.text


def test_not_found_page_speaks_to_the_person(gw: Gateway) -> None:
    """A record the county cannot see: the page says 您, not the API's 调用方."""
    seed_divisions(gw)
    sign_in(gw, "county", county_code="360102")
    page = gw.client.get("/registry/vehicles/360103-K00001")
    assert page.status_code == 404
    assert "不存在或不在您的辖区内" in page.text and "调用方" not in page.text


def _facility(gw: Gateway, csrf: str, name: str, street: str) -> None:
    data = {"csrf_token": csrf, "kind": "bin_group", "name": name, "county_code": street[:6], "street_code": street}
    data.update(
        {"lat": "28.6829", "lng": "115.8986"} if street.startswith("360102") else {"lat": "28.66", "lng": "115.87"}
    )
    resp = gw.client.post("/registry/facilities/new", data=data, follow_redirects=False)
    assert resp.status_code == 303, resp.text


def counted(gw: Gateway, page: str) -> str:
    """The count the list page loads a moment after it (``#records-total``'s ``hx-get``)."""
    url = html.unescape(re.search(r'id="records-total" hx-get="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    resp = gw.client.get(url, headers=HX)
    assert resp.status_code == 200, resp.text
    return resp.text


def test_lists_count_filter_by_street_and_export_both_formats(office: tuple[Gateway, str]) -> None:
    gw, csrf = office
    for n, street in enumerate(["360102001", "360102002", "360102001", "360103001"]):
        _facility(gw, csrf, f"桶组{n}", street)
    everything = gw.client.get("/registry/facilities", params={"size": "20"}).text
    total = counted(gw, everything)
    assert re.search(r"共 <strong>4</strong> 个设施", total) and "约" not in total
    assert 'name="street"' in everything and "先选择县区" in everything  # no county yet: no streets to pick

    east = gw.client.get("/registry/facilities", params={"county": "360102"}).text
    assert "公园街道" in east and "董家窑街道" in east and "南浦街道" not in east.split("flt-street-field")[1][:600]
    park = gw.client.get("/registry/facilities", params={"county": "360102", "street": "360102001"}, headers=HX)
    assert len(codes_in(park.text)) == 2 and re.search(r"共 <strong>2</strong> 个设施", counted(gw, park.text))
    assert 'hx-swap-oob="true"' in park.text and 'value="360102001" selected' in park.text  # the streets follow
    moved = gw.client.get("/registry/facilities", params={"county": "360103", "street": "360102001"}, headers=HX)
    assert len(codes_in(moved.text)) == 1 and "南浦街道" in moved.text  # another county drops the street

    page = gw.client.get("/registry/facilities", params={"county": "360102", "street": "360102001"}).text
    links = [html.unescape(h) for h in re.findall(r'href="(/registry/facilities/export[^"]*)"', page)]
    assert len(links) == 2 and any("format=csv" in h for h in links)
    for link in links:
        resp = gw.client.get(link)
        assert resp.status_code == 200
        name = unquote(resp.headers["content-disposition"].split("filename*=UTF-8''")[1])
        assert re.fullmatch(r"设施_东湖区公园街道_\d{4}-\d{2}-\d{2}\.(xlsx|csv)", name), name
    csv = gw.client.get(next(h for h in links if "format=csv" in h)).content.decode("utf-8-sig")
    assert len(csv.strip().splitlines()) == 3  # the header and the street's two facilities

    vehicles = gw.client.get("/registry/vehicles").text
    assert 'name="street"' not in vehicles and "共 <strong>0</strong> 辆车辆" in counted(gw, vehicles)


def test_an_estimated_count_reads_as_such(office: tuple[Gateway, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 10,000 on PostgreSQL the registry estimates: the page says 约 (the number with separators)."""
    from services.registry import repository

    gw, _csrf = office
    monkeypatch.setattr(repository, "count_records", lambda *_a, **_k: (123_456, True))
    page = counted(gw, gw.client.get("/registry/facilities", headers=HX).text)
    assert re.search(r"共 <abbr[^>]*>约</abbr> <strong>123,456</strong> 个设施", page), page[:400]
