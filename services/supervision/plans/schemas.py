"""API shapes of teams, checklist templates and plans (督导计划)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.supervision.schemas import distinct, each, one_of
from services.supervision.vocab import TARGET_KINDS, FindingCategory, ItemType, TargetSource

_CODE = r"^[A-Za-z0-9_-]{1,16}$"


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=_CODE, description="督导组编号（网关用户的 team_code）", examples=["T01"])
    name: str = Field(min_length=1, max_length=64, examples=["第一督导组"])
    leader: str = Field(min_length=1, max_length=64, description="组长（网关用户名）", examples=["zhangsan"])
    members: Annotated[list[str], distinct("组员不能重复")] = Field(
        min_length=1, description="组员：角色为督导员的网关用户名", examples=[["inspector"]]
    )
    counties: Annotated[list[str], each(lambda c: len(c) == 6 and c.isdigit(), "县区代码应为 6 位数字：{}")] = Field(
        default=[], description="负责的县区代码", examples=[["360102", "360103"]]
    )


class TeamPublic(BaseModel):
    code: str
    name: str
    leader: str
    members: list[str]
    counties: list[str]
    created_at: datetime
    updated_at: datetime


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", examples=["i1"])
    label: str = Field(min_length=1, max_length=200, examples=["四分类桶组齐全、标识规范"])
    type: ItemType
    max: int | None = Field(default=None, ge=1, le=100, description="评分项的满分（0..max）")
    weight: float = Field(default=1.0, ge=0, le=100)
    required: bool = True
    category: FindingCategory | None = Field(default=None, description="不合格时产生的问题类别")
    pass_min: float | None = Field(
        default=None, description="评分/计数项合格的最低值（评分默认满分的 60%，计数默认不限）"
    )
    pass_max: float | None = Field(default=None, description="计数项合格的最高值（如满溢桶数最多 0 个）")

    @model_validator(mode="after")
    def _score_max(self) -> ItemIn:
        if self.type == "score" and self.max is None:
            raise ValueError("评分项须给出满分 max")
        if self.type != "score" and self.max is not None:
            raise ValueError("只有评分项有满分 max")
        return self


class ChecklistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="模板编号；同一编号的新版本递增", examples=["RES"])
    name: str = Field(min_length=1, max_length=128, examples=["居民小区督导检查表"])
    target_kind: Annotated[str, one_of(TARGET_KINDS, "检查对象类型不在允许范围内")] = Field(
        description="检查对象类型：site:<类型>、facility:<类型>、vehicle、unit、county"
    )
    items: Annotated[list[ItemIn], distinct("检查项编号不能重复", key=lambda i: i.id)] = Field(min_length=1)


class ItemPublic(BaseModel):
    id: str
    label: str
    type: ItemType
    max: int | None = None
    weight: float
    required: bool
    category: str | None = None
    pass_min: float | None = None
    pass_max: float | None = None


class ChecklistPublic(BaseModel):
    id: int
    code: str
    version: int
    name: str
    target_kind: str
    target_kind_name: str
    state: str
    example: bool
    items: list[ItemPublic]
    created_at: datetime
    published_at: datetime | None


class Selection(BaseModel):
    """How targets are chosen from the registry."""

    model_config = ConfigDict(extra="forbid")

    source: TargetSource = Field(description="site 管理对象、facility 设施、vehicle 车辆、unit 成员单位、county 县区")
    counties: list[str] = Field(default=[], description="县区代码；空表示督导组负责的县区")
    kinds: list[str] = Field(default=[], description="管理对象/设施类型（registry 的 kind）")
    category: str | None = Field(default=None, description="设施/车辆的垃圾类别")
    sample_per_county: int | None = Field(default=None, ge=1, le=1000, description="每县区随机抽取 N 个；空表示全部")
    seed: int | None = Field(default=None, description="随机种子；不给时自动生成并保存（相同种子抽样相同）")


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, examples=["2026年第四季度居民小区督导"])
    starts_on: date = Field(examples=["2026-09-28"])
    ends_on: date = Field(examples=["2026-10-11"])
    team_code: str = Field(examples=["T01"])
    checklist_id: int = Field(description="已发布的检查表版本")
    selection: Selection
    per_inspector_per_day: int = Field(default=4, ge=1, le=50, description="每名督导员每个工作日的检查数")

    @model_validator(mode="after")
    def _window(self) -> PlanIn:
        if self.ends_on < self.starts_on:
            raise ValueError("结束日期不能早于开始日期")
        if (self.ends_on - self.starts_on).days > 366:
            raise ValueError("督导窗口不能超过一年")
        return self


class PlanPublic(BaseModel):
    id: int
    name: str
    starts_on: date
    ends_on: date
    team_code: str
    checklist_id: int
    selection: dict[str, Any]
    per_inspector_per_day: int
    state: str
    target_count: int = 0
    inspected_count: int = 0
    created_by: str
    created_at: datetime


class PlanDetail(PlanPublic):
    checklist: ChecklistPublic
    warnings: list[str] = []


class TargetPublic(BaseModel):
    id: int
    target_code: str
    kind: str
    name: str
    county_code: str
    lat: float | None = None
    lng: float | None = None
    scheduled_on: date
    inspector: str
    inspection: str | None = Field(default=None, description="已提交检查的 client_id")


class TargetPage(BaseModel):
    items: list[TargetPublic]
    next_cursor: str | None = None


class DayList(BaseModel):
    inspector: str
    day: date
    items: list[TargetPublic]
