"""``/teams``, ``/checklists``, ``/plans`` and ``/today``: HTTP only, the rules are in the service."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep
from services.common.responses import JSONBody
from services.supervision.deps import READ_ERRORS, WRITE_ERRORS, calendar_of, peer_of
from services.supervision.plans import service
from services.supervision.plans.schemas import (
    ChecklistIn,
    ChecklistPublic,
    DayList,
    PlanDetail,
    PlanIn,
    PlanPublic,
    TargetPage,
    TeamIn,
    TeamPublic,
)

router = APIRouter(tags=["plans"])
Cursor = Annotated[str | None, Query(description="上一页返回的 next_cursor")]
Limit = Annotated[int, Query(ge=1, le=500)]

TEAM_EXAMPLE = {
    "code": "T01",
    "name": "第一督导组",
    "leader": "zhangsan",
    "members": ["inspector", "lisi"],
    "counties": ["360102", "360103"],
}
CHECKLIST_EXAMPLE: dict[str, Any] = {
    "code": "RES",
    "name": "居民小区督导检查表",
    "target_kind": "site:residential",
    "items": [
        {"id": "bins", "label": "四分类桶组齐全", "type": "yesno", "weight": 2, "category": "facility_damage"},
        {"id": "mixed", "label": "桶内分类质量", "type": "score", "max": 10, "category": "mixed_disposal"},
        {"id": "overflow", "label": "满溢桶数", "type": "count", "pass_max": 0, "category": "overflow"},
        {"id": "photo", "label": "投放点全景照片", "type": "photo"},
        {"id": "remark", "label": "其他情况", "type": "text", "required": False},
    ],
}
PLAN_EXAMPLE = {
    "name": "2026年国庆前后居民小区督导",
    "starts_on": "2026-09-28",
    "ends_on": "2026-10-11",
    "team_code": "T01",
    "checklist_id": 1,
    "selection": {
        "source": "site",
        "counties": ["360102"],
        "kinds": ["residential"],
        "sample_per_county": 10,
        "seed": 2026,
    },
    "per_inspector_per_day": 4,
}


@router.get("/teams", response_model=list[TeamPublic], summary="督导组列表", responses=READ_ERRORS)
def list_teams(caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.list_teams(session, caller))


@router.get("/teams/{code}", response_model=TeamPublic, summary="查看督导组", responses=READ_ERRORS)
def get_team(code: str, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.get_team(session, caller, code))


@router.put(
    "/teams/{code}",
    response_model=TeamPublic,
    summary="新建或修改督导组（新建 201，修改 200）",
    responses={201: {"model": TeamPublic, "description": "新建"}, **WRITE_ERRORS},
)
def put_team(
    code: str,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[TeamIn, Body(openapi_examples={"team": {"summary": "督导组", "value": TEAM_EXAMPLE}})],
) -> Response:
    status, payload = service.put_team(session, caller, code, body)
    return JSONBody(payload, status_code=status)


@router.get("/checklists", response_model=list[ChecklistPublic], summary="检查表模板（各版本）", responses=READ_ERRORS)
def list_checklists(
    caller: CallerDep,
    session: ReadSessionDep,
    target_kind: Annotated[str | None, Query(description="检查对象类型", examples=["site:residential"])] = None,
    state: Annotated[str | None, Query(pattern="^(draft|published)$")] = None,
) -> Response:
    return JSONBody(service.list_checklists(session, caller, target_kind, state))


@router.get(
    "/checklists/{checklist_id}", response_model=ChecklistPublic, summary="查看检查表版本", responses=READ_ERRORS
)
def get_checklist(checklist_id: int, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.get_checklist(session, caller, checklist_id))


ChecklistBody = Annotated[
    ChecklistIn, Body(openapi_examples={"residential": {"summary": "居民小区", "value": CHECKLIST_EXAMPLE}})
]


@router.post(
    "/checklists",
    status_code=201,
    response_model=ChecklistPublic,
    summary="新建检查表草稿（同一编号则为新版本）",
    responses=WRITE_ERRORS,
)
def create_checklist(caller: CallerDep, session: SessionDep, body: ChecklistBody) -> Response:
    return JSONBody(service.create_checklist(session, caller, body), status_code=201)


@router.put(
    "/checklists/{checklist_id}",
    response_model=ChecklistPublic,
    summary="修改检查表草稿（已发布的版本不能修改：409）",
    responses=WRITE_ERRORS,
)
def update_checklist(checklist_id: int, caller: CallerDep, session: SessionDep, body: ChecklistBody) -> Response:
    return JSONBody(service.update_checklist(session, caller, checklist_id, body))


@router.post(
    "/checklists/{checklist_id}/publish",
    response_model=ChecklistPublic,
    summary="发布检查表版本（此后不再改变）",
    responses=WRITE_ERRORS,
)
def publish_checklist(checklist_id: int, caller: CallerDep, session: SessionDep) -> Response:
    return JSONBody(service.publish_checklist(session, caller, checklist_id))


@router.get("/plans", summary="督导计划列表（督导员只看本组）", responses=READ_ERRORS)
def list_plans(
    caller: CallerDep,
    session: ReadSessionDep,
    team: Annotated[str | None, Query(description="督导组编号")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    return JSONBody(service.list_plans(session, caller, team, cursor, limit))


@router.post(
    "/plans",
    status_code=201,
    response_model=PlanDetail,
    summary="新建督导计划：从基础台账选取或抽样检查对象，按工作日排期",
    responses=WRITE_ERRORS,
)
def create_plan(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[PlanIn, Body(openapi_examples={"sample": {"summary": "每县区抽样 10 个", "value": PLAN_EXAMPLE}})],
) -> Response:
    state = request.app.state
    payload = service.create_plan(session, caller, body, calendar_of(state), peer_of(state, "registry"))
    return JSONBody(payload, status_code=201)


@router.get("/plans/{plan_id}", response_model=PlanDetail, summary="查看督导计划（含检查表）", responses=READ_ERRORS)
def get_plan(plan_id: int, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.get_plan(session, caller, plan_id))


@router.post("/plans/{plan_id}/finish", response_model=PlanPublic, summary="结束督导轮次", responses=WRITE_ERRORS)
def finish_plan(plan_id: int, caller: CallerDep, session: SessionDep) -> Response:
    return JSONBody(service.finish_plan(session, caller, plan_id))


@router.get(
    "/plans/{plan_id}/targets", response_model=TargetPage, summary="计划的检查对象与排期", responses=READ_ERRORS
)
def list_targets(
    plan_id: int,
    caller: CallerDep,
    session: ReadSessionDep,
    inspector: Annotated[str | None, Query(description="督导员用户名")] = None,
    day: Annotated[date | None, Query(description="排期日期")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    return JSONBody(
        service.list_targets(session, caller, plan_id, inspector=inspector, day=day, cursor=cursor, limit=limit)
    )


@router.get("/today", response_model=DayList, summary="督导员某日（默认今天）的检查清单", responses=READ_ERRORS)
def today(
    caller: CallerDep,
    session: ReadSessionDep,
    inspector: Annotated[
        str | None, Query(description="督导员用户名；不填为当前登录用户本人", examples=["inspector"])
    ] = None,
    day: Annotated[date | None, Query(description="日期，默认今天（北京时间）")] = None,
) -> Response:
    return JSONBody(service.my_day(session, caller, inspector, day))
