"""Catalogue editing on the assessment pages: a draft from a published version, an item of a draft
(rules as YAML, evidence one per line), unit aliases. Shares its form helpers with ``controls``."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import yaml
from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.assessment_pages.common import (
    CATALOGUE_STATE_LABELS,
    FREQUENCY_LABELS,
    OFFICE_ROLES,
    fmt_points,
    require,
    seg,
)
from gateway.assessment_pages.controls import FORM_STATUSES, TEMPLATES, form_data, form_errors, invalid, show
from gateway.deps import PageUser, ServicesDep
from gateway.render import is_htmx, redirect, render
from gateway.services import Services
from services.common.errors import AppError

router = APIRouter()


# --- catalogue editing ------------------------------------------------------------------------------


@router.post("/assessment/catalogues/{catalogue_id:int}/drafts")
async def new_draft(request: Request, catalogue_id: int, user: PageUser, services: ServicesDep) -> Response:
    """``POST /catalogues/{id}/drafts``: a published version is edited as a new draft."""
    require(user, OFFICE_ROLES)
    draft = await services.assessment.call("POST", f"/catalogues/{catalogue_id}/drafts")
    return redirect(request, f"/assessment/catalogues/{int(draft['id'])}")


def rules_text(rules: list[dict[str, Any]]) -> str:
    return "".join(yaml.safe_dump([r], allow_unicode=True, sort_keys=False, width=200) for r in rules)


def evidence_text(evidence: list[dict[str, Any]]) -> str:
    """One line per evidence: ``code | 标题 | 频次 | 文件类型`` (what the office reads)."""
    lines = []
    for e in evidence:
        freq = FREQUENCY_LABELS.get(str(e.get("frequency")), str(e.get("frequency") or ""))
        lines.append(f"{e.get('code', '')} | {e.get('title', '')} | {freq} | {','.join(e.get('kinds') or [])}")
    return "\n".join(lines)


FREQUENCY_CODES = {v: k for k, v in FREQUENCY_LABELS.items()}


def parse_evidence(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, line in enumerate((raw for raw in text.splitlines() if raw.strip()), start=1):
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        if len(parts) != 4 or not parts[1]:
            raise invalid("evidence", f"第 {n} 行应写成“代码 | 标题 | 频次 | 文件类型”，如 e1 | 方案 | 每季度 | pdf")
        kinds = [k.strip() for k in re.split(r"[,，、\s]+", parts[3]) if k.strip()]
        freq = FREQUENCY_CODES.get(parts[2], parts[2])
        out.append({"code": parts[0] or f"e{n}", "title": parts[1], "frequency": freq, "kinds": kinds})
    return out


def parse_rules(text: str) -> list[dict[str, Any]]:
    try:
        rules = yaml.safe_load(text) if text.strip() else []
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f"第 {line + 1} 行" if line is not None else ""
        raise invalid("rules", f"{where}格式不对，请按示例逐条书写") from None
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise invalid("rules", "每条细则以“- ”开头，写明 text、points、method")
    return rules


async def _item_form(
    request: Request,
    services: Services,
    catalogue_id: int,
    code: str,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    cat = await services.assessment.call("GET", f"/catalogues/{catalogue_id}")
    item = next((i for i in cat.get("items", []) if str(i.get("code")) == code), None) if code else None
    if form is None:
        form = {"code": code}
        if item is not None:
            form.update(
                {
                    "category": item.get("category", ""),
                    "name": item.get("name", ""),
                    "points": fmt_points(item.get("points")),
                    "rules": rules_text(item.get("rules") or []),
                    "evidence": evidence_text(item.get("evidence") or []),
                    "lead_unit": item.get("lead_unit", ""),
                    "co_units": "、".join(item.get("co_units") or []),
                    "data_source": item.get("data_source") or "manual",
                }
            )
    cat["status_label"] = CATALOGUE_STATE_LABELS.get(cat.get("status", ""), cat.get("status", ""))
    categories = sorted({str(i.get("category")) for i in cat.get("items", [])})
    context = {"cat": cat, "item": item, "form": form, "errors": errors or {}, "categories": categories}
    return render(request, TEMPLATES + "item_form.html", context, status_code=status_code)


@router.get("/assessment/catalogues/{catalogue_id:int}/items/new")
async def new_item(request: Request, catalogue_id: int, user: PageUser, services: ServicesDep) -> Response:
    require(user, OFFICE_ROLES)
    return await _item_form(request, services, catalogue_id, "")


@router.get("/assessment/catalogues/{catalogue_id:int}/items/{code}/edit")
async def edit_item(request: Request, catalogue_id: int, code: str, user: PageUser, services: ServicesDep) -> Response:
    require(user, OFFICE_ROLES)
    return await _item_form(request, services, catalogue_id, code)


@router.post("/assessment/catalogues/{catalogue_id:int}/items")
async def save_item(request: Request, catalogue_id: int, user: PageUser, services: ServicesDep) -> Response:
    """``PUT /catalogues/{id}/items/{code}`` (a draft only: the service refuses a published one)."""
    require(user, OFFICE_ROLES)
    form = form_data(await request.form())
    code = form.get("code", "")
    try:
        if not code:
            raise invalid("code", "请填写序号，如 2.3")
        body: dict[str, Any] = {
            "category": form.get("category", ""),
            "name": form.get("name", ""),
            "points": form.get("points") or None,
            "rules": parse_rules(form.get("rules", "")),
            "evidence": parse_evidence(form.get("evidence", "")),
            "lead_unit": form.get("lead_unit", ""),
            "co_units": [u for u in re.split(r"[,，、\s]+", form.get("co_units", "")) if u],
            "data_source": form.get("data_source") or "manual",
        }
        await services.assessment.call("PUT", f"/catalogues/{catalogue_id}/items/{seg(code)}", json=body)
    except AppError as exc:
        if exc.status_code not in FORM_STATUSES:
            raise
        return await _item_form(request, services, catalogue_id, code, form, form_errors(exc), exc.status_code)
    return redirect(request, f"/assessment/catalogues/{catalogue_id}#item-{seg(code)}")


@router.get("/assessment/unit-aliases")
async def aliases(request: Request, user: PageUser, services: ServicesDep) -> Response:
    require(user, OFFICE_ROLES)
    return await _aliases(request, services)


async def _aliases(
    request: Request, services: Services, extra: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    data, units = await asyncio.gather(services.assessment.call("GET", "/unit-aliases"), _units(services))
    context = {"aliases": data.get("items", []), "units": units}
    return show(request, "aliases.html", context, extra, status_code, title="单位别名", back="/assessment/catalogues")


async def _units(services: Services) -> dict[str, str]:
    """Unit code -> name from the registry (the form still works without it: codes typed in)."""
    try:
        return {str(u.code): str(u.name) for u in await services.registry.units()}
    except AppError:
        return {}


@router.post("/assessment/unit-aliases")
async def put_alias(request: Request, user: PageUser, services: ServicesDep) -> Response:
    """``PUT /unit-aliases``: 市城市管理局 is 市城管局 (U03) when a sheet is imported."""
    require(user, OFFICE_ROLES)
    form = form_data(await request.form())
    try:
        await services.assessment.call(
            "PUT", "/unit-aliases", json={"alias": form.get("alias", ""), "unit_code": form.get("unit_code", "")}
        )
    except AppError as exc:
        if exc.status_code not in FORM_STATUSES:
            raise
        return await _aliases(request, services, {"form": form, "errors": form_errors(exc)}, exc.status_code)
    if not is_htmx(request):
        return redirect(request, "/assessment/catalogues")
    return await _aliases(request, services, {"saved": f"已保存别名“{form.get('alias')}”"})
