"""评估细则: the catalogue versions. Import an XLSX or YAML file (row / column errors shown in the
page, nothing stored until the file is clean), export XLSX / YAML, compare two versions item by
item, publish a draft, and look at one version's items."""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from gateway.assessment_pages.common import (
    CATALOGUE_STATE_LABELS,
    ITEM_FIELD_LABELS,
    OFFICE_ROLES,
    call,
    client,
    fmt_points,
    log,
    pass_file,
    raise_for,
    require,
)
from gateway.deps import PageUser, request_id
from gateway.render import render
from gateway.security import Principal
from services.common.errors import AppError, ServiceUnavailable

router = APIRouter()

CHANGE_LABELS = {"added": "新增", "removed": "删除", "changed": "修改"}
FIELD_LABELS = {**ITEM_FIELD_LABELS, "name": "评估项目"}
MAX_IMPORT_BYTES = 10 * 1024 * 1024


async def catalogue_list(request: Request, user: Principal) -> list[dict[str, Any]]:
    data = await call(request, user, "GET", "/catalogues")
    items = data.get("items", []) if isinstance(data, dict) else data
    for c in items:
        c["status_label"] = CATALOGUE_STATE_LABELS.get(c.get("status", ""), c.get("status", ""))
    return sorted(items, key=lambda c: (str(c.get("name")), -int(c.get("version") or 0)))


async def _page(
    request: Request, user: Principal, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    context = {"catalogues": await catalogue_list(request, user), "import_errors": None, **(extra or {})}
    return render(request, "assessment/catalogues.html", context, status_code=status_code)


@router.get("/assessment/catalogues")
async def catalogues(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    return await _page(request, user)


def import_error_rows(exc: AppError) -> list[dict[str, str]]:
    """The service names each problem's row and column in ``field`` (第N行 列名)."""
    rows = []
    for d in exc.details or []:
        where = d.field or ""
        value = "" if d.value is None else str(d.value)
        rows.append({"where": where, "value": value, "message": d.message})
    return rows


@router.post("/assessment/catalogues/import")
async def import_catalogue(request: Request, user: PageUser) -> Response:
    """The file goes on to ``POST /catalogues/import``; its errors come back by row and column."""
    require(user, OFFICE_ROLES)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, user, {"import_message": "请选择要导入的文件（.xlsx 或 .yaml）"}, 422)
    if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        return await _page(request, user, {"import_message": "文件太大（不超过 10 MB）"}, 422)
    svc = client(request)
    headers = {"accept": "application/json", **svc.auth_headers(user.caller(request_id(request)))}
    files = {"file": (upload.filename, upload.file, upload.content_type or "application/octet-stream")}
    try:
        resp = await svc.http.post(svc.base_url + "/catalogues/import", files=files, headers=headers)
    except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
        log.warning("assessment service unreachable: POST /catalogues/import: %r", exc)
        raise ServiceUnavailable(f"{svc.label}服务暂不可用，请稍后再试") from exc
    try:
        raise_for(resp, svc.label)
    except AppError as exc:
        if exc.status_code not in (409, 413, 415, 422, 400):
            raise
        extra = {"import_message": exc.message, "import_errors": import_error_rows(exc), "import_name": upload.filename}
        return await _page(request, user, extra, 422)
    created = resp.json()
    return await _page(
        request,
        user,
        {"toast": (f"已导入为草稿：{created.get('name', '')} 第 {created.get('version', '')} 版", "success")},
    )


@router.post("/assessment/catalogues/{catalogue_id:int}/publish")
async def publish(request: Request, catalogue_id: int, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    try:
        cat = await call(request, user, "POST", f"/catalogues/{catalogue_id}/publish")
    except AppError as exc:
        if exc.status_code not in (409, 422):
            raise
        return await _page(request, user, {"toast": (exc.message, "error")}, 200)
    return await _page(
        request, user, {"toast": (f"已发布：{cat.get('name', '')} 第 {cat.get('version', '')} 版", "success")}
    )


@router.get("/assessment/catalogues/{catalogue_id:int}/export")
async def export(request: Request, catalogue_id: int, user: PageUser, format: str = "xlsx") -> Response:
    require(user, OFFICE_ROLES)
    fmt = "yaml" if format == "yaml" else "xlsx"
    return await pass_file(request, user, f"/catalogues/{catalogue_id}/export", f"format={fmt}")


@router.get("/assessment/catalogues/{catalogue_id:int}")
async def catalogue(request: Request, catalogue_id: int, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    cat = await call(request, user, "GET", f"/catalogues/{catalogue_id}")
    categories: dict[str, list[dict[str, Any]]] = {}
    for item in cat.get("items", []):
        categories.setdefault(str(item.get("category", "")), []).append(item)
    cat["status_label"] = CATALOGUE_STATE_LABELS.get(cat.get("status", ""), cat.get("status", ""))
    totals = {name: fmt_points(sum(float(i.get("points") or 0) for i in items)) for name, items in categories.items()}
    context = {"cat": cat, "categories": categories, "totals": totals}
    return render(request, "assessment/catalogue.html", context)


@router.get("/assessment/catalogues/compare")
async def compare(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    params = request.query_params
    a, b = params.get("a", ""), params.get("b", "")
    all_cats = await catalogue_list(request, user)
    result = None
    if a.isdigit() and b.isdigit():
        result = await call(request, user, "GET", "/catalogues/compare", params={"from": a, "to": b})
        for row in result.get("items", []):
            row["change_label"] = CHANGE_LABELS.get(row.get("change", ""), row.get("change", ""))
            row["field_labels"] = [FIELD_LABELS.get(f, f) for f in row.get("fields", [])]
    labels = {str(c.get("id")): f"{c.get('name')} 第 {c.get('version')} 版（{c['status_label']}）" for c in all_cats}
    context = {"catalogues": all_cats, "a": a, "b": b, "result": result, "labels": labels}
    return render(request, "assessment/compare.html", context, block="compare_result")
