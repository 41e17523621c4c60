"""API shapes of findings and rectification orders (整改通知)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.supervision.vocab import FindingCategory, RectAction, Severity


class FindingIn(BaseModel):
    """A finding an inspector adds freely (outside a checklist item)."""

    model_config = ConfigDict(extra="forbid")

    plan_id: int | None = Field(default=None, description="所属督导计划（可空）")
    target_code: str = Field(max_length=40, examples=["360102-S000001"])
    target_name: str = Field(default="", max_length=128)
    county_code: str = Field(pattern=r"^\d{6}$", examples=["360102"])
    category: FindingCategory
    severity: Severity = "minor"
    description: str = Field(min_length=1, max_length=4000, examples=["小区东门投放点厨余桶满溢，周边散落垃圾"])
    inspection: str | None = Field(default=None, description="照片所属检查的 client_id")
    photo_ids: list[str] = Field(default=[], description="该检查已上传照片的编号")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    party_kind: str = Field(
        default="county", pattern="^(county|unit)$", description="责任主体：county 县区，unit 成员单位"
    )
    party_code: str | None = Field(default=None, description="责任主体编号；县区默认为对象所在县区")
    allow_duplicate: bool = Field(default=False, description="已知有疑似重复的未结问题，仍要新建")

    @model_validator(mode="after")
    def _party(self) -> FindingIn:
        if self.party_kind == "unit" and not self.party_code:
            raise ValueError("责任主体为成员单位时须给出 party_code")
        return self


class FindingPublic(BaseModel):
    id: int
    plan_id: int | None
    inspection_id: int | None
    target_code: str
    target_name: str
    county_code: str
    category: str
    category_name: str
    severity: str
    description: str
    latitude: float | None
    longitude: float | None
    party_kind: str
    party_code: str
    state: str
    rectification_id: int | None = None
    created_by: str
    created_at: datetime


class FindingPage(BaseModel):
    items: list[FindingPublic]
    next_cursor: str | None = None


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: RectAction = Field(description="accept 签收，submit_fix 提交整改，verify 销号，reject 驳回")
    reason: str | None = Field(default=None, max_length=4000, description="说明；提交整改、销号与驳回必填")
    photo_ids: list[str] = Field(
        default=[], description="提交整改时的整改后照片（先用 PUT .../photos/{photo_id} 上传）"
    )


class RectificationPublic(BaseModel):
    id: int
    finding_id: int
    plan_id: int | None
    target_code: str
    target_name: str = Field(default="", description="检查对象名称（问题记录时的名称）")
    county_code: str
    category: str
    category_name: str
    severity: str
    party_kind: str
    party_code: str
    state: str
    state_name: str
    issued_on: date
    deadline: date
    overdue: bool
    escalation_level: int
    escalated_to: list[str]
    fix_note: str | None
    last_reason: str | None
    rejections: int
    verified_at: datetime | None
    verified_by: str | None
    allowed_actions: list[str] = []
    created_at: datetime
    updated_at: datetime


class RectificationPage(BaseModel):
    items: list[RectificationPublic]
    next_cursor: str | None = None
