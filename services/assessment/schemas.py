"""API in and out of the assessment service, with the examples OpenAPI shows; field labels in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.common.schema_examples import examples

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
    model_config = examples(
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

    model_config = examples(
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
    model_config = examples({"id": "2026Q4", "catalogue_id": 1, "default_due": "2026-12-25"})

    id: str = Field(pattern=r"^\d{4}Q[1-4]$", examples=["2026Q4"])
    catalogue_id: int
    default_due: date | None = Field(default=None, description="默认为季度末月的 25 日（设置 due_day）")


class QuarterPublic(BaseModel):
    model_config = examples(
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
    model_config = examples(
        {"inputs": {"cases": 2}, "lost_points": None, "note": "督导发现混投混放 2 处"},
        {"inputs": {"achieved": ["政府规章"]}, "lost_points": None, "note": "仅出台政府规章"},
    )

    inputs: dict[str, Any] | None = Field(
        default=None,
        description="评分依据：met（是否达成）、cases（发现处数）、value（指标值 0-1）、achieved（达成的选项）",
    )
    lost_points: float | None = Field(default=None, ge=0, description="直接认定的失分（优先于评分依据）")
    note: str | None = None


class TaskPublic(BaseModel):
    model_config = examples(
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
    model_config = examples(
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
    model_config = examples(
        {"decision": "approve", "reason": None}, {"decision": "return", "reason": "缺少盖章页，请补充后重新提交"}
    )

    decision: Literal["approve", "return", "reopen"]
    reason: str | None = Field(default=None, max_length=2000)


# Scores, results, rankings, the board and the archive status: ``services.assessment.score_schemas``.
