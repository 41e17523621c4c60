"""The error report of an import: every error by row and column, as an XLSX file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from services.common.tabular.base import ErrorEntry
from services.common.tabular.export import _saved, _text_cell

REPORT_HEADERS = ("行号", "列", "值", "错误说明")


def sheet_message(message: str, labels: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """An API sentence (``county_code（所属县区代码）：只能…``) as a person reading the sheet needs it:
    the leading field name goes (the report's 列 already names the column), and a field named inside
    the sentence becomes its column title. ``labels``: field → Chinese name as the API messages
    write it; ``headers``: field → the sheet's column title."""
    for field, name in labels.items():
        named = f"{field}（{name}）"
        if named not in message:
            continue
        message = message.removeprefix(f"{named}：").replace(named, headers.get(field, name))
    return message


def write_error_report(errors: Iterable[ErrorEntry]) -> bytes:
    """An XLSX listing import errors: 行号, 列, 值, 错误说明 (values as text, never as formulas)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误明细")
    for index, width in enumerate((8, 20, 30, 60), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.append([_text_cell(ws, h, header=True) for h in REPORT_HEADERS])
    for number, header, value, message in errors:
        ws.append([number, _text_cell(ws, header), _text_cell(ws, value, text_format=True), _text_cell(ws, message)])
    return b"".join(_saved(wb))
