"""Who may see and do what: the one place the service checks a caller's scope.

- office and admin: everything; leader: reads everything, writes nothing.
- inspector: the plans (and their inspections, findings, orders) of their own team.
- county (a user or an API key): reads and answers only its county's rectification orders.
- unit: only the orders whose responsible party is its own unit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, true

from services.common.auth import Caller
from services.common.errors import Forbidden


def require_key_permission(caller: Caller) -> None:
    """An API key (a county system) needs ``supervision:read`` to read and answer its orders."""
    if not caller.has_permission("supervision:read"):
        raise Forbidden("此 API 密钥没有“supervision:read”权限")


def require_office(caller: Caller) -> None:
    """Writes of the office: teams, checklists, plans, reports, circulars."""
    if caller.role not in ("admin", "office"):
        raise Forbidden("只有分类办工作人员可以执行此操作")


def require_reader(caller: Caller) -> None:
    """Reads of office material (plans, findings): not for county or unit callers."""
    if caller.role not in ("admin", "office", "leader", "inspector"):
        raise Forbidden("没有权限查看督导材料")


def require_inspector(caller: Caller) -> None:
    if caller.role not in ("admin", "office", "inspector"):
        raise Forbidden("只有督导员可以录入检查")


def sees_team(caller: Caller, team_code: str | None) -> bool:
    """Whether the caller may see a plan (or what hangs on it) of ``team_code``."""
    if caller.is_city_wide:
        return True
    return caller.role == "inspector" and caller.team_code is not None and caller.team_code == team_code


def team_filter(caller: Caller, column: Any) -> ColumnElement[bool]:
    """SQL condition: rows of a plan/team the caller may see."""
    if caller.is_city_wide:
        return true()
    if caller.role == "inspector" and caller.team_code:
        return column == caller.team_code
    return false()


def order_filter(caller: Caller, table: Table) -> ColumnElement[bool]:
    """SQL condition: the rectification orders the caller may read."""
    if caller.is_city_wide:
        return true()
    if caller.role == "inspector":
        return team_filter(caller, table.c.team_code)
    if caller.role == "county" and caller.county_code:
        return and_(table.c.party_kind == "county", table.c.party_code == caller.county_code)
    if caller.role == "unit" and caller.unit_code:
        return and_(table.c.party_kind == "unit", table.c.party_code == caller.unit_code)
    return false()


def sees_order(caller: Caller, order: dict[str, Any]) -> bool:
    if caller.is_city_wide:
        return True
    if caller.role == "inspector":
        return sees_team(caller, order.get("team_code"))
    if caller.role == "county":
        return order["party_kind"] == "county" and order["party_code"] == caller.county_code
    if caller.role == "unit":
        return order["party_kind"] == "unit" and order["party_code"] == caller.unit_code
    return False


def is_party(caller: Caller, order: dict[str, Any]) -> bool:
    """Whether the caller answers for the order (signs it, submits the fix)."""
    if caller.role == "county":
        return order["party_kind"] == "county" and order["party_code"] == caller.county_code
    if caller.role == "unit":
        return order["party_kind"] == "unit" and order["party_code"] == caller.unit_code
    return False
