"""Helpers of the import/export tests: real files in the encodings and formats people upload."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook

from services.common.config import data_dir

FACILITY_HEADERS = [
    "所属县区代码",
    "设施类型",
    "垃圾类别",
    "名称",
    "街道（乡镇）代码",
    "社区（村）代码",
    "纬度",
    "经度",
    "县区系统编号",
]
VEHICLE_HEADERS = ["所属县区代码", "车牌号", "垃圾类别", "能源类型", "核定载重（吨）", "运营单位", "县区系统编号"]
SITE_HEADERS = [
    "所属县区代码",
    "管理对象类型",
    "名称",
    "街道（乡镇）代码",
    "社区（村）代码",
    "已开展分类投放",
    "开始分类日期",
    "已分类收集",
    "已分类运输",
]


def csv_file(headers: Sequence[str], rows: Sequence[Sequence[object]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_file(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_xlsx(data: bytes) -> list[list[object]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    return rows


def facility_row(i: int, county: str = "360102", **over: object) -> list[object]:
    street = {"360102": "360102001", "360103": "360103001"}.get(county, "360102001")
    row = {
        "county": county,
        "kind": "四分类桶组",
        "category": "",
        "name": f"测试桶组{i}号",
        "street": street,
        "community": street + "001",
        "lat": 28.68,
        "lng": 115.9,
        "external": f"EXT-{county}-{i}",
    }
    row.update(over)
    return list(row.values())


def stored_uploads() -> list[Path]:
    """The uploads kept by the default (local) file storage, under ``<data dir>/files``."""
    root = data_dir() / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
