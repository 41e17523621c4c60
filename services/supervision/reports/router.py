"""``/reports`` and ``/circulars``: HTTP only, the rules are in the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.common.auth import Caller, CallerDep
from services.common.db import ReadSessionDep, SessionDep, session_scope
from services.common.errors import AppError
from services.common.responses import JSONBody
from services.supervision.deps import Cursor, Limit, SettingsDep, forward, peer_of, routes, storage_of
from services.supervision.errors import not_found
from services.supervision.jobs import enqueue_report
from services.supervision.reports import service
from services.supervision.reports.schemas import (
    CircularIn,
    CircularPage,
    CircularPublic,
    ReportEdit,
    ReportIn,
    ReportPage,
    ReportPublic,
)

router, api = routes(tags=["reports"])


def _county_names(request: Request) -> dict[str, str]:
    """County names from the registry for the report's tables (codes when it cannot answer)."""
    try:
        page = peer_of(request.app.state, "registry").get_json("/divisions", params={"level": "county", "limit": 500})
    except (AppError, OSError, ImportError, ValueError, RuntimeError):
        return {}
    items: list[dict[str, Any]] = page["items"] if isinstance(page, dict) else page
    return {d["code"]: d["name"] for d in items}


@api.post("/plans/{plan_id}/reports", "生成督导检查报告（后台任务生成 HTML 和 PDF）", ReportPublic, status_code=202)
def request_report(
    plan_id: int,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    body: Annotated[ReportIn | None, Body()] = None,
) -> Response:
    state = request.app.state
    names = _county_names(request)
    payload = service.request_report(
        session, caller, plan_id, body or ReportIn(), names, lambda s, rid: enqueue_report(s, state, rid)
    )
    return JSONBody(payload, status_code=202)


@api.get("/reports", "督导检查报告列表", ReportPage)
def list_reports(
    caller: CallerDep,
    session: ReadSessionDep,
    plan: Annotated[int | None, Query(description="督导计划")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    return JSONBody(service.list_reports(session, caller, plan, cursor, limit))


def _report_file(request: Request, caller: Caller, report_id: int, kind: str) -> dict[str, Any]:
    with session_scope(request.app.state.read_engine) as session:
        row = service.visible_report(session, caller, report_id)
    if not row[f"{kind}_key"]:
        raise not_found("报告文件", report_id)
    return row


@api.get("/reports/{report_id}.pdf", "下载报告 PDF", response_class=Response)
async def report_pdf(report_id: int, request: Request, caller: CallerDep) -> Response:
    from services.common.downloads import file_response

    row = await run_in_threadpool(_report_file, request, caller, report_id, "pdf")
    return file_response(
        request,
        storage_of(request.app.state),
        row["pdf_key"],
        filename=f"{row['title']}.pdf",
        content_type="application/pdf",
        size=row["pdf_size"],
    )


@api.get("/reports/{report_id}.html", "报告 HTML", response_class=Response)
async def report_html(report_id: int, request: Request, caller: CallerDep) -> Response:
    row = await run_in_threadpool(_report_file, request, caller, report_id, "html")
    body = await run_in_threadpool(storage_of(request.app.state).open, row["html_key"])
    return Response(body, media_type="text/html; charset=utf-8")


@api.get("/reports/{report_id}", "查看报告（含统计数字）", ReportPublic)
def get_report(report_id: int, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.report_public(service.visible_report(session, caller, report_id)))


@api.patch("/reports/{report_id}", "修改报告摘要（重新生成）", ReportPublic)
def edit_report(report_id: int, request: Request, caller: CallerDep, session: SessionDep, body: ReportEdit) -> Response:
    state = request.app.state
    return JSONBody(service.edit_report(session, caller, report_id, body, lambda s, rid: enqueue_report(s, state, rid)))


forward(
    api.post("/reports/{report_id}/publish", "发布报告", ReportPublic),
    service.publish_report,
    write=True,
    report_id=int,
)


@api.post("/reports/{report_id}/circulars", "据报告起草通报（GB/T 9704-2012 版式）", CircularPublic, status_code=201)
def create_circular(
    report_id: int,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[CircularIn | None, Body()] = None,
) -> Response:
    payload = service.create_circular(session, settings, caller, report_id, body or CircularIn())
    return JSONBody(payload, status_code=201)


@api.get("/circulars", "通报列表（成员单位首页：已发布的通报）", CircularPage)
def list_circulars(
    caller: CallerDep,
    session: ReadSessionDep,
    state: Annotated[str | None, Query(pattern="^(draft|published)$")] = None,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Response:
    return JSONBody(service.list_circulars(session, caller, state, cursor, limit))


def _circular_file(request: Request, caller: Caller, circular_id: int) -> dict[str, Any]:
    with session_scope(request.app.state.read_engine) as session:
        row = service.visible_circular(session, caller, circular_id)
    if not row["pdf_key"]:
        raise not_found("通报文件", circular_id)
    return row


@api.get("/circulars/{circular_id}.pdf", "下载通报 PDF", response_class=Response)
async def circular_pdf(circular_id: int, request: Request, caller: CallerDep) -> Response:
    from services.common.downloads import file_response

    row = await run_in_threadpool(_circular_file, request, caller, circular_id)
    return file_response(
        request,
        storage_of(request.app.state),
        row["pdf_key"],
        filename=f"{row['number']} {row['title']}.pdf",
        content_type="application/pdf",
        size=row["pdf_size"],
    )


@api.get("/circulars/{circular_id}", "查看通报", CircularPublic)
def get_circular(circular_id: int, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(service.circular_public(service.visible_circular(session, caller, circular_id)))


@api.post("/circulars/{circular_id}/publish", "发布通报（生成 PDF，发出 circular.published 事件）", CircularPublic)
def publish_circular(
    circular_id: int, request: Request, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    storage = storage_of(request.app.state)
    return JSONBody(service.publish_circular(session, settings, storage, caller, circular_id))
