"""API shapes of reports (督导检查报告) and circulars (通报)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=200, description="默认为“<轮次名称>督导检查报告”")


class ReportEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=20000, description="报告的总体情况（发布前由分类办修改）")
    title: str | None = Field(default=None, max_length=200)


class ReportPublic(BaseModel):
    id: int
    plan_id: int
    title: str
    state: str = Field(description="building 生成中，ready 待发布，published 已发布，failed 生成失败")
    summary: str
    figures: dict[str, Any] | None = None
    pdf_url: str | None = None
    html_url: str | None = None
    job_id: str | None = None
    error: str | None = None
    created_by: str
    created_at: datetime
    built_at: datetime | None = None
    published_at: datetime | None = None


class ReportPage(BaseModel):
    items: list[ReportPublic]
    next_cursor: str | None = None


class CircularIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=200, description="默认为“关于<轮次名称>督导检查情况的通报”")
    number: str | None = Field(
        default=None, max_length=64, description="文号，默认按年份顺序编号，如 洪分类办〔2026〕12号"
    )
    addressees: list[str] = Field(default=["各县（区）人民政府", "市垃圾分类工作领导小组各成员单位"], min_length=1)
    body_html: str | None = Field(default=None, max_length=100000, description="正文（HTML）；默认由报告生成")
    signer: str | None = Field(default=None, max_length=128, description="发文机关署名，默认为分类办")
    on_date: date | None = Field(default=None, description="成文日期，默认今天")
    cc: list[str] = Field(default=["市垃圾分类工作领导小组"], description="抄送")


class CircularPublic(BaseModel):
    id: int
    report_id: int
    number: str
    title: str
    addressees: list[str]
    body_html: str
    signer: str
    on_date: date
    cc: list[str]
    state: str
    pdf_url: str | None = None
    created_at: datetime
    published_at: datetime | None = None


class CircularPage(BaseModel):
    items: list[CircularPublic]
    next_cursor: str | None = None
