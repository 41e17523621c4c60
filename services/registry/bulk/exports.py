"""Exports: the records a list would show, streamed as XLSX or CSV with the import template's
columns (drop-down columns as their Chinese labels, so an export can be edited and imported),
after the unified number and before the status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Engine

from services.common.tabular import Column
from services.registry import repository as repo
from services.registry.bulk.columns import Spec, export_row
from services.registry.service import RecordKind

PAGE = 1000
STATUS_NAMES = {"active": "在用", "decommissioned": "已注销"}


def export_columns(spec: Spec) -> list[Column]:
    return [
        Column("code", "统一编号", text=True),
        *spec.columns,
        Column("status", "状态"),
        Column("created_at", "登记时间"),
    ]


def records(
    engine: Engine,
    spec: Spec,
    kind: RecordKind,
    *,
    filters: dict[str, str | None],
    q: str | None,
) -> Iterator[dict[str, Any]]:
    """Every matching record in code order, page by page on the list's keyset (flat memory); one
    connection held until the download is sent."""
    cursor: str | None = None
    with engine.connect() as conn:
        while True:
            items, cursor = repo.list_records(conn, kind.table, cursor=cursor, limit=PAGE, **kind.matching(filters, q))
            for item in items:
                row = export_row(spec, item)
                row["status"] = STATUS_NAMES.get(row["status"], row["status"])
                yield row
            if cursor is None:
                return
