"""Query parameters the registry's record lists share: county, status, text search, paging, sorts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

_SORT_HELP = (
    "排序：code 统一编号升序（默认），-code 统一编号降序，-updated_at 最近更新在前{name}。"
    "同值按统一编号排列；next_cursor 只能用于同一排序，换排序须从第一页开始"
)
RecordSort = Annotated[
    Literal["code", "-code", "-updated_at", "name"],
    Query(description=_SORT_HELP.format(name="，name 按名称"), examples=["-updated_at"]),
]
VehicleSort = Annotated[
    Literal["code", "-code", "-updated_at"],
    Query(description=_SORT_HELP.format(name=""), examples=["-updated_at"]),
]

CountyQuery = Annotated[str | None, Query(description="县区代码", examples=["360102"])]
StatusQuery = Annotated[str | None, Query(pattern="^(active|decommissioned)$", description="状态")]
NameSearch = Annotated[str | None, Query(max_length=64, description="统一编号的开头，或名称中的文字")]
CursorQuery = Annotated[
    str | None,
    Query(
        description="上一页返回的 next_cursor，原样传回（不透明的令牌）；无效或与当前排序不符时答 422（cursor）",
        json_schema_extra={"pattern": "^[A-Za-z0-9_-]*$"},  # base64url, unpadded
    ),
]
LimitQuery = Annotated[int, Query(ge=1, le=500)]
StreetQuery = Annotated[
    str | None, Query(pattern=r"^\d{9}$", description="街道（乡镇）代码（9 位）", examples=["360102001"])
]
CountQuery = Annotated[
    bool,
    Query(description="同时返回符合条件的记录数 total；超过 10,000 条时可能是估计值（total_estimated 为 true）"),
]
ImportJobQuery = Annotated[
    str | None,
    Query(max_length=64, description="只列出这次导入登记的记录（导入任务 id，任务须已完成）"),
]
