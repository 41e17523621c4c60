"""The gateway's kernel for pages: ``ServiceClient.call()`` and its error mapping, ``stream()``,
``ServicesDep``, ``redirect()``, ``register_nav()``, and the registry's labels at ``GET /meta``
cached by the gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from gateway import render as render_module
from gateway.clients import META_CACHE_SECONDS, RegistryClient, ServiceClient
from gateway.config import Settings
from gateway.render import ALL_ROLES, NavItem, nav_for, redirect, register_nav
from gateway.security import Principal
from services.common.auth import Caller, verify_token
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from tests.gateway.conftest import HAS_REGISTRY, Gateway, service_transports

CALLER = Caller(sub="user:1", role="office", name="张三", rid="rid-1")


def client_for(handler: Callable[[httpx.Request], httpx.Response], cls: type[ServiceClient] = ServiceClient) -> Any:
    transport = httpx.MockTransport(handler)
    return cls(httpx.AsyncClient(transport=transport), "http://svc", Settings(), transport)


# --- call() ------------------------------------------------------------------------------------


async def test_call_sends_params_json_and_the_signed_caller() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"code": "360102-K00001"})

    client = client_for(handler)
    answer = await client.call(
        "POST",
        "/vehicles",
        caller=CALLER,
        params={"county": "360102", "q": None, "empty": "", "limit": 20},
        json={"plate_number": "赣A12345"},
        headers={"idempotency-key": "k1"},
    )
    assert answer == {"code": "360102-K00001"}
    (req,) = seen
    assert req.url.path == "/vehicles" and req.url.params == httpx.QueryParams({"county": "360102", "limit": "20"})
    assert req.headers["content-type"] == "application/json"
    assert req.headers["idempotency-key"] == "k1" and req.headers["x-request-id"] == "rid-1"
    assert req.content.decode() == '{"plate_number":"赣A12345"}'
    token = verify_token(req.headers["authorization"].split(" ", 1)[1], Settings().service_token_secret)
    assert token.sub == "user:1" and token.role == "office"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(404, NotFound), (409, Conflict), (422, InvalidInput), (403, Forbidden), (400, InvalidInput)],
)
async def test_call_raises_the_services_error_as_the_gateways(status: int, cls: type[Exception]) -> None:
    body = {
        "error": "validation_error",
        "message": "plate_number（车牌号）：格式不正确",
        "details": [{"field": "plate_number", "message": "格式不正确", "value": "X"}],
    }
    client = client_for(lambda _r: httpx.Response(status, json=body))
    with pytest.raises(cls) as caught:
        await client.call("GET", "/vehicles/x", caller=CALLER)
    error: Any = caught.value
    assert error.status_code == status
    assert error.message == "plate_number（车牌号）：格式不正确"
    assert error.code == "validation_error"
    assert [(d.field, d.message) for d in error.details] == [("plate_number", "格式不正确")]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_call_5xx_is_service_unavailable(status: int) -> None:
    client = client_for(lambda _r: httpx.Response(status, text="boom"))
    with pytest.raises(ServiceUnavailable, match="服务暂不可用"):
        await client.call("GET", "/units", caller=CALLER)


async def test_call_transport_error_and_garbage_are_service_unavailable() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ServiceUnavailable):
        await client_for(refused).call("GET", "/units", caller=CALLER)
    with pytest.raises(ServiceUnavailable):
        await client_for(lambda _r: httpx.Response(200, text="<html>")).call("GET", "/units", caller=CALLER)


async def test_stream_leaves_the_body_unread_and_raises_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/missing":
            return httpx.Response(404, json={"error": "not_found", "message": "导入任务不存在", "details": []})
        return httpx.Response(200, content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})

    client = client_for(handler)
    resp = await client.stream("GET", "/export", caller=CALLER, params={"format": "csv"})
    assert resp.status_code == 200 and resp.request.url.params["format"] == "csv"
    assert await client.read(resp) == b"a,b\n1,2\n"
    with pytest.raises(NotFound, match="导入任务不存在"):
        await client.stream("GET", "/missing", caller=CALLER)


# --- redirect() and the navigation ------------------------------------------------------------


def request_with(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/x", "headers": raw, "query_string": b""})


def test_redirect_is_a_303_or_hx_redirect() -> None:
    plain = redirect(request_with({}), "/registry/vehicles/360102-K00001?done=saved")
    assert plain.status_code == 303
    assert plain.headers["location"] == "/registry/vehicles/360102-K00001?done=saved"
    assert plain.headers["vary"] == "HX-Request"
    htmx = redirect(request_with({"HX-Request": "true"}), "/login")
    assert htmx.status_code == 200
    assert htmx.headers["hx-redirect"] == "/login" and "location" not in htmx.headers
    assert htmx.headers["vary"] == "HX-Request"


def principal(role: str) -> Principal:
    return Principal(kind="user", id=1, name="张三", role=role)


# The bar as it was when one central list held it (issue 7 will regroup it).
BEFORE = {
    "office": [
        ("/", "首页"),
        ("/admin/users", "用户管理"),
        ("/admin/apikeys", "API 密钥"),
        ("/api/docs", "接口文档"),
        ("/registry/divisions", "行政区划"),
        ("/registry/units", "成员单位"),
        ("/registry/sites", "管理对象"),
        ("/registry/facilities", "设施"),
        ("/registry/vehicles", "车辆"),
        ("/registry/map", "设施地图"),
        ("/registry/imports", "批量导入"),
    ],
    "inspector": [
        ("/", "首页"),
        ("/registry/divisions", "行政区划"),
        ("/registry/units", "成员单位"),
        ("/registry/sites", "管理对象"),
        ("/registry/facilities", "设施"),
        ("/registry/vehicles", "车辆"),
        ("/registry/map", "设施地图"),
    ],
}


def test_each_area_registers_its_entries_and_the_bar_is_unchanged() -> None:
    """The entries the central list had keep their labels, roles and order; the areas built since
    (assessment, supervision, integration, calendar) add theirs around them."""
    import gateway.app  # noqa: F401  (imports every area, as the running gateway does)

    known = {href for entries in BEFORE.values() for href, _ in entries}
    for role, expected in BEFORE.items():
        assert [(i.href, i.label) for i in nav_for(principal(role)) if i.href in known] == expected
    county = [i.href for i in nav_for(principal("county"))]
    assert "/registry/imports" in county and "/admin/users" not in county and "/api/docs" in county
    assert nav_for(None) == []


def test_register_nav_orders_groups_and_replaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "_NAV", {})
    register_nav(NavItem("/b", "乙", ALL_ROLES, order=20))
    register_nav(NavItem("/a", "甲", ALL_ROLES, order=10), group="组一")
    register_nav(NavItem("/c", "丙", frozenset({"office"})))  # default order: after the others
    register_nav(NavItem("/d", "丁", ALL_ROLES))
    assert [i.href for i in nav_for(principal("office"))] == ["/a", "/b", "/c", "/d"]
    assert [i.href for i in nav_for(principal("unit"))] == ["/a", "/b", "/d"]
    register_nav(NavItem("/c", "丙（新）", ALL_ROLES))  # the same href again: replaced in place
    assert [i.label for i in nav_for(principal("unit"))] == ["甲", "乙", "丙（新）", "丁"]
    groups = {e.item.href: e.group for e in render_module.nav_entries()}
    assert groups == {"/a": "组一", "/b": None, "/c": None, "/d": None}


# --- ServicesDep and GET /meta ---------------------------------------------------------------

pytestmark_registry = pytest.mark.skipif(not HAS_REGISTRY, reason="needs the registry service")


class Counting(httpx.AsyncBaseTransport):
    """Counts the calls of each path on their way to the real service."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


