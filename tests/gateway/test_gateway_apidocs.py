"""The county-facing API reference: the registry's OpenAPI through the gateway, and Swagger UI."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from gateway.apidocs import county_openapi

needs_registry = pytest.mark.skipif(
    importlib.util.find_spec("services.registry.app") is None, reason="registry service not built yet"
)


def test_county_openapi_rewrites_paths_and_adds_bearer() -> None:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {"/vehicles": {"get": {}}, "/events": {"get": {}}, "/health": {"get": {}}},
    }
    out = county_openapi(doc)
    assert set(out["paths"]) == {"/api/v1/registry/vehicles"}
    assert out["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert out["security"] == [{"apiKey": []}]
    assert doc["paths"].keys() == {"/vehicles", "/events", "/health"}  # the original is untouched


def test_reference_needs_authentication(gw) -> None:
    assert gw.client.get("/api/openapi.json").status_code == 401
    docs = gw.client.get("/api/docs", follow_redirects=False)
    assert docs.status_code == 303
    assert docs.headers["location"].startswith("/login?next=%2Fapi%2Fdocs")


@needs_registry
def test_openapi_has_gateway_paths(gw) -> None:
    resp = gw.client.get("/api/openapi.json", headers={"Authorization": f"Bearer {gw.key()}"})
    assert resp.status_code == 200
    doc = resp.json()
    assert "/api/v1/registry/vehicles" in doc["paths"]
    assert "/api/v1/registry/vehicles/{code}" in doc["paths"]
    assert not any(p.startswith(("/api/v1/registry/events", "/api/v1/registry/health")) for p in doc["paths"])
    assert all(p.startswith("/api/v1/registry/") for p in doc["paths"])
    assert doc["components"]["securitySchemes"]["apiKey"]["type"] == "http"


def test_docs_page_uses_vendored_swagger(gw) -> None:
    gw.login_as("county", county_code="360102")
    resp = gw.client.get("/api/docs")
    assert resp.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in resp.text
    assert "/static/vendor/swagger-ui/swagger-ui.css" in resp.text
    assert "/api/openapi.json" in resp.text
    assert "http://" not in resp.text and "https://" not in resp.text  # no CDN
    assert gw.client.get("/static/js/swagger-init.js").status_code == 200


def test_static_files_need_no_login(gw) -> None:
    assert gw.client.get("/static/css/app.css").status_code == 200
    assert gw.client.get("/static/vendor/htmx/htmx.min.js").status_code == 200
