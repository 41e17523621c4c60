"""The kernel's error answers for what FastAPI refuses before a route runs: a 405 names every
method the path takes, a body that cannot be decoded is a 422 in Chinese."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.common.errors import install_error_handlers


class Thing(BaseModel):
    name: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things")
    def list_things() -> list[str]:
        return []

    @app.post("/things")
    def add_thing(thing: Thing) -> Thing:
        return thing

    @app.patch("/things/{code}")
    def change_thing(code: str, thing: Thing) -> Thing:
        return thing

    @app.get("/things/export")
    def export_things() -> str:
        return ""

    @app.get("/things/{code}")
    def get_thing(code: str) -> str:
        return code

    included = APIRouter(prefix="/r")  # FastAPI 0.16x keeps it as one entry of app.routes

    @included.get("/items")
    def list_items() -> list[str]:
        return []

    @included.post("/items")
    def add_item(thing: Thing) -> Thing:
        return thing

    app.include_router(included)
    return app


def test_405_allow_names_every_method_of_the_path() -> None:
    client = TestClient(make_app())
    resp = client.delete("/things")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, POST"  # Starlette named only the first route: GET
    assert resp.json()["error"] == "method_not_allowed"
    resp = client.put("/things/A1")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, PATCH"
    resp = client.put("/things/export")  # the literal path is its own resource, as in the OpenAPI
    assert resp.status_code == 405 and resp.headers["allow"] == "GET"
    resp = client.delete("/r/items")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, POST"
    resp = client.options("/things/A1")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, PATCH"


def test_undecodable_body_is_a_chinese_422() -> None:
    client = TestClient(make_app())
    resp = client.post("/things", content=b"\xff\xfe\x18\x08\x81", headers={"Content-Type": "application/json"})
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["error"] == "validation_error"
    assert body["details"][0]["field"] == "body"
    assert "无法解析" in body["message"]
    # Malformed but UTF-8: already a 422 (FastAPI's json_invalid), the same shape.
    resp = client.post("/things", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 422 and resp.json()["error"] == "validation_error"
