"""The rules of reports and circulars: a report is built by a background job (HTML and PDF via
the kernel's documents), the office edits the summary (which rebuilds it) and publishes it; a
circular (通报) is made from a published report in the official layout and published as an event
for the OA integration; every signed-in user reads published circulars (the units' home page)."""

from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import clock
from services.common.auth import Caller
from services.common.pagination import clamp_limit
from services.common.storage import FileStorage
from services.supervision import scope
from services.supervision.config import Settings
from services.supervision.deps import jsonable, utc
from services.supervision.errors import conflict, not_found
from services.supervision.models import circular_t, outbox, plan_t, report_t
from services.supervision.plans import repository as plans_repo
from services.supervision.reports import figures as fig
from services.supervision.reports import repository as repo
from services.supervision.reports.schemas import CircularIn, ReportEdit, ReportIn


def report_public(row: dict[str, Any]) -> dict[str, Any]:
    figures = dict(row["figures"] or {})
    figures.pop("county_names", None)
    return {k: row[k] for k in ("id", "plan_id", "title", "state", "summary", "job_id", "error", "created_by")} | {
        "figures": figures or None,
        "pdf_url": f"/reports/{row['id']}.pdf" if row["pdf_key"] else None,
        "html_url": f"/reports/{row['id']}.html" if row["html_key"] else None,
        "created_at": utc(row["created_at"]),
        "built_at": utc(row["built_at"]),
        "published_at": utc(row["published_at"]),
    }


def visible_report(session: Session, caller: Caller, report_id: int) -> dict[str, Any]:
    """Office and leaders see every report; an inspector their team's; others only published ones."""
    row = repo.report(session, report_id)
    if row is None:
        raise not_found("报告", report_id)
    if caller.is_city_wide or row["state"] == "published":
        return row
    plan = plans_repo.plan(session, row["plan_id"])
    if caller.role == "inspector" and scope.sees_team(caller, plan["team_code"] if plan else None):
        return row
    raise not_found("报告", report_id)


def request_report(
    session: Session,
    caller: Caller,
    plan_id: int,
    body: ReportIn,
    county_names: dict[str, str],
    enqueue: Callable[[Session, int], str],
) -> dict[str, Any]:
    scope.require_office(caller)
    plan = plans_repo.plan(session, plan_id)
    if plan is None:
        raise not_found("督导计划", plan_id)
    report_id = repo.insert_report(
        session,
        {
            "plan_id": plan_id,
            "title": body.title or f"{plan['name']}督导检查报告",
            "state": "building",
            "summary": "",
            "figures": {"county_names": county_names},
            "created_by": caller.name or caller.sub,
            "created_at": clock.now(),
        },
    )
    repo.update_report(session, report_id, {"job_id": enqueue(session, report_id)})
    outbox.emit(session, "report", "requested", str(report_id), {"id": report_id, "plan_id": plan_id})
    return report_public(visible_report(session, caller, report_id))


