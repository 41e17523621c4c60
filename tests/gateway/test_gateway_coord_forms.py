"""Site and facility forms: coordinates in GCJ-02 or BD-09 are stored as WGS-84; the point picker
and the county outlines (the convex hull of each county's facilities) the map draws without tiles."""

from __future__ import annotations

import re

import pytest

from gateway.coords import distance_m, gcj02_to_bd09, wgs84_to_gcj02
from gateway.registry_pages.facility_map import convex_hull
from tests.gateway.conftest import HAS_REGISTRY, Gateway
from tests.gateway.test_gateway_map import add_facility
from tests.gateway.test_gateway_registry_pages import seed_divisions, sign_in

pytestmark = pytest.mark.skipif(not HAS_REGISTRY, reason="registry service not built yet")

WGS = (28.6829, 115.8986)  # 南昌


def _stored(gw: Gateway, location: str) -> tuple[float, float]:
    code = location.split("/")[-1].split("?")[0]
    record = gw.client.get(f"/api/v1/registry/facilities/{code}", headers={"Authorization": f"Bearer {gw.key()}"})
    assert record.status_code == 200, record.text
    body = record.json()
    return body["lat"], body["lng"]


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_facility_saved_with_map_coordinates_stores_wgs84(gw: Gateway, system: str) -> None:
    seed_divisions(gw)
    csrf = sign_in(gw, "office")
    lat, lng = wgs84_to_gcj02(*WGS)
    if system == "bd09":
        lat, lng = gcj02_to_bd09(lat, lng)
    assert distance_m(lat, lng, *WGS) > 300  # what the clerk copied is far from the true point
    resp = gw.client.post(
        "/registry/facilities/new",
        data={
            "csrf_token": csrf,
            "kind": "bin_group",
            "name": "桶组",
            "county_code": "360102",
            "lat": f"{lat:.7f}",
            "lng": f"{lng:.7f}",
            "coord_system": system,
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    assert distance_m(*_stored(gw, resp.headers["location"]), *WGS) < 1.0


def test_edit_converts_and_unknown_numbers_keep_the_choice(gw: Gateway) -> None:
    seed_divisions(gw)
    csrf = sign_in(gw, "office")
    code = add_facility(gw, csrf, "网点", "360102", "recycling_point", 28.6, 115.8)
    lat, lng = wgs84_to_gcj02(*WGS)
    form = {"csrf_token": csrf, "kind": "recycling_point", "category": "recyclable", "name": "网点"}
    form["coord_system"] = "gcj02"
    resp = gw.client.post(
        f"/registry/facilities/{code}/edit", data={**form, "lat": str(lat), "lng": str(lng)}, follow_redirects=False
    )
    assert resp.status_code == 303, resp.text
    assert distance_m(*_stored(gw, resp.headers["location"]), *WGS) < 1.0
    bad = gw.client.post(f"/registry/facilities/{code}/edit", data={**form, "lat": "北纬", "lng": str(lng)})
    assert bad.status_code == 422
    assert '<option value="gcj02" selected>' in bad.text


def test_form_offers_the_systems_and_the_picker(gw: Gateway) -> None:
    seed_divisions(gw)
    sign_in(gw, "office")
    for path in ("/registry/facilities/new", "/registry/sites/new"):
        page = gw.client.get(path).text
        assert '<select id="f-coord_system" name="coord_system">' in page
        assert "GCJ-02（高德、腾讯地图）" in page and "BD-09（百度地图）" in page
        assert 'id="coord-picker"' in page and 'data-outlines-url="/registry/map/outlines"' in page
        assert '<script src="/static/js/coord-picker.js" defer></script>' in page
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert "coord-picker" not in gw.client.get("/registry/vehicles/new").text
    assert gw.client.get("/static/js/coord-picker.js").status_code == 200


def test_convex_hull() -> None:
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    inside = [(1.0, 1.0), (0.5, 1.5), (1.0, 0.0)]  # (1, 0) lies on an edge
    hull = convex_hull(square + inside)
    assert sorted(hull) == sorted(square)
    assert hull == [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]  # counter-clockwise
    assert convex_hull([(1.0, 1.0), (1.0, 1.0)]) == [(1.0, 1.0)]


def test_outlines_per_county_scoped(gw: Gateway) -> None:
    seed_divisions(gw)
    csrf = sign_in(gw, "office")
    for i, (lat, lng) in enumerate([(28.60, 115.80), (28.70, 115.80), (28.70, 115.95), (28.65, 115.85)]):
        add_facility(gw, csrf, f"东{i}", "360102", "bin_group", lat, lng)
    add_facility(gw, csrf, "西", "360103", "bin_group", 28.66, 115.87)
    items = gw.client.get("/registry/map/outlines").json()["items"]
    east = next(c for c in items if c["code"] == "360102")
    assert east["name"] == "东湖区"
    assert sorted(map(tuple, east["ring"])) == sorted([(28.60, 115.80), (28.70, 115.80), (28.70, 115.95)])
    west = next(c for c in items if c["code"] == "360103")
    assert west["ring"] == [[28.66, 115.87]]
    gw.client.cookies.clear()
    sign_in(gw, "county", county_code="360103")
    assert [c["code"] for c in gw.client.get("/registry/map/outlines").json()["items"]] == ["360103"]