@pytestmark_registry
def test_meta_serves_the_registrys_labels(gw: Gateway) -> None:
    key = gw.key(county_code=None, role="office")
    resp = gw.client.get("/api/v1/registry/meta", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200
    meta = resp.json()
    assert meta["categories"]["recyclable"] == "可回收物" and meta["categories"]["mixed"] == "多类别"
    assert meta["facility_kinds"]["bin_group"] == "四分类桶组"
    assert meta["site_kinds"]["residential"] == "居民小区"
    assert meta["energy_types"]["electric"] == "纯电动"
    assert meta["statuses"] == {"active": "在用", "decommissioned": "已注销"}
    assert meta["unit_kinds"]["municipal_bureau"] == "市直部门"
    assert meta["division_levels"]["community"] == "社区（村）"
    assert meta["vehicle_categories"] == ["recyclable", "hazardous", "kitchen", "residual", "bulky"]
    assert meta["standard_categories"] == ["recyclable", "hazardous", "kitchen", "residual"]
    assert meta["category_colors"]["kitchen"] == "#2e9e4f"
    # any authenticated caller (a county key too); nobody without a token
    county = gw.key("360102")
    assert gw.client.get("/api/v1/registry/meta", headers={"Authorization": f"Bearer {county}"}).status_code == 200
    assert gw.client.get("/api/v1/registry/meta").status_code == 401


@pytestmark_registry
def test_the_gateway_fetches_meta_once_and_again_after_the_cache_time(
    make_gateway: Callable[..., Gateway], make_db: Callable[[str], Any]
) -> None:
    transports, _ = service_transports(make_db)
    counting = Counting(transports["registry"])
    gw = make_gateway(transports={**transports, "registry": counting})
    gw.login_as("office")
    for path in ("/registry/vehicles", "/registry/facilities", "/registry/units", "/"):
        page = gw.client.get(path)
        assert page.status_code == 200, page.text
    assert counting.paths.count("/meta") == 1
    assert "垃圾类别" in gw.client.get("/registry/vehicles").text
    registry: RegistryClient = gw.client.app.state.clients.registry  # type: ignore[attr-defined]
    assert registry._meta is not None
    stamp, meta = registry._meta
    registry._meta = (stamp - META_CACHE_SECONDS - 1, meta)  # the cache time has passed
    vehicles = gw.client.get("/registry/vehicles")
    assert counting.paths.count("/meta") == 2
    assert "厨余垃圾" in vehicles.text and "纯电动" in vehicles.text


@pytestmark_registry
def test_pages_call_the_registry_as_the_signed_in_user(
    make_gateway: Callable[..., Gateway], make_db: Callable[[str], Any]
) -> None:
    transports, _ = service_transports(make_db)
    seen: list[httpx.Request] = []

    class Recording(Counting):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await super().handle_async_request(request)

    gw = make_gateway(transports={**transports, "registry": Recording(transports["registry"])})
    gw.login_as("county", county_code="360102", display_name="东湖区联络员")
    assert gw.client.get("/registry/units", headers={"X-Request-ID": "page-rid-1"}).status_code == 200
    units = [r for r in seen if r.url.path == "/units"]
    assert units
    caller = verify_token(units[0].headers["authorization"].split(" ", 1)[1], gw.settings.service_token_secret)
    assert caller.role == "county" and caller.county_code == "360102" and caller.name == "东湖区联络员"
    assert caller.rid == "page-rid-1" and units[0].headers["x-request-id"] == "page-rid-1"
