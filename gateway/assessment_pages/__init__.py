"""The assessment pages (考核评估): quarters and their board, the review queue, the score forecast,
national results, the responsibility list, catalogue versions, the units' tasks and the ranking.
They read and write through the assessment service, which decides scope and rules again."""

from __future__ import annotations

from fastapi import APIRouter

from gateway import render
from gateway.assessment_pages import catalogue_controls, catalogues, controls, home, quarters, review, scores, tasks
from gateway.assessment_pages.common import OFFICE_ROLES, RESPONDER_ROLES, SCORE_ROLES
from gateway.render import NavItem

router = APIRouter(include_in_schema=False)
for module in (tasks, review, quarters, scores, catalogues, home, controls, catalogue_controls):
    router.include_router(module.router)

# The top navigation: one entry per role's main page; the pages link the rest (assessment tabs).
NAV = (
    NavItem("/assessment/quarters", "考核评估", OFFICE_ROLES),
    NavItem("/assessment/review", "审核队列", OFFICE_ROLES),
    NavItem("/assessment/forecast", "得分预测", SCORE_ROLES - OFFICE_ROLES),
    NavItem("/assessment/rankings", "单位考核", SCORE_ROLES - OFFICE_ROLES),
    NavItem("/assessment/tasks", "我的任务", RESPONDER_ROLES),
)
for entry in NAV:
    render.register_nav(entry, group="考核评估")

__all__ = ["router"]
