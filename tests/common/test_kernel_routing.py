"""services.common.routing.Routes: read errors on GET, write errors on the other methods, the tag,
and other keywords passed to the router unchanged, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from starlette.responses import Response

from services.common.routing import Routes

READ: dict[int | str, dict[str, Any]] = {404: {"description": "没有"}}
WRITE: dict[int | str, dict[str, Any]] = {404: {"description": "没有"}, 409: {"description": "冲突"}}


class Thing(BaseModel):
    code: str


def test_routes_document_errors_tag_and_extra_keywords() -> None:
    router = APIRouter()
    api = Routes(router, read=READ, write=WRITE, tag="things")
    untagged = Routes(router, read=READ, write=WRITE)

    @api.get("/things/{code}", "查看", Thing)
    def get_thing(code: str) -> Response:
        return Response()

    @api.post("/things", "新建", Thing, status_code=201, description="说明")
    def create_thing() -> Response:
        return Response()

    @api.put("/things/{code}", "修改")
    def put_thing(code: str) -> Response:
        return Response()

    @api.patch("/things/{code}", "部分修改")
    def patch_thing(code: str) -> Response:
        return Response()

    @api.delete("/things/{code}", "删除", status_code=204)
    def delete_thing(code: str) -> Response:
        return Response(status_code=204)

    @api.put("/upserts/{code}", "新建或修改", Thing, created="新建")
    def upsert(code: str) -> Response:
        return Response()

    @untagged.get("/plain", "无标签")
    def plain() -> Response:
        return Response()

    app = FastAPI()
    app.include_router(router)
    paths = app.openapi()["paths"]
    one = paths["/things/{code}"]
    assert one["get"]["summary"] == "查看" and one["get"]["tags"] == ["things"]
    assert set(one["get"]["responses"]) == {"200", "404", "422"}
    assert one["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
    for method in ("put", "patch", "delete"):
        assert "409" in one[method]["responses"] and one[method]["tags"] == ["things"], method
    assert set(one["delete"]["responses"]) == {"204", "404", "409", "422"}
    created = paths["/things"]["post"]
    assert created["description"] == "说明" and set(created["responses"]) == {"201", "404", "409"}
    assert "tags" not in paths["/plain"]["get"] and set(paths["/plain"]["get"]["responses"]) == {"200", "404"}
    upserted = paths["/upserts/{code}"]["put"]["responses"]
    assert set(upserted) == {"200", "201", "404", "409", "422"} and upserted["201"]["description"] == "新建"
    assert upserted["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Thing"}
    assert "201" not in one["put"]["responses"]
