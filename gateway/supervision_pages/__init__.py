"""Supervision pages (督导): the inspector's tablet pages with their offline queue, the office's
teams, checklists, plans, inspections, findings, rectification board, enforcement records, reports
and circulars, and the member units' and counties' 我的整改. They talk to the supervision service
through ``api.Supervision``; the service decides scope again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway import render
from gateway.render import NavItem, env
from gateway.supervision_pages import inspector, office, rectify, reports
from gateway.supervision_pages.api import iso_local

router = APIRouter(include_in_schema=False)
router.include_router(inspector.router)
router.include_router(office.router)
router.include_router(rectify.router)
router.include_router(reports.router)

_ALL = frozenset({"admin", "office", "leader", "unit", "county", "inspector"})
_NAV = [
    ("/supervision/today", "今日任务", frozenset({"inspector"})),
    ("/supervision/outbox", "待发送", frozenset({"inspector"})),
    ("/supervision/plans", "督导检查", frozenset({"admin", "office", "leader", "inspector"})),
    ("/supervision/rectifications", "整改", frozenset({"admin", "office", "leader", "inspector"})),
    ("/supervision/my", "我的整改", frozenset({"unit", "county"})),
    ("/supervision/circulars", "通报", _ALL),
]
_register = getattr(render, "register_nav", None)
for _order, (_href, _label, _roles) in enumerate(_NAV, start=60):
    if _register is not None:  # the kernel gateway's registry of entries
        _placed: dict[str, Any] = {"order": _order}  # NavItem's place in the bar (kernel gateway)
        _register(NavItem(_href, _label, _roles, **_placed), group="督导检查")
    else:  # before it: the plain list (once, however often the package is imported)
        _items: list[NavItem] = vars(render)["NAV_ITEMS"]
        if not any(i.href == _href for i in _items):
            _items.append(NavItem(_href, _label, _roles))

env.filters["isolocal"] = iso_local

__all__ = ["router"]
