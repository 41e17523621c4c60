"""Map coordinates as clerks copy them: 高德 / 腾讯 (GCJ-02) and 百度 (BD-09) to WGS-84, which the
registry stores. The forward offsets are the published ones; the inverse is found by a few rounds
of fixed-point iteration (each round halves the error by orders of magnitude), to well under 1 mm."""

from __future__ import annotations

import math
from collections.abc import Callable

SYSTEMS = {
    "wgs84": "WGS-84（GPS、天地图）",
    "gcj02": "GCJ-02（高德、腾讯地图）",
    "bd09": "BD-09（百度地图）",
}
DEFAULT_SYSTEM = "wgs84"

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses it
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_EPS = 1e-10  # degrees (about 0.01 mm)


def out_of_china(lat: float, lng: float) -> bool:
    """GCJ-02 offsets only points inside China's bounding box; elsewhere it is WGS-84."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
    dlng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlng = dlng * 180.0 / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    dlat, dlng = _offset(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _invert(forward: Callable[[float, float], tuple[float, float]], lat: float, lng: float) -> tuple[float, float]:
    """The point ``p`` with ``forward(p) == (lat, lng)``: start at the target and move by the miss."""
    guess_lat, guess_lng = lat, lng
    for _ in range(30):
        got_lat, got_lng = forward(guess_lat, guess_lng)
        miss_lat, miss_lng = got_lat - lat, got_lng - lng
        guess_lat, guess_lng = guess_lat - miss_lat, guess_lng - miss_lng
        if abs(miss_lat) < _EPS and abs(miss_lng) < _EPS:
            break
    return guess_lat, guess_lng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    return _invert(wgs84_to_gcj02, lat, lng)


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    return _invert(gcj02_to_bd09, lat, lng)


def bd09_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lng))


def to_wgs84(system: str, lat: float, lng: float) -> tuple[float, float]:
    """``(lat, lng)`` given in ``system`` (a key of ``SYSTEMS``) as WGS-84."""
    if system == "gcj02":
        return gcj02_to_wgs84(lat, lng)
    if system == "bd09":
        return bd09_to_wgs84(lat, lng)
    return lat, lng


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))
