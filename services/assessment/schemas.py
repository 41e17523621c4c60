"""API in and out of the assessment service, with the examples OpenAPI shows; field labels in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LABELS: dict[str, str] = {
    "catalogue_id": "评估细则版本",
    "quarter": "季度",
    "state": "状态",
    "due_date": "截止日期",
    "default_due": "默认截止日期",
    "effective_date": "生效日期",
    "note": "说明",
    "files": "文件",
    "file": "文件",
    "decision": "审核结论",
    "reason": "理由",
    "score": "得分",
    "rank": "名次",
    "class_name": "城市类别",
    "class_size": "同类城市数",
    "tier": "档次",
    "lost_by_category": "各类别失分",
    "unit_code": "单位编码",
    "alias": "别名",
    "period": "考核期",
    "inputs": "评分依据",
    "lost_points": "失分",
    "item_code": "评估项目序号",
    "format": "格式",
    "cursor": "游标",
    "lead_unit": "牵头单位",
    "co_units": "配合单位",
    "rules": "评分细则",
    "evidence": "档案资料",
    "points": "分值",
    "category": "评估类别",
    "name": "名称",
    "data_source": "数据来源",
}

TaskState = Literal["pending", "submitted", "approved", "returned"]


class CataloguePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "示例 城市生活垃圾分类工作评估细则",
                    "version": 1,
                    "status": "published",
                    "based_on": None,
                    "note": "示例：据六安、银川公开任务清单重构",
                    "total_points": 100,
                    "created_at": "2026-09-20T02:00:00Z",
                    "created_by": "分类办 李敏",
                    "published_at": "2026-09-21T02:00:00Z",
                }
            ]
        }
    )

    id: int
    name: str
    version: int
    status: Literal["draft", "published"]
    based_on: int | None
    note: str | None
    total_points: float
    created_at: datetime
    created_by: str
    published_at: datetime | None


class CatalogueList(BaseModel):
    items: list[CataloguePublic]


class Evidence(BaseModel):
    code: str = Field(examples=["e1"])
    title: str = Field(examples=["成立领导小组的正式文件"])
    frequency: Literal["monthly", "quarterly", "yearly", "once"] = "quarterly"
    kinds: list[Literal["pdf", "image", "office", "ofd"]] = ["pdf", "image", "office"]


class ItemBody(BaseModel):
    """One catalogue item, as in the YAML (units by code or name)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "体制机制建设",
                    "name": "出台（含修订）地方性法规或政府规章",
                    "rules": [
                        {
                            "text": "地方性法规2分或政府规章1分",
                            "points": 2,
                            "method": "either_or",
                            "alternatives": [{"label": "地方性法规", "points": 2}, {"label": "政府规章", "points": 1}],
                        }
                    ],
                    "evidence": [{"code": "e1", "title": "法规/规章文本", "frequency": "once", "kinds": ["pdf"]}],
                    "lead_unit": "U02",
                    "co_units": ["U01"],
                    "data_source": "manual",
                }
            ]
        }
    )

    category: str
    name: str
    points: float | None = None
    rules: list[dict[str, Any]]
    evidence: list[Evidence]
    lead_unit: str
    co_units: list[str] = []
    data_source: str = "manual"


class CatalogueItemPublic(ItemBody):
    code: str


class CatalogueDetail(CataloguePublic):
    items: list[CatalogueItemPublic]


class CompareRow(BaseModel):
    code: str
    change: Literal["added", "removed", "changed"]
    name: str
    points_before: float | None
    points_after: float | None
    fields: list[str]


class CompareReport(BaseModel):
    from_id: int
    to_id: int
    items: list[CompareRow]
    summary: dict[str, int]


class AliasBody(BaseModel):
    alias: str = Field(min_length=1, max_length=64, examples=["市城市管理局"])
    unit_code: str = Field(min_length=1, max_length=16, examples=["U03"])


class QuarterOpen(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "2026Q4", "catalogue_id": 1, "default_due": "2026-12-25"}]}
    )

    id: str = Field(pattern=r"^\d{4}Q[1-4]$", examples=["2026Q4"])
    catalogue_id: int
    default_due: date | None = Field(default=None, description="默认为季度末月的 25 日（设置 due_day）")


class QuarterPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "2026Q4",
                    "catalogue_id": 1,
                    "state": "collecting",
                    "state_label": "收集中",
                    "default_due": "2026-12-25",
                    "opened_at": "2026-10-08T01:00:00Z",
                    "opened_by": "分类办 李敏",
                    "locked_at": None,
                }
            ]
        }
    )

    id: str
    catalogue_id: int
    state: Literal["collecting", "reviewing", "locked"]
    state_label: str
    default_due: date
    opened_at: datetime
    opened_by: str
    locked_at: datetime | None
    tasks: int | None = None
    due_warning: str | None = None


