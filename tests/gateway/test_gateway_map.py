"""The facility map: the Leaflet page and its points route, scoped like the facility list."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.gateway.conftest import HAS_REGISTRY, Gateway
from tests.gateway.test_gateway_registry_pages import seed_divisions, sign_in

pytestmark = pytest.mark.skipif(not HAS_REGISTRY, reason="registry service not built yet")


def add_facility(gw: Gateway, csrf: str, name: str, county: str, kind: str, lat: float, lng: float) -> str:
    resp = gw.client.post(
        "/registry/facilities/new",
        data={"csrf_token": csrf, "kind": kind, "name": name, "county_code": county, "lat": lat, "lng": lng},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return resp.headers["location"].split("/")[-1].split("?")[0]


@pytest.fixture
def city(gw: Gateway) -> tuple[Gateway, dict[str, str]]:
    seed_divisions(gw)
    csrf = sign_in(gw, "office")
    codes = {
        "east_store": add_facility(gw, csrf, "公园街道有害垃圾暂存点", "360102", "hazardous_store", 28.68, 115.90),
        "east_bins": add_facility(gw, csrf, "滨江花园桶组", "360102", "bin_group", 28.69, 115.89),
        "west_point": add_facility(gw, csrf, "南浦回收网点", "360103", "recycling_point", 28.66, 115.87),
    }
    return gw, codes


def test_map_page_loads_leaflet_from_vendor_without_inline_scripts(city: tuple[Gateway, dict[str, str]]) -> None:
    gw, _codes = city
    page = gw.client.get("/registry/map?county=360102&category=hazardous")
    assert page.status_code == 200
    text = page.text
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in text
    assert '<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">' in text
    assert '<script src="/static/js/map.js" defer></script>' in text
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", text))  # no inline scripts
    assert 'data-points-url="/registry/map/points"' in text
    assert '<option value="360102" selected>' in text and '<option value="hazardous" selected>' in text
    assert "data-tile-url" not in text  # no tile server without the setting
    assert "未接入底图服务" in text and "SORTLINE_" not in text  # never a setting's name
    for label in ("可回收物", "有害垃圾", "厨余垃圾", "其他垃圾"):
        assert label in text
    assert gw.client.get("/static/js/map.js").status_code == 200
    assert gw.client.get("/static/vendor/leaflet/leaflet.js").status_code == 200


def test_tile_url_appears_only_when_set(make_gateway: Callable[..., Gateway]) -> None:
    url = "https://t0.tianditu.example/vec_w/wmts?tk=abc&x={x}&y={y}&l={z}"
    gw = make_gateway(map_tile_url=url, map_tile_attribution="天地图")
    sign_in(gw, "office")
    text = gw.client.get("/registry/map").text
    assert 'data-tile-url="https://t0.tianditu.example/vec_w/wmts?tk=abc&amp;x={x}&amp;y={y}&amp;l={z}"' in text
    assert 'data-tile-attribution="天地图"' in text
    assert "未接入底图服务" not in text


def test_points_are_scoped_and_filtered(city: tuple[Gateway, dict[str, str]]) -> None:
    gw, codes = city
    everything = gw.client.get("/registry/map/points").json()
    assert sorted(p[0] for p in everything["items"]) == sorted(codes.values())
    assert everything["truncated"] is False
    point = next(p for p in everything["items"] if p[0] == codes["east_store"])
    assert point == [codes["east_store"], 28.68, 115.9, "hazardous", "hazardous_store", "公园街道有害垃圾暂存点"]

    west = gw.client.get("/registry/map/points?county=360103").json()
    assert [p[0] for p in west["items"]] == [codes["west_point"]]
    hazardous = gw.client.get("/registry/map/points?category=hazardous").json()
    assert [p[0] for p in hazardous["items"]] == [codes["east_store"]]
    bins = gw.client.get("/registry/map/points?kind=bin_group&category=bogus").json()
    assert [p[0] for p in bins["items"]] == [codes["east_bins"]]

    gw.client.cookies.clear()
    sign_in(gw, "county", county_code="360102")
    mine = gw.client.get("/registry/map/points?county=360103").json()  # the county cannot widen it
    assert sorted(p[0] for p in mine["items"]) == sorted([codes["east_store"], codes["east_bins"]])
    page = gw.client.get("/registry/map").text
    assert 'name="county"' not in page


def test_points_need_a_login(gw: Gateway) -> None:
    resp = gw.client.get("/registry/map/points", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
