"""``/teams``, ``/checklists``, ``/plans`` and ``/today``: HTTP only, the rules are in the service."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Body, Query, Request
from starlette.responses import Response

from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep
from services.common.responses import JSONBody
from services.supervision.deps import Cursor, Limit, calendar_of, forward, peer_of, routes
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

router, api = routes(tags=["plans"])

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


@api.get("/teams", "督导组列表", list[TeamPublic])
def list_teams(caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.list_teams(session, caller))


forward(api.get("/teams/{code}", "查看督导组", TeamPublic), service.get_team, code=str)


@api.put("/teams/{code}", "新建或修改督导组（新建 201，修改 200）", TeamPublic, created="新建")
def put_team(
    code: str,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[TeamIn, Body(openapi_examples={"team": {"summary": "督导组", "value": TEAM_EXAMPLE}})],
) -> Response:
    status, payload = service.put_team(session, caller, code, body)
    return JSONBody(payload, status_code=status)


@api.get("/checklists", "检查表模板（各版本）", list[ChecklistPublic])
def list_checklists(
    caller: CallerDep,
    session: ReadSessionDep,
    target_kind: Annotated[str | None, Query(description="检查对象类型", examples=["site:residential"])] = None,
    state: Annotated[str | None, Query(pattern="^(draft|published)$")] = None,
) -> Response:
    return JSONBody(service.list_checklists(session, caller, target_kind, state))


forward(
    api.get("/checklists/{checklist_id}", "查看检查表版本", ChecklistPublic), service.get_checklist, checklist_id=int
)


ChecklistBody = Annotated[
    ChecklistIn, Body(openapi_examples={"residential": {"summary": "居民小区", "value": CHECKLIST_EXAMPLE}})
]


@api.post("/checklists", "新建检查表草稿（同一编号则为新版本）", ChecklistPublic, status_code=201)
def create_checklist(caller: CallerDep, session: SessionDep, body: ChecklistBody) -> Response:
    return JSONBody(service.create_checklist(session, caller, body), status_code=201)


@api.put("/checklists/{checklist_id}", "修改检查表草稿（已发布的版本不能修改：409）", ChecklistPublic)
def update_checklist(checklist_id: int, caller: CallerDep, session: SessionDep, body: ChecklistBody) -> Response:
    return JSONBody(service.update_checklist(session, caller, checklist_id, body))


forward(
    api.post("/checklists/{checklist_id}/publish", "发布检查表版本（此后不再改变）", ChecklistPublic),
    service.publish_checklist,
    write=True,
    checklist_id=int,
)


@api.get("/plans", "督导计划列表（督导员只看本组）")
def list_plans(
    caller: CallerDep,
    session: ReadSessionDep,
    team: Annotated[str | None, Query(description="督导组编号")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    return JSONBody(service.list_plans(session, caller, team, cursor, limit))


@api.post("/plans", "新建督导计划：从基础台账选取或抽样检查对象，按工作日排期", PlanDetail, status_code=201)
def create_plan(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[PlanIn, Body(openapi_examples={"sample": {"summary": "每县区抽样 10 个", "value": PLAN_EXAMPLE}})],
) -> Response:
    state = request.app.state
    payload = service.create_plan(session, caller, body, calendar_of(state), peer_of(state, "registry"))
    return JSONBody(payload, status_code=201)


forward(api.get("/plans/{plan_id}", "查看督导计划（含检查表）", PlanDetail), service.get_plan, plan_id=int)


forward(api.post("/plans/{plan_id}/finish", "结束督导轮次", PlanPublic), service.finish_plan, write=True, plan_id=int)


@api.get("/plans/{plan_id}/targets", "计划的检查对象与排期", TargetPage)
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


@api.get("/today", "督导员某日（默认今天）的检查清单", DayList)
def today(
    caller: CallerDep,
    session: ReadSessionDep,
    inspector: Annotated[
        str | None, Query(description="督导员用户名；不填为当前登录用户本人", examples=["inspector"])
    ] = None,
    day: Annotated[date | None, Query(description="日期，默认今天（北京时间）")] = None,
) -> Response:
    return JSONBody(service.my_day(session, caller, inspector, day))
