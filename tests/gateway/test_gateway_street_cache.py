"""The list pages' street filter asks the registry for a county's streets once per few minutes,
not on every page view (a list page's other registry calls are the page itself and the count)."""

from __future__ import annotations

import httpx
import pytest

from gateway.clients import RegistryClient
from gateway.config import Settings
from services.common.auth import Caller


@pytest.mark.asyncio
async def test_a_countys_streets_are_fetched_once_and_forgotten_on_request() -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url.params.get("parent")))
        parent = request.url.params["parent"]
        return httpx.Response(
            200,
            json={
                "items": [{"code": f"{parent}001", "name": "公园街道", "level": "street", "parent_code": parent}],
                "next_cursor": None,
            },
        )

    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(transport=transport) as http:
        client = RegistryClient(http, "http://registry", Settings(), transport)
        caller = Caller(sub="user:1", role="office")
        first = await client.streets(caller, "360102")
        again = await client.streets(caller, "360102")
        other = await client.streets(caller, "360103")
        assert [d.name for d in first] == [d.name for d in again] == ["公园街道"]
        assert other[0].code == "360103001"
        assert asked == ["360102", "360103"]
        client.forget()
        await client.streets(caller, "360102")
        assert asked == ["360102", "360103", "360102"]
