"""API out of the assessment service for scores: forecast buckets and risks, national results and the
trend, member-unit ratings and rankings, the quarter board, the archive's status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.common.schema_examples import examples


class Bucket(BaseModel):
    max_points: float
    secured: float
    pending_review: float
    at_risk: float
    lost: float


class CategoryBucket(Bucket):
    category: str


class UnitBucket(Bucket):
    unit_code: str


class Risk(BaseModel):
    task_id: int
    item_code: str
    item_name: str
    unit_code: str
    state: str
    points: float
    due_date: date
    days_to_due: int
    overdue: bool


class Forecast(Bucket):
    model_config = examples(
        {
            "quarter": "2026Q4",
            "state": "collecting",
            "max_points": 100,
            "secured": 41.5,
            "pending_review": 12.0,
            "at_risk": 44.0,
            "lost": 2.5,
            "expected": 97.5,
            "by_category": [],
            "by_unit": [],
            "top_risks": [],
            "items": [],
            "computed_at": "2026-12-02T08:00:00Z",
        }
    )

    quarter: str
    state: str
    expected: float
    by_category: list[CategoryBucket]
    by_unit: list[UnitBucket]
    units: int = Field(0, description="有任务的单位总数（by_unit 用 unit_limit 截取前）")
    top_risks: list[Risk]
    items: list[dict[str, Any]]
    computed_at: datetime


class ResultBody(BaseModel):
    model_config = examples(
        {
            "score": 86.5,
            "rank": 12,
            "class_name": "大城市",
            "class_size": 54,
            "tier": "第二档",
            "lost_by_category": {"分类投放": 4.5, "宣传教育": 2.0},
            "note": "住房城乡建设部 2026 年第三季度通报",
        }
    )

    score: float = Field(ge=0, le=100)
    rank: int = Field(ge=1)
    class_name: str = Field(min_length=1, max_length=32)
    class_size: int = Field(ge=1)
    tier: str
    lost_by_category: dict[str, float] = Field({}, description="各评估类别的失分")
    forecast_score: float | None = Field(None, description="本季度的预测得分（不填时取季度锁定时的预测）")
    note: str | None = Field(None, description="说明（如通报的文号）")


class ResultPublic(ResultBody):
    quarter: str
    entered_by: str = Field(description="录入人")
    entered_at: datetime = Field(description="录入时间")


class TrendPoint(BaseModel):
    quarter: str
    actual: float
    forecast: float | None
    rank: int
    tier: str
    error: float | None = Field(description="预测减实际")


class ResultList(BaseModel):
    items: list[ResultPublic]
    trend: list[TrendPoint]


class RatingBody(BaseModel):
    score: float = Field(ge=0, le=100, examples=[90])
    comment: str | None = Field(default=None, examples=["主动对接、材料规范"])


class ArchiveStatus(BaseModel):
    id: int
    quarter: str
    state: Literal["queued", "running", "done", "failed"]
    size: int | None
    sha256: str | None
    files: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class BoardCell(BaseModel):
    total: int
    approved: int
    submitted: int
    overdue: int
    share: float = Field(description="已通过任务占比（0-1）")


class BoardRow(BaseModel):
    unit_code: str
    unit_name: str
    cells: list[BoardCell | None] = Field(description="与 categories 一一对应；该单位在此类别没有任务时为 null")
    total: int = Field(0, description="该单位的任务数（各类别合计）")
    approved: int = 0
    submitted: int = 0
    overdue: int = 0
    share: float | None = Field(None, description="该单位已通过任务占比（0-1）")


class BoardTotals(BaseModel):
    total: int
    approved: int
    submitted: int
    overdue: int
    share: float | None


class Board(BaseModel):
    model_config = examples(
        {
            "quarter": "2026Q4",
            "categories": ["体制机制建设", "推动源头减量"],
            "rows": [
                {
                    "unit_code": "U01",
                    "unit_name": "市垃圾分类办",
                    "cells": [{"total": 4, "approved": 3, "submitted": 1, "overdue": 0, "share": 0.75}, None],
                }
            ],
        }
    )

    quarter: str
    categories: list[str]
    rows: list[BoardRow]
    units: int = Field(0, description="单位总数（分页前）")
    totals: BoardTotals | None = Field(None, description="全部单位的合计")


class RankingRow(BaseModel):
    rank: int
    unit_code: str
    unit_name: str
    tasks: int = Field(description="已到期（或已提交）的任务数")
    on_time_rate: float | None
    first_pass_rate: float | None
    overdue_workdays: int
    rectification_on_time_rate: float | None = Field(description="督导整改按时率（督导服务未答复时为 null）")
    enforcement_cases: int | None
    qualitative: float | None = Field(description="领导定性评价（0-100）")
    qualitative_comment: str | None
    score: float


class Ranking(BaseModel):
    model_config = examples(
        {
            "period": "2026Q4",
            "quarters": ["2026Q4"],
            "weights": {
                "on_time": 0.3,
                "first_pass": 0.2,
                "overdue": 0.1,
                "rectification": 0.1,
                "qualitative": 0.3,
            },
            "supervision_available": True,
            "items": [
                {
                    "rank": 1,
                    "unit_code": "U02",
                    "unit_name": "市司法局",
                    "tasks": 2,
                    "on_time_rate": 1.0,
                    "first_pass_rate": 1.0,
                    "overdue_workdays": 0,
                    "rectification_on_time_rate": 0.95,
                    "enforcement_cases": 3,
                    "qualitative": 92,
                    "qualitative_comment": "主动对接",
                    "score": 98.2,
                }
            ],
            "computed_at": "2026-12-02T08:00:00Z",
        }
    )

    period: str
    quarters: list[str]
    weights: dict[str, float] = Field(description="实际使用的权重（缺少的部分按比例分给其余部分）")
    supervision_available: bool
    items: list[RankingRow]
    computed_at: datetime
