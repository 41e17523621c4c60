"""The scopes an account may be given, as names: the registry's counties and member units, the
supervision service's teams. The admin forms pick from these lists, the lists show their names,
and a scope that is not among them is refused on its field (``check_known``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from gateway.deps import ServicesDep
from gateway.scope_names import remember
from services.common.errors import AppError, InvalidInput


@dataclass(frozen=True)
class ScopeCatalog:
    """code → name for each kind of scope; ``None`` when its service did not answer."""

    counties: dict[str, str] | None
    units: dict[str, str] | None
    teams: dict[str, str] | None

    def options(self, kind: str) -> list[tuple[str, str]]:
        table = getattr(self, kind) or {}
        return sorted(table.items())

    def label(self, role: str, unit_code: str | None, county_code: str | None, team_code: str | None) -> str:
        """What an account's scope reads as: the name (the code when the name is not known)."""
        if role == "unit":
            return _name(self.units, unit_code, "单位")
        if role == "county":
            return _name(self.counties, county_code, "县区")
        if role == "inspector":
            return _name(self.teams, team_code, "督导组")
        return "全市"

    def check_known(self, role: str, unit_code: str | None, county_code: str | None, team_code: str | None) -> None:
        """``InvalidInput`` on the field when the scope a role needs is not a known one."""
        for needed, field, code, table, noun, service in (
            ("unit", "unit_code", unit_code, self.units, "成员单位", "登记"),
            ("county", "county_code", county_code, self.counties, "县区", "登记"),
            ("inspector", "team_code", team_code, self.teams, "督导组", "督导"),
        ):
            if role != needed or not code:
                continue
            if table is None:
                raise InvalidInput.field(field, f"{service}服务暂不可用，无法核对{noun}，请稍后再试")
            if code not in table:
                raise InvalidInput.field(field, f"{noun}“{code}”不存在，请从列表中选择")


def _name(table: dict[str, str] | None, code: str | None, noun: str) -> str:
    if not code:
        return f"{noun} -"
    name = (table or {}).get(code)
    return name if name else f"{noun} {code}"


async def _table(call: Awaitable[Any], code: str = "code", name: str = "name") -> dict[str, str] | None:
    try:
        items = await call
    except AppError:
        return None
    if isinstance(items, dict):
        items = items.get("items", [])
    out: dict[str, str] = {}
    for item in items:
        row = item if isinstance(item, dict) else item.model_dump()
        out[str(row[code])] = str(row.get(name) or row[code])
    return out


async def load_scopes(services: ServicesDep) -> ScopeCatalog:
    """Dependency: the three lists, asked for at once; a service that fails leaves its list out."""
    counties, units, teams = await asyncio.gather(
        _table(services.registry.counties()),
        _table(services.registry.call("GET", "/units")),
        _table(services.supervision.call("GET", "/teams")),
    )
    for role, table in (("county", counties), ("unit", units), ("inspector", teams)):
        if table:
            remember(role, table)
    return ScopeCatalog(counties, units, teams)


ScopesDep = Annotated[ScopeCatalog, Depends(load_scopes)]
