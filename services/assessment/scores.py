"""Scores: the quarter's forecast, metric items from registry data, national results and trend.

Forecast of one item: its expected points are the scoring rules applied to the office's inputs (a
missing input counts as full marks), or, for a metric item, the band the registry figure reaches as
of the quarter's end. ``lost`` = max - expected (or the office's stated loss). The expected points are
shared equally over the item's tasks and counted by state: approved -> secured, submitted ->
pending_review, anything else (missing, returned, overdue) -> at_risk.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from services.assessment import errors, quarters, readcache, repository
from services.assessment.models import NationalResult, Quarter, outbox
from services.assessment.ports import RegistryPort, metric_value
from services.assessment.scoring import score_item
from services.common import clock
from services.common.auth import Caller, require_role
from services.common.columns import values_of
from services.common.errors import InvalidInput

log = logging.getLogger(__name__)
TIERS = ("第一档", "第二档", "第三档")


def metric_values(registry: RegistryPort | None, quarter_id: str, metrics: set[str]) -> dict[str, float | None]:
    """Each metric as of the quarter's end (or today, for the running quarter); None when unreachable."""
    if not metrics or registry is None:
        return dict.fromkeys(metrics)
    as_of = min(quarters.quarter_end(quarter_id), clock.today())
    try:
        coverage = registry.coverage(as_of)
    except Exception:
        log.warning("registry coverage unavailable for %s", quarter_id, exc_info=True)
        return dict.fromkeys(metrics)
    return {m: metric_value(m, coverage) for m in metrics}


BUCKETS = {"approved": "secured", "submitted": "pending_review"}  # any other state: at_risk
TOP_RISKS = 20


def forecast(
    session: Session, caller: Caller, registry: RegistryPort | None, quarter_id: str, unit_limit: int | None = None
) -> dict[str, Any]:
    """The quarter's forecast, kept per data version (see readcache; a metric item's registry
    figure is read again on every request and a changed one recomputes). ``units`` counts the
    units; ``unit_limit`` keeps in ``by_unit`` only that many, most points at risk first."""
    if not caller.is_city_wide:
        raise errors.not_allowed("查看得分预测")
    quarter = quarters.get(session, quarter_id)

    def unchanged(kept: dict[str, Any]) -> bool:
        metrics = kept["metrics"]
        return not metrics or metric_values(registry, quarter_id, metrics) == kept["values"]

    kept = readcache.cached(
        session,
        ("forecast", quarter_id, clock.today()),
        lambda: _forecast(session, quarter, registry, quarter_id),
        unchanged,
    )
    result = dict(kept["result"])
    if unit_limit is not None:
        result["by_unit"] = kept["by_risk"][:unit_limit]
    return result


