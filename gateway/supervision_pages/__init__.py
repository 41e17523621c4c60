"""Supervision pages (督导): the inspector's tablet pages with their offline queue, the office's
teams, checklists, plans, inspections, findings, rectification board, enforcement records, reports
and circulars, and the member units' and counties' 我的整改. They talk to the supervision service
through ``api.Supervision``; the service decides scope again."""

from __future__ import annotations

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
for _order, (_href, _label, _roles) in enumerate(_NAV, start=60):
    render.register_nav(NavItem(_href, _label, _roles, order=_order), group="督导检查")

env.filters["isolocal"] = iso_local

__all__ = ["router"]
