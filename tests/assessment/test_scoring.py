"""Scoring methods, each with worked examples."""

import pytest

from services.assessment.scoring import check_rule, item_max, score_item, score_rule

LEADING_GROUP = {"text": "市、区建立领导小组", "points": 2, "method": "all_or_nothing"}
MIXED_DUMPING = {"text": "混投混放每处扣0.5分", "points": 3, "method": "deduction", "per_case": 0.5, "floor": 0}
RECYCLING = {"text": "回收利用率", "points": 3, "method": "stepped", "baseline": 0.35, "step": 0.10, "per_step": 1}
REGULATION = {
    "text": "地方性法规2分或政府规章1分",
    "points": 2,
    "method": "either_or",
    "alternatives": [{"label": "地方性法规", "points": 2}, {"label": "政府规章", "points": 1}],
}
COVERAGE = {
    "text": "居民小区覆盖率",
    "points": 3,
    "method": "metric_band",
    "metric": "residential_coverage",
    "bands": [{"min": 0.95, "points": 3}, {"min": 0.9, "points": 2}, {"min": 0.8, "points": 1}],
}


@pytest.mark.parametrize(("met", "points"), [(True, 2), (False, 0), (None, 2)])
def test_all_or_nothing(met: bool | None, points: float) -> None:
    assert score_rule(LEADING_GROUP, {"met": met}) == points


@pytest.mark.parametrize(("cases", "points"), [(0, 3), (1, 2.5), (3, 1.5), (6, 0), (9, 0)])
def test_deduction_per_case_with_floor(cases: int, points: float) -> None:
    assert score_rule(MIXED_DUMPING, {"cases": cases}) == points


def test_deduction_floor_above_zero() -> None:
    assert score_rule(MIXED_DUMPING | {"floor": 1}, {"cases": 10}) == 1


@pytest.mark.parametrize(
    ("value", "points"), [(0.30, 0), (0.35, 0), (0.449, 0), (0.45, 1), (0.58, 2), (0.65, 3), (0.95, 3)]
)
def test_stepped_one_point_per_ten_percent_above_baseline(value: float, points: float) -> None:
    assert score_rule(RECYCLING, {"value": value}) == points


@pytest.mark.parametrize(
    ("achieved", "points"), [(["地方性法规"], 2), (["政府规章"], 1), (["地方性法规", "政府规章"], 2), ([], 0)]
)
def test_either_or_best_alternative_counts(achieved: list[str], points: float) -> None:
    assert score_rule(REGULATION, {"achieved": achieved}) == points


@pytest.mark.parametrize(("value", "points"), [(0.97, 3), (0.95, 3), (0.93, 2), (0.85, 1), (0.5, 0)])
def test_metric_band(value: float, points: float) -> None:
    assert score_rule(COVERAGE, {"value": value}) == points


def test_item_sums_rules_and_rule_inputs_by_index() -> None:
    rules = [LEADING_GROUP, {"text": "组长", "points": 1, "method": "all_or_nothing"}]
    assert item_max(rules) == 3
    assert score_item(rules, {"0": {"met": True}, "1": {"met": False}}) == 2
    assert item_max([REGULATION]) == 2


def test_check_rule_names_the_problem() -> None:
    assert check_rule({"text": "x", "points": 1, "method": "guess"}) is not None
    assert check_rule(MIXED_DUMPING | {"per_case": 0}) == "减分法须给出每处扣分（per_case）"
    assert check_rule(COVERAGE | {"metric": "nope"}) is not None
    assert check_rule(REGULATION | {"alternatives": [{"label": "a", "points": 1}]}) is not None
    assert all(check_rule(r) is None for r in (LEADING_GROUP, MIXED_DUMPING, RECYCLING, REGULATION, COVERAGE))