def build_report(
    engine: Engine,
    storage: FileStorage,
    settings: Settings,
    report_id: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The job: figures, sections, HTML, PDF; both files kept in the storage."""
    from services.common.documents import Report, Section, render_pdf, report_html

    with engine.connect() as conn:
        row = repo.report(conn, report_id)
        assert row is not None
        names = dict((row["figures"] or {}).get("county_names") or {})
        try:
            figures = fig.compute(conn, row["plan_id"], names)
            summary = row["summary"] or fig.default_summary(figures)
            if progress:
                progress(1, 3)
            sections = [Section(t, h) for t, h in fig.sections(conn, storage, figures, summary)]
        except Exception as exc:
            _failed(engine, report_id, exc)
            raise
    try:
        document = report_html(
            Report(
                title=row["title"],
                subtitle=f"{figures['plan']['starts_on']} 至 {figures['plan']['ends_on']}",
                issuer=settings.circular_issuer,
                date=clock.today(),
                sections=sections,
            )
        )
        if progress:
            progress(2, 3)
        pdf = render_pdf(document)
    except Exception as exc:
        _failed(engine, report_id, exc)
        raise
    html_file = storage.put(document.encode(), original_name=f"report-{report_id}.html", content_type="text/html")
    pdf_file = storage.put(pdf, original_name=f"report-{report_id}.pdf", content_type="application/pdf")
    with engine.begin() as conn:
        old = repo.report(conn, report_id)
        assert old is not None
        repo.update_report(
            conn,
            report_id,
            {
                "state": "ready" if row["state"] != "published" else "published",
                "summary": summary,
                "figures": jsonable(figures) | {"county_names": names},
                "html_key": html_file.key,
                "pdf_key": pdf_file.key,
                "pdf_size": pdf_file.size,
                "error": None,
                "built_at": clock.now(),
            },
        )
    for key in (old["html_key"], old["pdf_key"]):
        if key:
            storage.delete(key)
    return {"pdf_key": pdf_file.key, "size": pdf_file.size}


def _failed(engine: Engine, report_id: int, exc: Exception) -> None:
    with engine.begin() as conn:
        repo.update_report(conn, report_id, {"state": "failed", "error": f"报告生成失败：{exc}"[:2000]})


def edit_report(
    session: Session, caller: Caller, report_id: int, body: ReportEdit, enqueue: Callable[[Session, int], str]
) -> dict[str, Any]:
    scope.require_office(caller)
    row = visible_report(session, caller, report_id)
    if row["state"] == "published":
        raise conflict("报告已发布，不能再修改", code="report_published")
    values: dict[str, Any] = {"summary": body.summary, "state": "building"}
    if body.title:
        values["title"] = body.title
    repo.update_report(session, report_id, values)
    repo.update_report(session, report_id, {"job_id": enqueue(session, report_id)})
    return report_public(visible_report(session, caller, report_id))


def publish_report(session: Session, caller: Caller, report_id: int) -> dict[str, Any]:
    scope.require_office(caller)
    row = visible_report(session, caller, report_id)
    if row["state"] == "published":
        return report_public(row)
    if row["state"] != "ready":
        raise conflict("报告尚未生成完成，不能发布", code="report_not_ready")
    repo.update_report(session, report_id, {"state": "published", "published_at": clock.now()})
    outbox.emit(
        session,
        "report",
        "published",
        str(report_id),
        {"id": report_id, "plan_id": row["plan_id"], "title": row["title"]},
    )
    return report_public(visible_report(session, caller, report_id))


def list_reports(
    session: Session, caller: Caller, plan_id: int | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    conditions: list[ColumnElement[bool]] = []
    if not caller.is_city_wide:
        published = report_t.c.state == "published"
        if caller.role == "inspector":
            team_plans = plans_repo.plan_ids(scope.team_filter(caller, plan_t.c.team_code))
            published = published | report_t.c.plan_id.in_(team_plans)
        conditions.append(published)
    if plan_id is not None:
        conditions.append(report_t.c.plan_id == plan_id)
    return _page(session, report_t, conditions, cursor, limit, report_public)


def _page(
    session: Session,
    table: Table,
    conditions: list[ColumnElement[bool]],
    cursor: str | None,
    limit: int,
    public: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    items, next_cursor = repo.page(session, table, conditions, cursor, clamp_limit(limit))
    return {"items": [public(r) for r in items], "next_cursor": next_cursor}


# --- circulars --------------------------------------------------------------------------------


def circular_public(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "report_id", "number", "title", "addressees", "body_html", "signer", "on_date", "cc", "state")
    return {k: row[k] for k in keys} | {
        "pdf_url": f"/circulars/{row['id']}.pdf" if row["pdf_key"] else None,
        "created_at": utc(row["created_at"]),
        "published_at": utc(row["published_at"]),
    }


def visible_circular(session: Session, caller: Caller, circular_id: int) -> dict[str, Any]:
    row = repo.circular(session, circular_id)
    if row is None or (row["state"] != "published" and not caller.is_city_wide):
        raise not_found("通报", circular_id)
    return row


def next_number(session: Session, settings: Settings, year: int) -> str:
    prefix = f"{settings.circular_prefix}〔{year}〕"
    return f"{prefix}{repo.numbers_taken(session, prefix) + 1}号"


def _default_body(report: dict[str, Any]) -> str:
    figures = report["figures"] or {}
    names = {c["code"]: c["name"] for c in figures.get("counties", [])}
    praised = "、".join(names.get(c, c) for c in figures.get("praised", [])) or "无"
    named = "、".join(names.get(c, c) for c in figures.get("named", [])) or "无"
    esc = html_lib.escape
    paragraphs = [p for p in report["summary"].splitlines() if p.strip()]
    body = "".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    body += f"<p>对{esc(praised)}予以通报表扬。</p>" if praised != "无" else ""
    body += (
        f"<p>对{esc(named)}予以通报点名，请于收文后 5 个工作日内将整改情况报市垃圾分类办。</p>" if named != "无" else ""
    )
    return body + "<p>特此通报。</p>"


def create_circular(
    session: Session, settings: Settings, caller: Caller, report_id: int, body: CircularIn
) -> dict[str, Any]:
    scope.require_office(caller)
    report = visible_report(session, caller, report_id)
    if report["state"] not in ("ready", "published"):
        raise conflict("报告尚未生成完成，不能据此起草通报", code="report_not_ready")
    plan = plans_repo.plan(session, report["plan_id"])
    plan_name = plan["name"] if plan else None
    on_date = body.on_date or clock.today()
    values = {
        "report_id": report_id,
        "number": body.number or next_number(session, settings, on_date.year),
        "title": body.title or f"关于{plan_name}督导检查情况的通报",
        "addressees": body.addressees,
        "body_html": body.body_html or _default_body(report),
        "signer": body.signer or settings.circular_issuer,
        "on_date": on_date,
        "cc": body.cc,
        "state": "draft",
        "created_at": clock.now(),
    }
    try:
        with session.begin_nested():
            new_id = repo.insert_circular(session, values)
    except IntegrityError:
        raise conflict(f"文号 {values['number']} 已使用", code="duplicate_number", field="number") from None
    return circular_public(visible_circular(session, caller, new_id))


def publish_circular(
    session: Session, settings: Settings, storage: FileStorage, caller: Caller, circular_id: int
) -> dict[str, Any]:
    """Render the circular (GB/T 9704-2012 layout) to PDF, keep it, publish it as an event."""
    from services.common.documents import Circular, circular_html, render_pdf

    scope.require_office(caller)
    row = visible_circular(session, caller, circular_id)
    if row["state"] == "published":
        return circular_public(row)
    document = circular_html(
        Circular(
            issuer=settings.circular_issuer,
            number=row["number"],
            title=row["title"],
            addressees=row["addressees"],
            body_html=row["body_html"],
            signer=row["signer"],
            date=row["on_date"],
            cc=row["cc"],
        )
    )
    pdf = storage.put(render_pdf(document), original_name=f"circular-{circular_id}.pdf", content_type="application/pdf")
    repo.update_circular(
        session,
        circular_id,
        {"state": "published", "pdf_key": pdf.key, "pdf_size": pdf.size, "published_at": clock.now()},
    )
    outbox.emit(
        session,
        "circular",
        "published",
        str(circular_id),
        {
            "id": circular_id,
            "number": row["number"],
            "title": row["title"],
            "addressees": row["addressees"],
            "cc": row["cc"],
            "date": row["on_date"].isoformat(),
            "pdf_url": f"/api/v1/supervision/circulars/{circular_id}.pdf",
            "report_id": row["report_id"],
        },
    )
    return circular_public(visible_circular(session, caller, circular_id))


def list_circulars(
    session: Session, caller: Caller, state: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    if not caller.is_city_wide:
        state = "published"
    conditions = [circular_t.c.state == state] if state else []
    return _page(session, circular_t, conditions, cursor, limit, circular_public)


def today() -> date:
    return clock.today()