class QuarterList(BaseModel):
    items: list[QuarterPublic]


class QuarterState(BaseModel):
    state: Literal["collecting", "reviewing", "locked"]


class DueBody(BaseModel):
    due_date: date = Field(examples=["2026-12-25"])


class JudgementBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"inputs": {"cases": 2}, "lost_points": None, "note": "督导发现混投混放 2 处"},
                {"inputs": {"achieved": ["政府规章"]}, "lost_points": None, "note": "仅出台政府规章"},
            ]
        }
    )

    inputs: dict[str, Any] | None = Field(
        default=None,
        description="评分依据：met（是否达成）、cases（发现处数）、value（指标值 0-1）、achieved（达成的选项）",
    )
    lost_points: float | None = Field(default=None, ge=0, description="直接认定的失分（优先于评分依据）")
    note: str | None = None


class TaskPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 101,
                    "quarter": "2026Q4",
                    "item_code": "1.2",
                    "category": "体制机制建设",
                    "evidence_code": "e1",
                    "evidence_title": "法规/规章文本",
                    "unit_code": "U02",
                    "county_code": None,
                    "lead": True,
                    "state": "returned",
                    "state_label": "已退回",
                    "due_date": "2026-12-25",
                    "due_warning": None,
                    "overdue": False,
                    "days_to_due": 23,
                    "points": 1.0,
                    "revision": 1,
                    "last_submitted_at": "2026-11-20T03:00:00Z",
                    "approved_at": None,
                    "returned_count": 1,
                    "reviewer_name": "分类办 李敏",
                }
            ]
        }
    )

    id: int
    quarter: str
    item_code: str
    category: str
    evidence_code: str
    evidence_title: str
    unit_code: str
    county_code: str | None
    lead: bool
    state: TaskState
    state_label: str
    due_date: date
    due_warning: str | None
    overdue: bool
    days_to_due: int
    points: float
    revision: int
    last_submitted_at: datetime | None
    approved_at: datetime | None
    returned_count: int
    reviewer_name: str | None


class TaskPage(BaseModel):
    items: list[TaskPublic]
    next_cursor: str | None = None


class TaskList(BaseModel):
    items: list[TaskPublic]


class FilePublic(BaseModel):
    id: int
    name: str
    size: int
    content_type: str
    sha256: str
    uploaded_at: datetime
    url: str


class SubmissionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "task_id": 101,
                    "revision": 2,
                    "effective_date": "2026-11-30",
                    "note": "补充盖章版",
                    "submitted_by": "司法局 王芳",
                    "submitted_at": "2026-12-01T02:00:00Z",
                    "system": False,
                    "files": [
                        {
                            "id": 12,
                            "name": "南昌市生活垃圾管理条例.pdf",
                            "size": 182034,
                            "content_type": "application/pdf",
                            "sha256": "3f2a…",
                            "uploaded_at": "2026-12-01T02:00:00Z",
                            "url": "/files/12",
                        }
                    ],
                }
            ]
        }
    )

    id: int
    task_id: int
    revision: int
    effective_date: date
    note: str | None
    submitted_by: str
    submitted_at: datetime
    system: bool
    files: list[FilePublic]


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any] | None


class TaskDetail(TaskPublic):
    item_name: str | None
    item_points: float | None
    data_source: str = Field(default="manual", description="manual，或登记台账指标（可自动生成佐证材料）")
    rules: list[dict[str, Any]]
    evidence: dict[str, Any] | None
    accepted_kinds: list[str]
    quarter_state: str
    revisions: list[SubmissionPublic]
    history: list[HistoryEntry]


class ReviewBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "approve", "reason": None},
                {"decision": "return", "reason": "缺少盖章页，请补充后重新提交"},
            ]
        }
    )

    decision: Literal["approve", "return", "reopen"]
    reason: str | None = Field(default=None, max_length=2000)


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
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
            ]
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "score": 86.5,
                    "rank": 12,
                    "class_name": "大城市",
                    "class_size": 54,
                    "tier": "第二档",
                    "lost_by_category": {"分类投放": 4.5, "宣传教育": 2.0},
                    "note": "住房城乡建设部 2026 年第三季度通报",
                }
            ]
        }
    )

    score: float = Field(ge=0, le=100)
    rank: int = Field(ge=1)
    class_name: str = Field(min_length=1, max_length=32)
    class_size: int = Field(ge=1)
    tier: str
    lost_by_category: dict[str, float] = {}
    forecast_score: float | None = None
    note: str | None = None


class ResultPublic(ResultBody):
    quarter: str
    entered_by: str
    entered_at: datetime


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
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
            ]
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
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
            ]
        }
    )

    period: str
    quarters: list[str]
    weights: dict[str, float] = Field(description="实际使用的权重（缺少的部分按比例分给其余部分）")
    supervision_available: bool
    items: list[RankingRow]
    computed_at: datetime