def _forecast(session: Session, quarter: Quarter, registry: RegistryPort | None, quarter_id: str) -> dict[str, Any]:
    """Counted in the database: the tasks per (item, unit, state), and only the few tasks that
    make the top risks are read one by one."""
    items = {i.code: i for i in repository.scoring_items(session, quarter.catalogue_id)}
    judged = repository.quarter_items(session, quarter_id)
    metrics = {
        r["metric"]
        for i in items.values()
        if i.data_source != "manual"
        for r in i.rules
        if r.get("method") == "metric_band"
    }
    values = metric_values(registry, quarter_id, metrics)
    groups: dict[str, list[tuple[str, str, int]]] = {}
    task_count: dict[str, int] = {}
    for item_code, unit_code, state, n in repository.item_unit_counts(session, quarter_id):
        groups.setdefault(item_code, []).append((unit_code, BUCKETS.get(state, "at_risk"), n))
        task_count[item_code] = task_count.get(item_code, 0) + n
    totals = _zero()
    by_category: dict[str, dict[str, float]] = {}
    by_unit: dict[str, dict[str, float]] = {}
    risk_share: dict[str, float] = {}  # item -> points per task, for items with tasks at risk
    item_rows: list[dict[str, Any]] = []
    for code, item in items.items():
        row = judged.get(code)
        inputs = dict(row.inputs or {}) if row else {}
        metric_info = None
        if item.data_source != "manual":
            for rule in item.rules:
                if rule.get("method") == "metric_band":
                    value = values.get(rule["metric"])
                    metric_info = {"metric": rule["metric"], "value": value}
                    if value is not None:
                        inputs.setdefault("value", value)
        expected = score_item(item.rules, inputs)
        if row and row.lost_points is not None:
            expected = max(0.0, item.points - row.lost_points)
        lost = round(item.points - expected, 4)
        parts = {"max_points": item.points, "secured": 0.0, "pending_review": 0.0, "at_risk": 0.0, "lost": lost}
        n_tasks = task_count.get(code, 0)
        share = expected / n_tasks if n_tasks else 0.0
        unit_max = item.points / n_tasks if n_tasks else 0.0
        if not n_tasks:
            parts["secured"] = expected
        for unit_code, bucket, n in groups.get(code, ()):
            unit = by_unit.get(unit_code) or by_unit.setdefault(unit_code, _zero())
            # one addition per task, as when the tasks were summed one by one (same float sums)
            for _ in range(n):
                parts[bucket] += share
                unit["max_points"] += unit_max
                unit[bucket] += share
                unit["lost"] += unit_max - share
            if bucket == "at_risk":
                risk_share[code] = share
        category = by_category.setdefault(item.category, _zero())
        for key, value in parts.items():
            category[key] += value
            totals[key] += value
        item_rows.append(
            {"code": code, "name": item.name, "category": item.category, "metric": metric_info} | _rounded(parts)
        )
    unit_rows = [{"unit_code": k} | _rounded(v) for k, v in sorted(by_unit.items())]
    result = {
        "quarter": quarter_id,
        "state": quarter.state,
        **_rounded(totals),
        "expected": round(totals["secured"] + totals["pending_review"] + totals["at_risk"], 2),
        "by_category": [{"category": k} | _rounded(v) for k, v in by_category.items()],
        "by_unit": unit_rows,
        "units": len(unit_rows),
        "top_risks": top_risks(session, quarter_id, items, risk_share, groups),
        "items": item_rows,
        "computed_at": clock.now(),
    }
    by_risk = sorted(unit_rows, key=lambda u: (-float(u["at_risk"]), str(u["unit_code"])))
    return {"result": result, "by_risk": by_risk, "metrics": metrics, "values": values}


def top_risks(
    session: Session,
    quarter_id: str,
    items: dict[str, Any],
    risk_share: dict[str, float],
    groups: dict[str, list[tuple[str, str, int]]],
) -> list[dict[str, Any]]:
    """The ``TOP_RISKS`` tasks at risk that cost the most points (rounded to 0.01), then the
    nearest due date, then the oldest. Items are taken by points, highest first, only as many as
    fill the list: those taken whole in one query, the last one's first tasks by due date in
    another."""
    at_risk = {code: sum(n for _, b, n in groups[code] if b == "at_risk") for code in risk_share}
    by_points: dict[float, list[str]] = {}
    for code, share in risk_share.items():
        by_points.setdefault(round(share, 2), []).append(code)
    whole: list[str] = []
    rows: list[Any] = []
    for points in sorted(by_points, reverse=True):
        codes = by_points[points]
        count = sum(at_risk[c] for c in codes)
        room = TOP_RISKS - sum(at_risk[c] for c in whole)
        if count < room:
            whole += codes
            continue
        rows += repository.open_tasks_by_due(session, quarter_id, codes, list(BUCKETS), room)
        break
    if whole:
        rows += repository.open_tasks_by_due(session, quarter_id, whole, list(BUCKETS), TOP_RISKS)
    today = clock.today()
    risks = [
        {
            "task_id": task_id,
            "item_code": code,
            "item_name": items[code].name,
            "unit_code": unit_code,
            "state": state,
            "points": round(risk_share[code], 2),
            "due_date": due,
            "days_to_due": (due - today).days,
            "overdue": due < today,
        }
        for task_id, code, unit_code, state, due in rows
    ]
    risks.sort(key=lambda r: (-r["points"], r["days_to_due"], r["task_id"]))
    return risks[:TOP_RISKS]


