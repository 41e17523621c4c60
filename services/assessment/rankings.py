"""Member-unit assessment (成员单位考核): a quantitative part from live data and a qualitative part
entered by leaders, weighted by settings, ranked; published as a circular PDF.

Quantitative, per unit over the period's quarters (``2026Q4``, or a year ``2026``):
- on-time rate: tasks first handed in by their due date ÷ tasks already due (or handed in);
- first-pass rate: tasks approved at their first review ÷ tasks reviewed at least once;
- overdue working days: per task, working days from the due date to the first submission (or today);
- from supervision over HTTP when it answers: rectification on-time rate and enforcement cases.
A part without data (no supervision, no rating) drops out and the other weights are scaled up.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlmodel import Session

from services.assessment import catalogues, errors, repository
from services.assessment.config import Settings
from services.assessment.models import UnitRating, outbox
from services.assessment.ports import CalendarPort, RegistryPort, SupervisionPort
from services.common import clock
from services.common.auth import Caller, require_role
from services.common.errors import InvalidInput

PERIOD_RE = re.compile(r"\d{4}(Q[1-4])?")


def period_quarters(session: Session, period: str) -> list[str]:
    if not PERIOD_RE.fullmatch(period):
        raise InvalidInput.field("period", "考核期应为季度（2026Q4）或年份（2026）", period)
    if "Q" in period:
        return [period]
    return repository.quarter_ids(session, period)


def _supervision_rows(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not data:
        return {}
    items = data.get("units") or data.get("items") or []
    return {str(r["unit_code"]): r for r in items if isinstance(r, dict) and r.get("unit_code")}


def ranking(
    session: Session,
    caller: Caller,
    settings: Settings,
    registry: RegistryPort,
    supervision: SupervisionPort | None,
    calendar: CalendarPort,
    period: str,
) -> dict[str, Any]:
    if not caller.is_city_wide:
        raise errors.not_allowed("查看成员单位考核")
    quarter_ids = period_quarters(session, period)
    today = clock.today()
    tasks = repository.tasks_of_periods(session, quarter_ids)
    stats: dict[str, dict[str, float]] = {}
    for task in tasks:
        s = stats.setdefault(
            task.unit_code, {"due": 0, "on_time": 0, "reviewed": 0, "first_pass": 0, "overdue_days": 0}
        )
        first = clock.local(task.first_submitted_at).date() if task.first_submitted_at else None
        if task.due_date < today or first is not None:
            s["due"] += 1
            s["on_time"] += first is not None and first <= task.due_date
        end = first or today
        if end > task.due_date:
            s["overdue_days"] += max(0, _workdays(calendar, task.due_date, end))
        if task.first_pass is not None:
            s["reviewed"] += 1
            s["first_pass"] += bool(task.first_pass)
    sup_data = supervision.enforcement_summary(period) if supervision is not None else None
    sup = _supervision_rows(sup_data)
    ratings = repository.ratings(session, period)
    units = catalogues.directory(session, registry)
    weights = {
        "on_time": settings.weight_on_time,
        "first_pass": settings.weight_first_pass,
        "overdue": settings.weight_overdue,
        "rectification": settings.weight_rectification if sup else 0.0,
        "qualitative": settings.weight_qualitative if ratings else 0.0,
    }
    total_weight = sum(weights.values()) or 1.0
    rows: list[dict[str, Any]] = []
    for code in sorted(set(stats) | set(ratings)):
        s = stats.get(code, {"due": 0, "on_time": 0, "reviewed": 0, "first_pass": 0, "overdue_days": 0})
        on_time = s["on_time"] / s["due"] if s["due"] else None
        first_pass = s["first_pass"] / s["reviewed"] if s["reviewed"] else None
        overdue_part = 1 - min(s["overdue_days"], settings.overdue_days_cap) / settings.overdue_days_cap
        sup_row = sup.get(code, {})
        rect = sup_row.get("rectification_on_time_rate")
        rating = ratings.get(code)
        parts = {
            "on_time": 1.0 if on_time is None else on_time,
            "first_pass": 1.0 if first_pass is None else first_pass,
            "overdue": overdue_part,
            "rectification": 1.0 if rect is None else float(rect),
            "qualitative": (rating.score / 100) if rating else 0.0,
        }
        score = 100 * sum(weights[k] * parts[k] for k in weights) / total_weight
        rows.append(
            {
                "unit_code": code,
                "unit_name": units.name(code),
                "tasks": int(s["due"]),
                "on_time_rate": None if on_time is None else round(on_time, 4),
                "first_pass_rate": None if first_pass is None else round(first_pass, 4),
                "overdue_workdays": int(s["overdue_days"]),
                "rectification_on_time_rate": rect,
                "enforcement_cases": sup_row.get("enforcement_cases"),
                "qualitative": rating.score if rating else None,
                "qualitative_comment": rating.comment if rating else None,
                "score": round(score, 2),
            }
        )
    rows.sort(key=lambda r: (-r["score"], r["unit_code"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {
        "period": period,
        "quarters": quarter_ids,
        "weights": {k: round(v / total_weight, 4) for k, v in weights.items()},
        "supervision_available": bool(sup),
        "items": rows,
        "computed_at": clock.now(),
    }


def _workdays(calendar: CalendarPort, a: date, b: date) -> int:
    try:
        return calendar.workdays_between(a, b)
    except Exception:  # a year the calendar does not know: count calendar days
        return (b - a).days


def rate(
    session: Session, caller: Caller, period: str, unit_code: str, score: float, comment: str | None
) -> dict[str, Any]:
    """A leader's (or the office's) qualitative mark for one unit in one period."""
    require_role(caller, "admin", "office", "leader")
    if not PERIOD_RE.fullmatch(period):
        raise InvalidInput.field("period", "考核期应为季度（2026Q4）或年份（2026）", period)
    row = repository.ratings(session, period).get(unit_code) or UnitRating(
        period=period, unit_code=unit_code, score=score
    )
    row.score, row.comment = score, comment
    row.rated_by, row.rated_at = caller.name or caller.sub, clock.now()
    session.add(row)
    outbox.emit(
        session,
        "rating",
        "recorded",
        f"{period}/{unit_code}",
        {"period": period, "unit_code": unit_code, "score": score},
    )
    return {"period": period, "unit_code": unit_code, "score": score, "comment": comment, "rated_by": row.rated_by}


def circular_pdf(result: dict[str, Any], number: str, issued: date) -> bytes:
    """The ranking as a circular (通报) after GB/T 9704-2012: praises the first, names the last."""
    from html import escape

    from services.common.documents import Circular, circular_html, render_pdf  # kernel-files

    rows = result["items"]
    titles = ("名次", "单位", "按时提交率", "一次通过率", "逾期工作日", "定性评价", "得分")
    head = "<tr>" + "".join(f"<th>{t}</th>" for t in titles) + "</tr>"

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.1f}%"

    body_rows = "".join(
        f"<tr><td>{r['rank']}</td><td>{escape(r['unit_name'])}</td><td>{pct(r['on_time_rate'])}</td>"
        f"<td>{pct(r['first_pass_rate'])}</td><td>{r['overdue_workdays']}</td>"
        f"<td>{'—' if r['qualitative'] is None else r['qualitative']}</td><td>{r['score']:.2f}</td></tr>"
        for r in rows
    )
    praise = "、".join(escape(r["unit_name"]) for r in rows[:3]) or "无"
    last = escape(rows[-1]["unit_name"]) if rows else "无"
    body = (
        "<p>根据《南昌市生活垃圾分类工作成员单位考核办法》，"
        f"现将 {escape(result['period'])} 成员单位考核结果通报如下。</p>"
        f"<h2>一、总体情况</h2><p>本期参加考核的成员单位共 {len(rows)} 个。"
        f"{praise} 按时报送、材料规范，予以通报表扬；"
        f"{last} 得分最低，请认真查找原因，限期整改，并于 10 个工作日内将整改情况书面报市垃圾分类办。</p>"
        f"<h2>二、考核结果</h2><table>{head}{body_rows}</table>"
        "<h2>三、工作要求</h2><p>各成员单位要对照责任清单，按时、按质报送档案资料，确保国检不因材料缺失失分。</p>"
    )
    circular = Circular(
        issuer="南昌市生活垃圾分类工作领导小组办公室",
        number=number,
        title=f"关于{result['period']}成员单位垃圾分类工作考核情况的通报",
        addressees=["各成员单位", "各县（区）人民政府"],
        body_html=body,
        date=issued,
        cc=["市生活垃圾分类工作领导小组"],
    )
    return render_pdf(circular_html(circular))
