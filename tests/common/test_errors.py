"""The one error shape, in Chinese, with the field named."""

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field, field_validator

from services.common.errors import Conflict, InvalidInput, install_error_handlers


class Thing(BaseModel):
    name: str = Field(max_length=5)
    count: int = Field(ge=0)

    @field_validator("name")
    @classmethod
    def no_x(cls, v: str) -> str:
        if "x" in v:
            raise ValueError("名称不能包含 x")
        return v


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    def create(thing: Thing) -> Thing:
        if thing.name == "dup":
            raise Conflict("名称已存在", details=[])
        if thing.name == "bad":
            raise InvalidInput.field("name", "不能是 bad", "bad")
        return thing

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret stack detail")

    return app


async def call(method: str, path: str, **kw: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kw)  # type: ignore[arg-type]


async def test_validation_errors_name_each_field_in_chinese() -> None:
    resp = await call("POST", "/things", json={"name": "toolongname", "count": -1})
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "validation_error"
    fields = {d["field"]: d["message"] for d in body["details"]}
    assert fields == {"name": "最多 5 个字符", "count": "不能小于 0"}
    assert "name" in body["message"] and "count" in body["message"]


async def test_own_validator_sentence_reaches_the_client() -> None:
    body = (await call("POST", "/things", json={"name": "x1", "count": 1})).json()
    assert body["details"] == [{"field": "name", "message": "名称不能包含 x", "value": "x1"}]


async def test_missing_field_and_bad_json() -> None:
    body = (await call("POST", "/things", json={"name": "a"})).json()
    assert body["details"][0]["field"] == "count" and body["details"][0]["message"] == "必填"
    bad = await call("POST", "/things", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 422 and bad.json()["error"] == "validation_error"


async def test_app_errors_keep_their_status_and_shape() -> None:
    dup = await call("POST", "/things", json={"name": "dup", "count": 1})
    assert dup.status_code == 409 and dup.json() == {"error": "conflict", "message": "名称已存在", "details": []}
    bad = await call("POST", "/things", json={"name": "bad", "count": 1})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "name"


async def test_unknown_route_and_unexpected_error() -> None:
    missing = await call("GET", "/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    boom = await call("GET", "/boom")
    assert boom.status_code == 500
    assert "secret" not in boom.text and boom.json()["error"] == "internal_error"


async def test_summary_names_the_field_in_chinese_once() -> None:
    from services.common.errors import register_field_labels

    app = make_app()
    register_field_labels(app, {"name": "名称"})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        body = (await client.post("/things", json={"name": "x1", "count": 1})).json()
        assert body["message"] == "提交的数据有误：name（名称）：名称不能包含 x"
        assert body["details"][0]["message"] == "名称不能包含 x"
        bad = (await client.post("/things", json={"name": "bad", "count": 1})).json()
        assert bad["message"] == "name（名称）：不能是 bad"


async def test_labels_belong_to_one_app() -> None:
    """Two apps in one process (as in the gateway's tests) keep their own field names."""
    from services.common.errors import register_field_labels

    labelled, plain = make_app(), make_app()
    register_field_labels(labelled, {"name": "名称"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://t") as client:
        body = (await client.post("/things", json={"name": "bad", "count": 1})).json()
    assert body["message"] == "name：不能是 bad"


async def test_choice_errors_list_the_allowed_values_without_english() -> None:
    from typing import Literal

    app = FastAPI()
    install_error_handlers(app)

    class Pick(BaseModel):
        category: Literal["recyclable", "hazardous", "kitchen"]

    @app.post("/pick")
    def pick(body: Pick) -> Pick:
        return body

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        body = (await client.post("/pick", json={"category": "food"})).json()
    assert body["details"][0]["message"] == "应为 'recyclable'、'hazardous'、'kitchen' 之一"
