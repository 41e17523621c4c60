"""``/findings`` and ``/rectifications``: HTTP only, the rules are in the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.common.auth import Caller, CallerDep
from services.common.db import ReadSessionDep, SessionDep, session_scope
from services.common.errors import Forbidden
from services.common.idempotency import IdempotentWriteDep
from services.common.responses import JSONBody
from services.supervision import photo_repository as photo_repo
from services.supervision import scope
from services.supervision.deps import Cursor, LazyCalendar, Limit, SettingsDep, forward, routes
from services.supervision.errors import conflict
from services.supervision.photo_routes import PhotoIdPath, PhotoPlace, put_photo_route, store_photo
from services.supervision.rectification import service
from services.supervision.rectification.schemas import (
    FindingIn,
    FindingPage,
    FindingPublic,
    RectificationPage,
    TransitionIn,
)
from services.supervision.vocab import FindingCategory, RectState

router, api = routes(tags=["rectification"])

FINDING_EXAMPLE = {
    "plan_id": 1,
    "target_code": "360102-S000001",
    "target_name": "滨江花园",
    "county_code": "360102",
    "category": "overflow",
    "severity": "major",
    "description": "东门投放点厨余桶满溢，周边散落垃圾",
    "latitude": 28.6851,
    "longitude": 115.9032,
}
TRANSITION_EXAMPLES: dict[str, dict[str, Any]] = {
    "accept": {"summary": "签收", "value": {"action": "accept"}},
    "submit_fix": {
        "summary": "提交整改（先上传整改后照片）",
        "value": {"action": "submit_fix", "reason": "已增设厨余桶两个并清理周边", "photo_ids": ["after-1"]},
    },
    "verify": {"summary": "销号", "value": {"action": "verify", "reason": "复查合格"}},
    "reject": {"summary": "驳回", "value": {"action": "reject", "reason": "照片看不出整改效果，请补拍"}},
}


def _finding_filters(plan: int | None, county: str | None, category: str | None, state: str | None) -> dict[str, Any]:
    return {"plan_id": plan, "county_code": county, "category": category, "state": state}


@api.get("/findings", "问题列表（游标分页，最新在前）", FindingPage)
def list_findings(
    caller: CallerDep,
    session: ReadSessionDep,
    plan: Annotated[int | None, Query(description="督导计划")] = None,
    county: Annotated[str | None, Query(description="县区代码")] = None,
    category: Annotated[FindingCategory | None, Query(description="问题类别")] = None,
    state: Annotated[str | None, Query(pattern="^(open|closed)$", description="open 未结，closed 已销号")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    filters = _finding_filters(plan, county, category, state)
    return JSONBody(service.list_findings(session, caller, filters, cursor, limit))


@api.get("/findings/points", "问题地图点位（最多 5,000 个，最新在前）")
def finding_points(
    caller: CallerDep,
    session: ReadSessionDep,
    plan: Annotated[int | None, Query()] = None,
    county: Annotated[str | None, Query()] = None,
    category: Annotated[FindingCategory | None, Query()] = None,
    state: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> Response:
    return JSONBody(service.finding_points(session, caller, _finding_filters(plan, county, category, state), limit))


@api.get("/findings/duplicates", "疑似重复的未结问题（新建前查询）", list[FindingPublic])
def finding_duplicates(
    caller: CallerDep,
    session: ReadSessionDep,
    target_code: Annotated[str, Query(description="检查对象编号")],
    category: Annotated[FindingCategory, Query(description="问题类别")],
) -> Response:
    return JSONBody(service.duplicates(session, caller, target_code, category))


@api.post(
    "/findings",
    "新建问题（并下发整改通知）；疑似重复时 409，确认后设 allow_duplicate；"
    "带 Idempotency-Key（平板生成的问题编号）时相同内容重发不重复新建",
    FindingPublic,
    status_code=201,
)
def create_finding(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[FindingIn, Body(openapi_examples={"overflow": {"summary": "满溢", "value": FINDING_EXAMPLE}})],
    write: IdempotentWriteDep,
) -> Response:
    written = service.create_finding(session, settings, LazyCalendar(request.app.state), caller, body, write)
    return JSONBody(written.body, status_code=written.status_code)


forward(api.get("/findings/{finding_id}", "查看问题（含照片）", FindingPublic), service.get_finding, finding_id=int)


@api.get("/rectifications", "整改通知列表（县区、成员单位只看自己的）；overdue=true 时按最逾期在前", RectificationPage)
def list_rectifications(
    caller: CallerDep,
    session: ReadSessionDep,
    state: Annotated[RectState | None, Query(description="状态")] = None,
    overdue: Annotated[bool | None, Query(description="只看逾期（true）或未逾期（false）")] = None,
    party: Annotated[str | None, Query(description="责任主体编号（县区代码或成员单位编号）")] = None,
    plan: Annotated[int | None, Query(description="督导计划")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    page = service.list_orders(
        session, caller, state=state, overdue=overdue, party=party, plan_id=plan, cursor=cursor, limit=limit
    )
    return JSONBody(page)


@api.get("/rectifications/board", "整改看板：各状态数量、逾期与督办数")
def board(caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.board(session, caller))


forward(
    api.get("/rectifications/{order_id}", "查看整改通知（问题、整改前后照片、流转记录、督办记录）"),
    service.get_order,
    name="get_rectification",
    order_id=int,
)


@api.post(
    "/rectifications/{order_id}/transition", "整改流转：accept 签收、submit_fix 提交整改、verify 销号、reject 驳回"
)
def transition(
    order_id: int,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[TransitionIn, Body(openapi_examples=TRANSITION_EXAMPLES)],
) -> Response:
    return JSONBody(service.transition(session, caller, order_id, body))


def _order_for_photo(request: Request, caller: Caller, order_id: int, photo_id: str) -> None:
    with session_scope(request.app.state.read_engine) as session:
        order = service.visible_order(session, caller, order_id)
        exists = photo_repo.photo(session, "rectification", order_id, photo_id) is not None
    if not (scope.is_party(caller, order) or caller.role in ("admin", "office")):
        raise Forbidden("只有责任单位可以上传整改照片")
    if order["state"] != "accepted" and not exists:
        raise conflict("只有“已签收”的整改通知可以上传整改后照片", code="invalid_state")


@put_photo_route(
    router,
    "/rectifications/{order_id}/photos/{photo_id}",
    "上传整改后照片（请求体为图片本身；相同内容重发 200，不同内容 409）",
)
async def put_fix_photo(
    order_id: int, photo_id: PhotoIdPath, request: Request, caller: CallerDep, place: PhotoPlace
) -> Response:
    await run_in_threadpool(_order_for_photo, request, caller, order_id, photo_id)
    return await store_photo(request, caller, "rectification", order_id, photo_id, place)
