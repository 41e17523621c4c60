"""执法检查 enforcement records (list and form), 督导报告 reports (edit the summary, publish, the
PDF), 通报 circulars, and the supervision block of the unit's and county's home page."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from gateway.deps import PageUser
from gateway.render import render
from gateway.supervision_pages.api import (
    DEPARTMENTS,
    ENFORCEMENT_ACTIONS,
    OFFICE_ROLES,
    PARTY_ROLES,
    READ_ROLES,
    REPORT_STATES,
    Supervision,
    choices,
    field_errors,
    label,
    require,
    today,
)
from gateway.supervision_pages.office import county_names, ctx
from gateway.supervision_pages.rectify import order_row, urgency
from services.common.errors import AppError, InvalidInput

log = logging.getLogger("sortline.gateway.supervision")
router = APIRouter()

API_PREFIX = "/api/v1/supervision"
ALL_ROLES = READ_ROLES | PARTY_ROLES | {"inspector"}
ENFORCEMENT_FIELDS = (
    "department",
    "on_date",
    "site_code",
    "business_name",
    "county_code",
    "finding",
    "action",
    "amount",
    "case_number",
)


def quarter_of_today() -> str:
    d = today()
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


# --- enforcement -----------------------------------------------------------------------------------


async def _enforcement(
    request: Request, user: PageUser, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    api = Supervision(request, user)
    q = request.query_params
    department, quarter = q.get("department", ""), q.get("quarter", "") or quarter_of_today()
    (rows, next_cursor), summary, names = await asyncio.gather(
        api.items(
            "/enforcement", department=department or None, quarter=quarter, limit=50, cursor=q.get("cursor") or None
        ),
        _or_none(api.get("/enforcement/summary", quarter=quarter)),
        county_names(request, user),
    )
    for r in rows:
        r["department_label"] = label(DEPARTMENTS, r.get("department"))
        r["action_label"] = label(ENFORCEMENT_ACTIONS, r.get("action"))
    summary_rows = summary.get("departments") if isinstance(summary, dict) else None
    return render(
        request,
        "supervision/enforcement.html",
        ctx(
            user,
            rows=rows,
            next_cursor=next_cursor,
            summary=summary_rows if isinstance(summary_rows, list) else None,
            department=department,
            quarter=quarter,
            **choices(names, departments=DEPARTMENTS, actions=ENFORCEMENT_ACTIONS),
            form=form,
            errors=errors,
        ),
        status_code=status,
    )


async def _or_none(call: Any) -> Any:
    try:
        return await call
    except AppError as exc:
        log.warning("supervision page: part unavailable: %s", exc.message)
        return None


@router.get("/supervision/enforcement")
async def enforcement_page(request: Request, user: PageUser) -> Response:
    require(user, READ_ROLES)
    return await _enforcement(request, user, {"on_date": today().isoformat(), "action": "order"}, {})


@router.post("/supervision/enforcement")
async def enforcement_create(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    data = await request.form()
    form = {k: str(data.get(k) or "").strip() for k in ENFORCEMENT_FIELDS}
    body: dict[str, Any] = {k: (v or None) for k, v in form.items()}
    try:
        if form["amount"]:
            try:
                body["amount"] = float(form["amount"])
            except ValueError:
                raise InvalidInput.field("amount", "罚款金额应为数字") from None
        api = Supervision(request, user)
        record = await api.call("POST", "/enforcement", json=body)
    except InvalidInput as exc:
        return await _enforcement(request, user, form, field_errors(exc), status=422)
    files = [f for f in data.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    try:
        for upload in files:
            await api.put_photo(f"/enforcement/{record['id']}", upload)
    except AppError as exc:
        if exc.status_code >= 500:
            raise
        message = f"执法记录已保存（{record.get('case_number', '')}），但照片未能全部上传：{exc.message}"
        return await _enforcement(request, user, {}, {"form": message}, status=exc.status_code)
    return RedirectResponse("/supervision/enforcement", status_code=303)


# --- reports -----------------------------------------------------------------------------------------


@router.get("/supervision/reports")
async def reports_page(request: Request, user: PageUser) -> Response:
    require(user, READ_ROLES)
    api = Supervision(request, user)
    reports, plans = await asyncio.gather(api.all_items("/reports", limit=200), api.all_items("/plans", limit=200))
    names = {p["id"]: p.get("name", "") for p in plans}
    for r in reports:
        r["state_label"] = label(REPORT_STATES, r.get("state"))
        r["plan_name"] = names.get(r.get("plan_id"), "")
    return render(request, "supervision/reports.html", ctx(user, reports=reports, plans=plans))


@router.post("/supervision/reports")
async def report_create(request: Request, user: PageUser) -> Response:
    require(user, OFFICE_ROLES)
    data = await request.form()
    plan_id = str(data.get("plan_id") or "")
    if not plan_id.isdigit():
        raise InvalidInput.field("plan_id", "请选择督导计划")
    report = await Supervision(request, user).call("POST", f"/plans/{plan_id}/reports", json={})
    return RedirectResponse(f"/supervision/reports/{report['id']}", status_code=303)


@router.get("/supervision/reports/{report_id}")
async def report_page(request: Request, user: PageUser, report_id: int) -> Response:
    require(user, READ_ROLES)
    report = await Supervision(request, user).get(f"/reports/{report_id}")
    report["state_label"] = label(REPORT_STATES, report.get("state"))
    return render(
        request,
        "supervision/report.html",
        ctx(user, r=report, pdf_url=f"{API_PREFIX}/reports/{report_id}.pdf", errors={}, circular_form={}),
    )


@router.post("/supervision/reports/{report_id}/summary")
async def report_summary(request: Request, user: PageUser, report_id: int) -> Response:
    require(user, OFFICE_ROLES)
    data = await request.form()
    summary = str(data.get("summary") or "")
    await Supervision(request, user).call("PATCH", f"/reports/{report_id}", json={"summary": summary})
    return RedirectResponse(f"/supervision/reports/{report_id}", status_code=303)


@router.post("/supervision/reports/{report_id}/publish")
async def report_publish(request: Request, user: PageUser, report_id: int) -> Response:
    require(user, OFFICE_ROLES)
    await Supervision(request, user).call("POST", f"/reports/{report_id}/publish")
    return RedirectResponse(f"/supervision/reports/{report_id}", status_code=303)


@router.post("/supervision/reports/{report_id}/circular")
async def report_circular(request: Request, user: PageUser, report_id: int) -> Response:
    """Make the 通报 of a report (document number, addressees, signer) and publish it."""
    require(user, OFFICE_ROLES)
    data = await request.form()
    form = {k: str(data.get(k) or "").strip() for k in ("number", "title", "addressees", "signer")}
    api = Supervision(request, user)
    body = {
        **form,
        "addressees": [a for a in form["addressees"].replace("，", "、").replace(",", "、").split("、") if a],
    }
    try:
        circular = await api.call("POST", f"/reports/{report_id}/circulars", json={k: v for k, v in body.items() if v})
        await api.call("POST", f"/circulars/{circular['id']}/publish")
    except InvalidInput as exc:
        report = await api.get(f"/reports/{report_id}")
        report["state_label"] = label(REPORT_STATES, report.get("state"))
        context = ctx(
            user,
            r=report,
            pdf_url=f"{API_PREFIX}/reports/{report_id}.pdf",
            errors=field_errors(exc),
            circular_form=form,
        )
        return render(request, "supervision/report.html", context, status_code=422)
    return RedirectResponse(f"/supervision/circulars/{circular['id']}", status_code=303)


# --- circulars ---------------------------------------------------------------------------------------


@router.get("/supervision/circulars")
async def circulars_page(request: Request, user: PageUser) -> Response:
    require(user, ALL_ROLES)
    rows = await Supervision(request, user).all_items("/circulars", limit=200)
    return render(request, "supervision/circulars.html", ctx(user, rows=rows))


@router.get("/supervision/circulars/{circular_id}")
async def circular_page(request: Request, user: PageUser, circular_id: int) -> Response:
    require(user, ALL_ROLES)
    c = await Supervision(request, user).get(f"/circulars/{circular_id}")
    return render(
        request, "supervision/circular.html", ctx(user, c=c, pdf_url=f"{API_PREFIX}/circulars/{circular_id}.pdf")
    )


# --- the home page block -------------------------------------------------------------------------


@router.get("/supervision/home-block")
async def home_block(request: Request, user: PageUser) -> Response:
    """What the home page of a unit or a county loads (htmx, after the page): its open orders and
    the newest circulars. When the service is down the block says so and the home page stays."""
    api = Supervision(request, user)
    orders: list[dict[str, Any]] | None = None
    if user.role in PARTY_ROLES:
        got = await _or_none(api.items("/rectifications", limit=50))
        if got is not None:
            orders = sorted((order_row(o, {}) for o in got[0] if o.get("state") != "verified"), key=urgency)
    circulars = await _or_none(api.items("/circulars", state="published", limit=5))
    return render(
        request,
        "supervision/_home.html",
        {
            "orders": orders,
            "circulars": circulars[0] if circulars is not None else None,
            "party": user.role in PARTY_ROLES,
        },
    )
