"""What ``/imports`` answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ImportRowErrorPublic(BaseModel):
    row: int = Field(description="行号（表头为第 1 行）；0 表示整个文件")
    column: str = Field(description="列名（中文表头）")
    value: str | None
    message: str


class ImportJobPublic(BaseModel):
    id: str
    kind: Literal["sites", "facilities", "vehicles"]
    filename: str
    status: Literal["validating", "invalid", "ready", "writing", "done", "failed"]
    total_rows: int | None = Field(description="数据行数（校验完成前为估计值）")
    processed_rows: int = Field(description="已校验（writing 时为已写入）的行数")
    error_count: int = Field(description="错误总数（errors 只列前 200 条，完整列表见 /report）")
    errors: list[ImportRowErrorPublic]
    created_count: int
    first_code: str | None
    last_code: str | None
    message: str = Field(description="中文说明")
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ImportJobList(BaseModel):
    items: list[ImportJobPublic]
