"""GCJ-02 and BD-09 to WGS-84, against published reference points within 1 m: eviltransform's
test points for GCJ-02, the coordtransform library's documented example (天安门) for both."""

from __future__ import annotations

import pytest

from gateway.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    distance_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)

# wgs lat, wgs lng, gcj lat, gcj lng
GCJ_POINTS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # 上海
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # 深圳
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # 北京
]
# coordtransform (wandergis): wgs84togcj02 / gcj02towgs84 / bd09togcj02 of (116.404, 39.915)
DOC_WGS_TO_GCJ = ((39.915, 116.404), (39.91640428150164, 116.41024449916938))
DOC_GCJ_TO_WGS = ((39.915, 116.404), (39.91359571849836, 116.39775550083061))
DOC_BD_TO_GCJ = ((39.915, 116.404), (39.90865673957631, 116.39762729119315))


@pytest.mark.parametrize(("wlat", "wlng", "glat", "glng"), GCJ_POINTS)
def test_gcj02_to_wgs84_within_a_metre(wlat, wlng, glat, glng) -> None:
    assert distance_m(*wgs84_to_gcj02(wlat, wlng), glat, glng) < 0.01
    lat, lng = gcj02_to_wgs84(glat, glng)
    assert distance_m(lat, lng, wlat, wlng) < 1.0
    assert to_wgs84("gcj02", glat, glng) == (lat, lng)


def test_documented_example_within_a_metre() -> None:
    (lat, lng), want = DOC_WGS_TO_GCJ
    assert distance_m(*wgs84_to_gcj02(lat, lng), *want) < 0.01
    (lat, lng), want = DOC_GCJ_TO_WGS
    assert distance_m(*gcj02_to_wgs84(lat, lng), *want) < 1.0
    (lat, lng), want = DOC_BD_TO_GCJ
    assert distance_m(*bd09_to_gcj02(lat, lng), *want) < 1.0
    # BD-09 to WGS-84 is the two steps: the documented BD-09 point lands on the WGS-84 of its GCJ-02
    assert distance_m(*bd09_to_wgs84(lat, lng), *gcj02_to_wgs84(*want)) < 1.0
    assert to_wgs84("bd09", lat, lng) == bd09_to_wgs84(lat, lng)


def test_round_trips_and_the_offsets_are_real() -> None:
    lat, lng = 28.6829, 115.8986  # 南昌
    glat, glng = wgs84_to_gcj02(lat, lng)
    assert distance_m(lat, lng, glat, glng) > 100  # the offset the form must undo
    assert distance_m(*gcj02_to_wgs84(glat, glng), lat, lng) < 0.001
    blat, blng = gcj02_to_bd09(glat, glng)
    assert distance_m(*bd09_to_wgs84(blat, blng), lat, lng) < 0.001
    assert to_wgs84("wgs84", lat, lng) == (lat, lng)


def test_outside_china_is_left_alone() -> None:
    assert gcj02_to_wgs84(48.8584, 2.2945) == (48.8584, 2.2945)
