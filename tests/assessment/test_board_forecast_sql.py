"""The quarter board and the forecast count in the database now; these compare them with the way
they were computed before (every task loaded and counted in Python, kept here as the reference) on
small quarters with mixed states, due dates, scoring inputs and scoped callers."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from services.assessment import catalogues, quarters, repository, scores
from services.assessment.config import Settings
from services.assessment.models import QuarterItem, Task
from services.assessment.ports import RegistryPort
from services.assessment.scoring import score_item
from services.assessment.workflow import is_overdue
from services.common import clock
from services.common.auth import Caller
from services.common.db import session_scope
from tests.assessment.conftest import UNITS, ChinaCalendar, FakeRegistry, caller, publish_spec

STATES = ("pending", "submitted", "approved", "returned")
COUNTS = ("total", "approved", "submitted", "overdue")


def core_board(board: dict[str, Any]) -> dict[str, Any]:
    """The board as it was answered before the per-unit counts, ``units`` and ``totals`` were
    added (those checked here against the cells)."""
    totals = dict.fromkeys(COUNTS, 0)
    rows = []
    for row in board["rows"]:
        for k in COUNTS:
            assert row[k] == sum(c[k] for c in row["cells"] if c), k
            totals[k] += row[k]
        assert row["share"] == (round(row["approved"] / row["total"], 4) if row["total"] else None)
        rows.append({k: row[k] for k in ("unit_code", "unit_name", "cells")})
    assert board["units"] == len(rows)
    assert {k: board["totals"][k] for k in COUNTS} == totals
    return {"quarter": board["quarter"], "categories": board["categories"], "rows": rows}


def core_forecast(forecast: dict[str, Any]) -> dict[str, Any]:
    assert forecast["units"] == len(forecast["by_unit"])
    return {k: v for k, v in forecast.items() if k != "units"}


def old_board(session: Any, who: Caller, registry: RegistryPort, quarter_id: str) -> dict[str, Any]:
    quarters.get(session, quarter_id)
    today = clock.today()
    cells: dict[tuple[str, str], dict[str, int]] = {}
    categories: list[str] = []
    for task in repository.quarter_tasks(session, quarter_id, who):
        if task.category not in categories:
            categories.append(task.category)
        cell = cells.setdefault(
            (task.unit_code, task.category), {"total": 0, "approved": 0, "submitted": 0, "overdue": 0}
        )
        cell["total"] += 1
        cell["approved"] += task.state == "approved"
        cell["submitted"] += task.state == "submitted"
        cell["overdue"] += is_overdue(task, today)
    units = catalogues.directory(session, registry)
    rows = []
    for code in sorted({u for u, _ in cells}):
        row_cells = []
        for category in categories:
            c = cells.get((code, category))
            row_cells.append(None if c is None else c | {"share": round(c["approved"] / c["total"], 4)})
        rows.append({"unit_code": code, "unit_name": units.name(code), "cells": row_cells})
    return {"quarter": quarter_id, "categories": categories, "rows": rows}


def old_forecast(session: Any, registry: RegistryPort | None, quarter_id: str) -> dict[str, Any]:
    quarter = quarters.get(session, quarter_id)
    items = {i.code: i for i in repository.catalogue_items(session, quarter.catalogue_id)}
    judged = repository.quarter_items(session, quarter_id)
    metrics = {
        r["metric"]
        for i in items.values()
        if i.data_source != "manual"
        for r in i.rules
        if r.get("method") == "metric_band"
    }
    values = scores.metric_values(registry, quarter_id, metrics)
    tasks_by_item: dict[str, list[Task]] = {}
    for task in repository.quarter_tasks(session, quarter_id):
        tasks_by_item.setdefault(task.item_code, []).append(task)
    today = clock.today()
    totals = scores._zero()
    by_category: dict[str, dict[str, float]] = {}
    by_unit: dict[str, dict[str, float]] = {}
    risks: list[dict[str, Any]] = []
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
        item_tasks = tasks_by_item.get(code, [])
        share = expected / len(item_tasks) if item_tasks else 0.0
        unit_max = item.points / len(item_tasks) if item_tasks else 0.0
        if not item_tasks:
            parts["secured"] = expected
        for task in item_tasks:
            bucket = {"approved": "secured", "submitted": "pending_review"}.get(task.state, "at_risk")
            parts[bucket] += share
            unit = by_unit.setdefault(task.unit_code, scores._zero())
            unit["max_points"] += unit_max
            unit[bucket] += share
            unit["lost"] += unit_max - share
            if bucket == "at_risk":
                risks.append(
                    {
                        "task_id": task.id,
                        "item_code": code,
                        "item_name": item.name,
                        "unit_code": task.unit_code,
                        "state": task.state,
                        "points": round(share, 2),
                        "due_date": task.due_date,
                        "days_to_due": (task.due_date - today).days,
                        "overdue": task.due_date < today,
                    }
                )
        category = by_category.setdefault(item.category, scores._zero())
        for key, value in parts.items():
            category[key] += value
            totals[key] += value
        item_rows.append(
            {"code": code, "name": item.name, "category": item.category, "metric": metric_info} | scores._rounded(parts)
        )
    risks.sort(key=lambda r: (-r["points"], r["days_to_due"], r["task_id"]))
    return {
        "quarter": quarter_id,
        "state": quarter.state,
        **scores._rounded(totals),
        "expected": round(totals["secured"] + totals["pending_review"] + totals["at_risk"], 2),
        "by_category": [{"category": k} | scores._rounded(v) for k, v in by_category.items()],
        "by_unit": [{"unit_code": k} | scores._rounded(v) for k, v in sorted(by_unit.items())],
        "top_risks": risks[:20],
        "items": item_rows,
        "computed_at": clock.now(),
    }


def random_spec(rng: random.Random) -> dict[str, Any]:
    """Items in three categories (listed out of category order), uneven points, one to three pieces
    of evidence, one to five units; one metric item and one deduction item."""
    codes = [u["code"] for u in UNITS]
    categories: dict[str, list[dict[str, Any]]] = {"分类投放": [], "体制机制建设": [], "宣传教育": []}
    for i in range(14):
        name = list(categories)[rng.randrange(3)]
        units = rng.sample(codes, rng.randint(1, 5))
        points = rng.choice([0.5, 1, 1.5, 2, 3, 7])
        rules: list[dict[str, Any]] = [{"text": "采取有效措施", "points": points, "method": "all_or_nothing"}]
        item: dict[str, Any] = {}
        if i == 0:
            rules = [
                {
                    "text": "覆盖率",
                    "points": points,
                    "method": "metric_band",
                    "metric": "residential_coverage",
                    "bands": [{"min": 0.95, "points": points}, {"min": 0.9, "points": points / 2}],
                }
            ]
            item["data_source"] = "registry:residential_coverage"
        elif i == 1:
            rules = [{"text": "混投混放", "points": points, "method": "deduction", "per_case": 0.5, "floor": 0}]
        evidence = [
            {"code": f"e{k}", "title": f"第{i}项资料{k}", "frequency": "quarterly", "kinds": ["pdf"]}
            for k in range(1, rng.randint(1, 3) + 1)
        ]
        categories[name].append(
            item
            | {
                "code": f"{list(categories).index(name) + 1}.{len(categories[name]) + 1}",
                "name": f"评估项目{i}",
                "rules": rules,
                "evidence": evidence,
                "lead_unit": units[0],
                "co_units": units[1:],
            }
        )
    return {
        "name": "比对细则",
        "note": None,
        "categories": [{"name": k, "items": v} for k, v in categories.items() if v],
    }


def mix(engine: Engine, rng: random.Random, quarter_id: str, base: date) -> None:
    """Every task to a random state and due date (some past, some equal); a few judged items."""
    with session_scope(engine) as session:
        tasks = session.execute(select(Task).where(Task.quarter_id == quarter_id)).scalars().all()
        for t in tasks:
            session.execute(
                update(Task)
                .where(col(Task.id) == t.id)
                .values(state=rng.choice(STATES), due_date=base + timedelta(days=rng.randint(-5, 5)))
            )
        item_codes = sorted({t.item_code for t in tasks})
        for code in rng.sample(item_codes, 3):
            lost = rng.choice([None, 0.5, 1.0, 100.0])
            session.add(QuarterItem(quarter_id=quarter_id, item_code=code, inputs={"cases": 1}, lost_points=lost))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_board_and_forecast_match_the_task_by_task_count(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    clock.set_now(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    cat_id = publish_spec(engine, random_spec(rng))
    registry = FakeRegistry(rate=0.91)
    with session_scope(engine) as session:
        quarters.open_quarter(session, caller("office"), Settings(), registry, ChinaCalendar(), "2026Q4", cat_id)
    mix(engine, rng, "2026Q4", clock.today())
    with session_scope(engine) as session:
        assert repository.quarter_tasks(session, "2026Q4")
        for who in ("office", "unit", "county", "unit_u03"):
            new = core_board(quarters.board(session, caller(who), registry, "2026Q4"))
            assert new == old_board(session, caller(who), registry, "2026Q4"), who
        new_f = core_forecast(scores.forecast(session, caller("office"), registry, "2026Q4"))
        old_f = old_forecast(session, registry, "2026Q4")
        assert new_f == old_f
        assert len(new_f["top_risks"]) == 20  # more tasks at risk than the list holds
        # no registry at all (metric unknown): the same too
        assert core_forecast(scores.forecast(session, caller("office"), None, "2026Q4")) == old_forecast(
            session, None, "2026Q4"
        )


def test_empty_quarter_matches(engine: Engine) -> None:
    """Tasks of an item no longer in the catalogue, an item without tasks, a caller who sees none."""
    clock.set_now(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    cat_id = publish_spec(engine)
    registry = FakeRegistry()
    with session_scope(engine) as session:
        quarters.open_quarter(session, caller("office"), Settings(), registry, ChinaCalendar(), "2026Q4", cat_id)
    with session_scope(engine) as session:
        session.execute(update(Task).where(col(Task.item_code) == "1.1").values(item_code="9.9"))
    with session_scope(engine) as session:
        assert core_forecast(scores.forecast(session, caller("office"), registry, "2026Q4")) == old_forecast(
            session, registry, "2026Q4"
        )
        for who in (caller("county_other"), Caller(sub="user:x", role="unit", unit_code="U99")):
            assert core_board(quarters.board(session, who, registry, "2026Q4")) == old_board(
                session, who, registry, "2026Q4"
            )
