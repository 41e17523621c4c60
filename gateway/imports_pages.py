"""Bulk import and export pages: choose a kind, download the template, upload a spreadsheet,
watch it being checked, read the per-row errors or confirm, watch it being written; and the
export of a filtered list. The registry does the work (``/imports``, ``/{kind}/export``); these
pages pass files through without holding them in memory."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from gateway.clients import ImportJob
from gateway.deps import PageUser, ServicesDep, require_roles
from gateway.proxy import streamed
from gateway.render import NavItem, redirect, register_nav, render
from gateway.security import Principal
from gateway.services import Services
from services.common.errors import AppError, NotFound

router = APIRouter(prefix="/registry", include_in_schema=False)

Kind = Literal["sites", "facilities", "vehicles"]
KIND_NAMES: dict[str, str] = {"sites": "管理对象", "facilities": "设施", "vehicles": "车辆"}
# Who may import: those who may write to the registry (a county only into its own county).
IMPORT_ROLES = ("admin", "office", "county")
Importer = Annotated[Principal, Depends(require_roles(*IMPORT_ROLES))]
register_nav(NavItem("/registry/imports", "批量导入", frozenset(IMPORT_ROLES), order=40), group="台账")

STATUS_NAMES = {
    "validating": "校验中",
    "invalid": "有错误",
    "ready": "待确认",
    "writing": "导入中",
    "done": "已完成",
    "failed": "失败",
}
STATUS_BADGES = {
    "validating": "badge-warn",
    "writing": "badge-warn",
    "invalid": "badge-error",
    "failed": "badge-error",
    "ready": "badge-info",
    "done": "badge-ok",
}
RUNNING = ("validating", "writing")
EXPORT_FILTERS = ("county", "street", "category", "kind", "status", "q", "import_job")
DOWNLOAD_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
MAX_FILENAME = 200


def _kind(value: str | None) -> str:
    return value if value in KIND_NAMES else "facilities"


def job_view(job: ImportJob) -> dict[str, Any]:
    total = job.total_rows or 0
    done = min(job.processed_rows, total) if total else job.processed_rows
    percent = int(done * 100 / total) if total else (100 if job.status not in RUNNING else 0)
    return {
        "job": job,
        "kind_name": KIND_NAMES.get(job.kind, job.kind),
        "status_name": STATUS_NAMES.get(job.status, job.status),
        "badge": STATUS_BADGES.get(job.status, "badge-off"),
        "running": job.status in RUNNING,
        "percent": percent,
        "processed": done,
        "total": total,
        "list_href": created_list_href(job),
    }


def created_list_href(job: ImportJob) -> str:
    """The list of exactly what an import registered (``?import_job=``; its records share the write's
    instant), whichever counties they are in."""
    base = f"/registry/{job.kind}"
    if job.status != "done" or not job.created_count:
        return base
    return f"{base}?{urlencode({'import_job': job.id})}"


def _form_page(
    request: Request,
    user: Principal,
    kind: str,
    jobs: list[ImportJob],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "imports/index.html",
        {
            "kind": kind,
            "kinds": KIND_NAMES,
            "jobs": [job_view(j) for j in jobs],
            "error": error,
            "user": user,
        },
        status_code=status_code,
    )


async def _recent(services: Services) -> list[ImportJob]:
    return await services.registry.import_jobs(limit=20)


@router.get("/imports")
async def imports_index(request: Request, user: Importer, services: ServicesDep, kind: str | None = None) -> Response:
    return _form_page(request, user, _kind(kind), await _recent(services))


@router.post("/imports")
async def upload(request: Request, user: Importer, services: ServicesDep) -> Response:
    """The form was parsed (files spooled to disk) by the CSRF check; pass the file on."""
    form = await request.form()
    kind_value = form.get("kind")
    kind = _kind(kind_value if isinstance(kind_value, str) else None)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _form_page(request, user, kind, await _recent(services), error="请选择要上传的文件", status_code=422)
    filename = os.path.basename(file.filename.replace("\\", "/"))[:MAX_FILENAME] or "upload"
    try:
        job = await services.registry.start_import(
            kind=kind,
            filename=filename,
            file=file.file,
            content_type=file.content_type,
        )
    except AppError as exc:
        if exc.status_code >= 500:
            raise
        return _form_page(request, user, kind, await _recent(services), error=exc.message, status_code=exc.status_code)
    finally:
        await file.close()
    return redirect(request, f"/registry/imports/{job.id}")


# Files passed on as the registry sends them: a kind's template, an import's error report.
@router.get("/imports/templates/{kind}")
async def template(_user: Importer, services: ServicesDep, kind: Kind) -> Response:
    return await _pass_file(services, f"/imports/templates/{kind}")


@router.get("/imports/{job_id}/report")
async def report(_user: Importer, services: ServicesDep, job_id: str) -> Response:
    return await _pass_file(services, f"/imports/{quote(job_id, safe='')}/report")


@router.get("/imports/{job_id}")
async def job_page(request: Request, _user: Importer, services: ServicesDep, job_id: str) -> Response:
    """The job, and while it runs a fragment that htmx polls every second (stops when done)."""
    job = await services.registry.import_job(job_id)
    return render(request, "imports/job.html", job_view(job), block="job")


@router.post("/imports/{job_id}/confirm")
async def confirm(request: Request, _user: Importer, services: ServicesDep, job_id: str) -> Response:
    await services.registry.confirm_import(job_id)
    return redirect(request, f"/registry/imports/{job_id}")


@router.get("/{kind}/export")
async def export(request: Request, _user: PageUser, services: ServicesDep, kind: Kind) -> Response:
    """The list as the user filtered it, streamed from the registry to the browser."""
    params = request.query_params
    fmt = params.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise NotFound("导出格式只能是 xlsx 或 csv")
    query = [("format", fmt), *[(k, v) for k in EXPORT_FILTERS for v in params.getlist(k) if v]]
    return await _pass_file(services, f"/{kind}/export", query)


async def _pass_file(services: Services, path: str, params: list[tuple[str, str]] | None = None) -> Response:
    """A registry file streamed on (its Content-Type, Content-Disposition, Content-Length kept)."""
    upstream = await services.registry.stream("GET", path, params=params)
    return streamed(upstream, DOWNLOAD_HEADERS)
