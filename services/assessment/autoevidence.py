"""Auto-evidence: for a metric item, a generated PDF of the registry figures as of the quarter's end
(with the time of the query), attached to the task as a system submission."""

from __future__ import annotations

from html import escape
from typing import Any

from sqlmodel import Session

from services.assessment import errors, quarters, repository, tasks
from services.assessment.ports import RegistryPort
from services.assessment.scoring import METRICS
from services.common import clock
from services.common.auth import Caller, require_role
from services.common.errors import Conflict


def _pct(rate: Any) -> str:
    return "—" if rate is None else f"{float(rate) * 100:.2f}%"


def evidence_html(item_name: str, quarter_id: str, coverage: dict[str, Any], queried_at: str) -> str:
    from services.common.documents import Report, Section, report_html  # kernel-files

    city = coverage.get("city") or {}

    def row(name: str, r: dict[str, Any]) -> str:
        cells = [escape(name), str(r.get("covered", "—")), str(r.get("total", "—")), _pct(r.get("rate"))]
        return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    rows = [row("全市", city.get("residential") or {})]
    rows += [row(str(c.get("county_name", "")), c.get("residential") or {}) for c in coverage.get("counties") or []]
    kinds = "".join(row(k, v) for k, v in (city.get("by_kind") or {}).items())
    head = "<tr><th>范围</th><th>已覆盖</th><th>总数</th><th>覆盖率</th></tr>"
    sections = [
        Section(
            "数据口径",
            f"<p>数据来源：南昌市生活垃圾分类基础台账（登记台账服务）。统计日期：{escape(str(coverage.get('as_of')))}（当日结束时）。"
            f"查询时间：{escape(queried_at)}。覆盖率 = 实行分类收集且分类运输的居民小区数 ÷ 居民小区总数。</p>",
        ),
        Section("居民小区分类覆盖率", f"<table>{head}{''.join(rows)}</table>"),
    ]
    if kinds:
        sections.append(Section("各类管理对象覆盖率", f"<table>{head}{kinds}</table>"))
    return report_html(
        Report(
            title=f"{item_name}佐证材料",
            subtitle=f"{quarter_id} 系统自动生成",
            issuer="南昌市垃圾分类工作领导小组办公室",
            date=clock.today(),
            sections=sections,
        )
    )


def generate(session: Session, caller: Caller, registry: RegistryPort, storage: Any, task_id: int) -> dict[str, Any]:
    from services.common.documents import render_pdf  # kernel-files

    require_role(caller, "admin", "office")
    task = tasks.get_task(session, caller, task_id)
    quarter = quarters.get(session, task.quarter_id)
    item = repository.catalogue_item(session, quarter.catalogue_id, task.item_code)
    if item is None:
        raise errors.task_not_found(task_id)
    if item.data_source == "manual":
        raise Conflict(f"评估项目 {item.code} 的数据来源是手工填报，不能自动生成佐证材料", code="not_a_metric_item")
    as_of = min(quarters.quarter_end(quarter.id), clock.today())
    coverage = registry.coverage(as_of)
    queried_at = clock.local(clock.now()).strftime("%Y-%m-%d %H:%M:%S")
    pdf = render_pdf(evidence_html(item.name, quarter.id, coverage, queried_at))
    metric = next((r.get("metric") for r in item.rules if r.get("metric")), "")
    stored = storage.put(pdf, original_name=f"{item.name}_{METRICS.get(str(metric), '指标')}_{as_of.isoformat()}.pdf")
    return tasks.submit(
        session,
        caller,
        task_id,
        [stored],
        effective_date=as_of,
        note=f"系统根据登记台账自动生成（查询时间 {queried_at}）",
        system=True,
    )