def _zero() -> dict[str, float]:
    return {"max_points": 0.0, "secured": 0.0, "pending_review": 0.0, "at_risk": 0.0, "lost": 0.0}


def _rounded(parts: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in parts.items()}


def snapshot(session: Session, caller: Caller, registry: RegistryPort | None, quarter_id: str) -> dict[str, Any]:
    """What the lock keeps: the forecast's totals (for the forecast-vs-actual trend)."""
    f = forecast(session, caller, registry, quarter_id)
    return {k: f[k] for k in ("max_points", "secured", "pending_review", "at_risk", "lost", "expected")} | {
        "taken_at": clock.now().isoformat()
    }


# --------------------------------------------------------------------------------------------------
# National results (国检结果) and the trend


# What a national result holds beyond its quarter, as entered (PUT) and shown.
RESULT_FIELDS = ("score", "rank", "class_name", "class_size", "tier", "lost_by_category", "forecast_score", "note")


def result_public(r: NationalResult) -> dict[str, Any]:
    return {"quarter": r.quarter_id} | values_of(r, *RESULT_FIELDS, "entered_by", "entered_at")


def put_result(session: Session, caller: Caller, quarter_id: str, body: dict[str, Any]) -> dict[str, Any]:
    require_role(caller, "admin", "office")
    quarters.parse_quarter(quarter_id)
    if body["tier"] not in TIERS:
        raise InvalidInput.field("tier", "档次应为 第一档、第二档 或 第三档", body["tier"])
    if body["rank"] > body["class_size"]:
        raise InvalidInput.field("rank", "名次不能大于同类城市数", body["rank"])
    row = repository.row(session, NationalResult, quarter_id) or NationalResult(
        quarter_id=quarter_id, score=0, rank=1, class_name="", class_size=1, tier="", lost_by_category={}
    )
    quarter = repository.row(session, Quarter, quarter_id)
    forecast_score = body.get("forecast_score")
    if forecast_score is None and quarter is not None and quarter.forecast_snapshot:
        forecast_score = quarter.forecast_snapshot.get("expected")
    row.score, row.rank, row.class_name, row.class_size, row.tier = (
        body["score"],
        body["rank"],
        body["class_name"],
        body["class_size"],
        body["tier"],
    )
    row.lost_by_category = dict(body.get("lost_by_category") or {})
    row.forecast_score = forecast_score
    row.note = body.get("note")
    row.entered_by = caller.name or caller.sub
    row.entered_at = clock.now()
    session.add(row)
    outbox.emit(
        session,
        "national_result",
        "recorded",
        quarter_id,
        {"quarter": quarter_id, "score": row.score, "rank": row.rank, "tier": row.tier},
    )
    return result_public(row)


def delete_result(session: Session, caller: Caller, quarter_id: str) -> None:
    require_role(caller, "admin", "office")
    row = repository.found(session, NationalResult, quarter_id, errors.result_not_found)
    session.delete(row)
    outbox.emit(session, "national_result", "deleted", quarter_id, {"quarter": quarter_id})


def results(session: Session) -> dict[str, Any]:
    rows = repository.national_results(session)
    return {
        "items": [result_public(r) for r in rows],
        "trend": [
            {
                "quarter": r.quarter_id,
                "actual": r.score,
                "forecast": r.forecast_score,
                "rank": r.rank,
                "tier": r.tier,
                "error": None if r.forecast_score is None else round(r.forecast_score - r.score, 2),
            }
            for r in rows
        ],
    }
