"""The county API's document and behaviour agree (the Schemathesis findings, one by one), through
the gateway with the real registry."""

from __future__ import annotations

import importlib.util
from typing import Any
from urllib.parse import quote

import pytest

needs_registry = pytest.mark.skipif(
    importlib.util.find_spec("services.registry.app") is None, reason="registry service not built yet"
)
pytestmark = needs_registry
API = "/api/v1/registry"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def doc_for(gw: Any, key: str) -> dict[str, Any]:
    resp = gw.client.get("/api/openapi.json", headers=auth(key))
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    return doc


def test_options_through_the_proxy_names_the_paths_methods(gw) -> None:
    key = gw.key()
    resp = gw.client.options(f"{API}/vehicles", headers=auth(key))
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, POST"  # the registry's, not the proxy's every method
    resp = gw.client.delete(f"{API}/vehicles/360102-K00001", headers=auth(key))
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, PATCH"


def test_idempotency_key_limits_are_declared(gw) -> None:
    doc = doc_for(gw, gw.key())
    params = doc["paths"][f"{API}/vehicles"]["post"]["parameters"]
    header = next(p for p in params if p["name"] == "Idempotency-Key")
    schema = header["schema"]
    options = schema.get("anyOf", [schema])
    declared = next(o for o in [schema, *options] if "maxLength" in o)
    assert declared["maxLength"] == 200 and declared["minLength"] == 1


@pytest.mark.parametrize(
    ("path", "value", "sentence"),
    [("/changes?since=", "0.5", "ISO 8601"), ("/coverage?as_of=", "0", "YYYY-MM-DD")],
)
def test_numbers_are_not_dates(gw, path: str, value: str, sentence: str) -> None:
    name = path.split("?")[1].rstrip("=")
    resp = gw.client.get(API + path + value, headers=auth(gw.key()))
    assert resp.status_code == 422, resp.text
    assert sentence in resp.json()["message"]
    good = "2026-03-01T08:00:00+08:00" if name == "since" else "2026-03-31"
    ok = gw.client.get(API + path.split("?")[0], params={name: good}, headers=auth(gw.key()))
    assert ok.status_code == 200, ok.text


def test_patch_document_says_required_fields_are_never_null(gw) -> None:
    schemas = doc_for(gw, gw.key())["components"]["schemas"]
    plate = schemas["VehicleUpdate"]["properties"]["plate_number"]
    assert "anyOf" not in plate and plate["type"] == "string" and "pattern" in plate
    assert schemas["VehicleUpdate"]["properties"]["gps_device_id"]["anyOf"][1] == {"type": "null"}
    assert schemas["FacilityUpdate"]["properties"]["lat"]["type"] == "number"
    assert schemas["FacilityUpdate"]["properties"]["lat"]["minimum"] == 3.8
    resp = gw.client.patch(f"{API}/vehicles/360102-K00001", json={"plate_number": None}, headers=auth(gw.key()))
    assert resp.status_code in (404, 422)  # what the document now says: null is not a plate


def test_city_keys_document_requires_the_county(gw) -> None:
    county = doc_for(gw, gw.key())["components"]["schemas"]["VehicleCreate"]
    assert "county_code" not in county.get("required", [])
    office = doc_for(gw, gw.key(None, role="office"))["components"]["schemas"]["VehicleCreate"]
    assert "county_code" in office["required"]
    assert office["properties"]["county_code"]["type"] == "string"
    assert "anyOf" not in office["properties"]["county_code"]


def test_cursor_is_declared_opaque_and_a_broken_one_is_a_422(gw) -> None:
    doc = doc_for(gw, gw.key())
    params = doc["paths"][f"{API}/vehicles"]["get"]["parameters"]
    cursor = next(p for p in params if p["name"] == "cursor")
    assert "next_cursor" in cursor["description"]
    options = cursor["schema"].get("anyOf", [cursor["schema"]])
    assert any(o.get("pattern") == "^[A-Za-z0-9_-]*$" for o in [cursor["schema"], *options])
    assert "422" in doc["paths"][f"{API}/vehicles"]["get"]["responses"]
    resp = gw.client.get(f"{API}/vehicles?cursor=bm90LWEtY3Vyc29y", headers=auth(gw.key()))
    assert resp.status_code == 422 and resp.json()["details"][0]["field"] == "cursor"


@pytest.mark.parametrize(("fmt", "media"), [("csv", "text/csv"), ("xlsx", "spreadsheetml")])
def test_exports_through_the_api_keep_their_chinese_file_name(gw, fmt: str, media: str) -> None:
    resp = gw.client.get(f"{API}/vehicles/export?format={fmt}", headers=auth(gw.key()))
    assert resp.status_code == 200, resp.text
    assert media in resp.headers["content-type"]
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    # RFC 6266 / 5987: what, where and when (车辆_东湖区_2026-12-03.csv)
    assert f"filename*=UTF-8''{quote('车辆_东湖区_')}" in disposition and disposition.endswith(f".{fmt}")
