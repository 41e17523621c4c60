"""Scoring methods as data (评分方法). A rule is a dict::

    {"text": "市、区建立领导小组", "points": 2, "method": "all_or_nothing"}
    {"text": "混投混放每发现一处扣 0.5 分", "points": 3, "method": "deduction", "per_case": 0.5, "floor": 0}
    {"text": "回收利用率每高于 35% 十个百分点加 1 分", "points": 3, "method": "stepped",
     "baseline": 0.35, "step": 0.10, "per_step": 1}
    {"text": "地方性法规 2 分或政府规章 1 分", "points": 2, "method": "either_or",
     "alternatives": [{"label": "地方性法规", "points": 2}, {"label": "政府规章", "points": 1}]}
    {"text": "居民小区分类覆盖率", "points": 3, "method": "metric_band", "metric": "residential_coverage",
     "bands": [{"min": 0.95, "points": 3}, {"min": 0.9, "points": 2}, {"min": 0.8, "points": 1}]}

``score_rule(rule, inputs)`` applies one rule to the office's inputs (``met``, ``cases``, ``value``,
``achieved``); an input that is not known yet (``None``) means "assume the full points" for a forecast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

METHODS = ("all_or_nothing", "deduction", "stepped", "either_or", "metric_band")
METHOD_LABELS = {
    "all_or_nothing": "非此即彼",
    "deduction": "减分法",
    "stepped": "层差法",
    "either_or": "多选一（取最高）",
    "metric_band": "指标分档",
}
METRICS = {
    "residential_coverage": "居民小区生活垃圾分类覆盖率",
    "public_institution_coverage": "公共机构分类覆盖率",
    "school_coverage": "学校分类覆盖率",
    "hospital_coverage": "医疗机构分类覆盖率",
    "market_coverage": "农贸市场分类覆盖率",
}


def rule_max(rule: Mapping[str, Any]) -> float:
    """The most a rule can give."""
    if rule.get("method") == "either_or" and rule.get("alternatives"):
        return max(float(a["points"]) for a in rule["alternatives"])
    return float(rule["points"])


def score_rule(rule: Mapping[str, Any], inputs: Mapping[str, Any] | None = None) -> float:
    """The points a rule gives for the inputs; a missing input counts as full marks (forecast)."""
    inputs = inputs or {}
    method = rule.get("method", "all_or_nothing")
    points = rule_max(rule)
    if method == "all_or_nothing":
        met = inputs.get("met")
        return points if met is None or bool(met) else 0.0
    if method == "deduction":
        cases = inputs.get("cases")
        if cases is None:
            return points
        floor = float(rule.get("floor", 0))
        return _round(max(floor, points - float(rule["per_case"]) * int(cases)))
    if method == "stepped":
        value = inputs.get("value")
        if value is None:
            return points
        steps = math.floor((float(value) - float(rule["baseline"])) / float(rule["step"]) + 1e-9)
        base = float(rule.get("base_points", 0))
        return _round(min(points, max(0.0, base + steps * float(rule["per_step"]))))
    if method == "either_or":
        achieved = inputs.get("achieved")
        if achieved is None:
            return points
        got = [float(a["points"]) for a in rule["alternatives"] if a["label"] in set(achieved)]
        return max(got, default=0.0)
    if method == "metric_band":
        value = inputs.get("value")
        if value is None:
            return points
        return band_points(rule["bands"], float(value))
    raise ValueError(f"unknown scoring method {method!r}")


def band_points(bands: Sequence[Mapping[str, Any]], value: float) -> float:
    """The points of the highest band whose ``min`` the value reaches (0 below every band)."""
    for band in sorted(bands, key=lambda b: float(b["min"]), reverse=True):
        if value + 1e-9 >= float(band["min"]):
            return float(band["points"])
    return 0.0


def score_item(rules: Sequence[Mapping[str, Any]], inputs: Mapping[str, Any] | None = None) -> float:
    """An item's points: each rule scored with its own inputs (``inputs[str(index)]``) or the shared ones."""
    inputs = inputs or {}
    total = 0.0
    for index, rule in enumerate(rules):
        own = inputs.get(str(index))
        total += score_rule(rule, own if isinstance(own, Mapping) else inputs)
    return _round(total)


def item_max(rules: Sequence[Mapping[str, Any]]) -> float:
    return _round(sum(rule_max(r) for r in rules))


def check_rule(rule: Mapping[str, Any]) -> str | None:
    """A Chinese sentence saying what is wrong with a rule, or None."""
    method = rule.get("method", "all_or_nothing")
    if method not in METHODS:
        return f"未知的评分方法“{method}”，应为 {'、'.join(METHODS)} 之一"
    try:
        if method == "either_or":
            alts = rule.get("alternatives") or []
            if len(alts) < 2 or any(float(a["points"]) < 0 or not a.get("label") for a in alts):
                return "多选一的细则至少要有两个选项，每个有名称和分值"
        elif float(rule["points"]) < 0:
            return "分值不能为负数"
        if method == "deduction" and float(rule.get("per_case", 0)) <= 0:
            return "减分法须给出每处扣分（per_case）"
        if method == "stepped" and float(rule.get("step", 0)) <= 0:
            return "层差法须给出基线（baseline）、级差（step）和每级分值（per_step）"
        if method == "stepped":
            float(rule["baseline"]), float(rule["per_step"])
        if method == "metric_band":
            if rule.get("metric") not in METRICS:
                return f"未知的指标“{rule.get('metric')}”，可用：{'、'.join(METRICS)}"
            if not rule.get("bands"):
                return "指标分档须给出各档下限和分值（bands）"
            for band in rule["bands"]:
                float(band["min"]), float(band["points"])
    except (KeyError, TypeError, ValueError):
        return "评分细则的参数不完整或不是数字"
    return None


def _round(value: float) -> float:
    return round(value + 0.0, 2)
