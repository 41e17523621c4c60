"""``/imports``: bulk import of sites, facilities and vehicles from XLSX or CSV files.

Upload (``POST /imports?kind=…``) → the worker validates every row (``GET /imports/{id}`` to poll,
``/report`` for the error list as XLSX) → ``POST /imports/{id}/confirm`` writes the whole file in
one transaction, or nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, FastAPI, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.common.auth import CallerDep, require_permission
from services.common.db import ReadSessionDep, SessionDep
from services.common.idempotency import IdempotentWriteDep
from services.common.jobs import JobRunner
from services.common.responses import JSONBody
from services.common.tabular import write_error_report, write_template
from services.registry.bulk import jobs
from services.registry.bulk import service as imports
from services.registry.bulk.columns import SPECS
from services.registry.bulk.schemas import ImportJobList, ImportJobPublic
from services.registry.errors import error_docs
from services.registry.routes.downloads import XLSX_TYPE, attachment
from services.registry.service import READ

Kind = Literal["sites", "facilities", "vehicles"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At startup, imports an older process left running without a job are marked failed and the
    job runner starts (it also takes up jobs queued before); at shutdown it stops (a job it was
    running is recovered by the next runner)."""
    await run_in_threadpool(jobs.recover, app.state.engine)
    if not imports.importer(app).options.inline:
        imports.job_runner(app).start()
    try:
        yield
    finally:
        runner: JobRunner | None = getattr(app.state, "job_runner", None)
        if runner is not None:
            await run_in_threadpool(runner.close)


router = APIRouter(prefix="/imports", tags=["imports"], lifespan=lifespan)
JOB_ERRORS = error_docs(401, 403, 404)


@router.get(
    "/templates/{kind}",
    summary="下载导入模板（XLSX，中文表头、下拉选项、示例行）",
    response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}}, **error_docs(401, 403)},
)
def template(kind: Kind, caller: CallerDep) -> Response:
    require_permission(caller, READ)
    spec = SPECS[kind]
    content = write_template(spec.columns, sheet_title=spec.label)
    return Response(content, media_type=XLSX_TYPE, headers=attachment(spec.template_name))


def _job_step(path: str, summary: str, *statuses: int) -> Any:
    """A step that starts work on an import job: answers the job, 202."""
    responses = error_docs(401, 403, *statuses)
    return router.post(path, status_code=202, response_model=ImportJobPublic, summary=summary, responses=responses)


def _accepted(request: Request, background: BackgroundTasks, job: dict[str, Any], start: bool) -> Response:
    if start:  # after the commit: the runner must see the job
        background.add_task(imports.kick, request.app)
    return JSONBody(job, status_code=202)


@_job_step("", "上传导入文件（先整体校验，确认后才写入）", 409, 422)
def upload(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    background: BackgroundTasks,
    kind: Annotated[Kind, Query(description="导入的记录类型")],
    file: Annotated[UploadFile, File(description="XLSX 或 CSV（UTF-8 / GB18030）文件，表头与导入模板一致")],
    write: IdempotentWriteDep,
) -> Response:
    job, new = imports.start(session, request.app, caller, kind, file.file, file.filename or "", write)
    return _accepted(request, background, job, new)


@router.get("", response_model=ImportJobList, summary="最近的导入任务", responses=error_docs(401, 403))
def list_imports(
    request: Request,
    caller: CallerDep,
    session: ReadSessionDep,
    kind: Annotated[Kind | None, Query(description="记录类型")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    live = imports.importer(request.app).live
    return JSONBody(imports.list_jobs(session, caller, kind=kind, limit=limit, live=live))


@router.get("/{job_id}", response_model=ImportJobPublic, summary="导入任务进度与结果", responses=JOB_ERRORS)
def get_import(job_id: str, request: Request, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(imports.get_job(session, caller, job_id, imports.importer(request.app).live))


@router.get(
    "/{job_id}/report",
    summary="下载错误报告（XLSX：行号、列、值、错误说明）",
    response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}}, **JOB_ERRORS},
)
def import_report(job_id: str, caller: CallerDep, session: ReadSessionDep) -> Response:
    spec, entries = imports.report(session, caller, job_id)
    return Response(
        write_error_report(entries), media_type=XLSX_TYPE, headers=attachment(f"{spec.label}导入错误报告.xlsx")
    )


@_job_step("/{job_id}/confirm", "确认导入（仅校验通过的任务；重复确认不会重复写入）", 404, 409)
def confirm_import(
    job_id: str, request: Request, caller: CallerDep, session: SessionDep, background: BackgroundTasks
) -> Response:
    job, start = imports.confirm(session, request.app, caller, job_id)
    return _accepted(request, background, job, start)
