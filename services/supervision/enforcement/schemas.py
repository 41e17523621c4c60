"""API shapes of enforcement records (执法检查) and the quarterly summary."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.supervision.vocab import Department, EnforcementAction


class EnforcementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: Department = Field(description="执法部门")
    on_date: date = Field(examples=["2026-11-18"])
    site_code: str | None = Field(default=None, max_length=40, description="基础台账中的管理对象编号")
    business_name: str | None = Field(default=None, max_length=128, description="不在台账中的经营者名称")
    county_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    finding: str = Field(min_length=1, max_length=4000, examples=["店铺门前生活垃圾混投混放"])
    action: EnforcementAction = Field(description="order 责令改正，warning 警告，fine 罚款")
    amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2, description="罚款金额（元）")
    case_number: str = Field(min_length=1, max_length=64, examples=["洪城管罚〔2026〕118号"])

    @model_validator(mode="after")
    def _rules(self) -> EnforcementIn:
        if not self.site_code and not self.business_name:
            raise ValueError("须给出管理对象编号或经营者名称")
        if self.action == "fine" and self.amount is None:
            raise ValueError("罚款须填写金额 amount")
        if self.action != "fine" and self.amount is not None:
            raise ValueError("只有罚款需要填写金额")
        return self


class EnforcementPublic(BaseModel):
    id: int
    department: str
    department_name: str
    on_date: date
    site_code: str | None
    business_name: str | None
    county_code: str | None
    finding: str
    action: str
    action_name: str
    amount: float | None
    case_number: str
    unit_code: str | None
    photos: list[dict[str, object]] = []
    created_by: str
    created_at: datetime
    updated_at: datetime


class EnforcementPage(BaseModel):
    items: list[EnforcementPublic]
    next_cursor: str | None = None


class DepartmentSummary(BaseModel):
    department: str
    department_name: str
    records: int
    orders: int
    warnings: int
    fines: int
    fine_amount: float


class EnforcementSummary(BaseModel):
    quarter: str
    starts_on: date
    ends_on: date
    departments: list[DepartmentSummary]


ENFORCEMENT_EXAMPLE = {
    "department": "urban_management",
    "on_date": "2026-11-18",
    "business_name": "滨江路 12 号餐饮店",
    "county_code": "360102",
    "finding": "餐厨垃圾与其他垃圾混投",
    "action": "fine",
    "amount": "500.00",
    "case_number": "洪城管罚〔2026〕118号",
}
