"""API shapes of inspections (the tablet's JSON, ODK ``instanceID`` rule)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from services.supervision.schemas import distinct, each

_ID = r"^[A-Za-z0-9_.-]{1,64}$"


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(max_length=40, examples=["quality"])
    value: bool | float | str | None = Field(
        default=None, description="是/否项 true/false；评分项 0..max；计数项非负整数；文字项文本；拍照项可空"
    )
    note: str | None = Field(default=None, max_length=2000)
    photo_ids: Annotated[
        list[str],
        each(lambda pid: re.fullmatch(_ID, pid) is not None, "照片编号格式不正确：{}"),
        distinct("照片编号不能重复"),
    ] = Field(default=[], description="平板生成的照片编号，照片另行上传")


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: int
    target_code: str = Field(max_length=40)
    answers: Annotated[list[Answer], distinct("同一检查项只能有一个结果", key=lambda a: a.item_id)] = Field(
        default=[], max_length=200
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)
    taken_at: datetime | None = None
    replaces: str | None = Field(default=None, pattern=_ID, description="更正已提交的检查时，被更正检查的 client_id")


class Taken(BaseModel):
    """Where and when the tablet took it, and when the service received it."""

    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    taken_at: datetime | None = None
    received_at: datetime


class PhotoPublic(Taken):
    photo_id: str
    sha256: str
    size: int
    content_type: str
    url: str
    thumbnail_url: str | None = None


class InspectionPublic(Taken):
    client_id: str
    plan_id: int
    target_code: str
    county_code: str
    inspector: str
    answers: list[dict[str, Any]]
    state: str = Field(description="draft 未提交，submitted 已提交（不再修改）")
    submitted_at: datetime | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    passed: bool | None = None
    score: float | None = None
    photos: list[PhotoPublic] = []
    missing_photos: list[str] = []
    findings: list[int] = []


class InspectionPage(BaseModel):
    items: list[InspectionPublic]
    next_cursor: str | None = None


INSPECTION_EXAMPLE = {
    "plan_id": 1,
    "target_code": "360102-S000001",
    "answers": [
        {"item_id": "bins", "value": True},
        {"item_id": "quality", "value": 5, "note": "厨余桶内有塑料袋", "photo_ids": ["p-1a2b"]},
        {"item_id": "overflow", "value": 1},
        {"item_id": "photo", "photo_ids": ["p-3c4d"]},
    ],
    "latitude": 28.6851,
    "longitude": 115.9032,
    "accuracy_m": 12.5,
    "taken_at": "2026-12-02T09:31:00+08:00",
}
