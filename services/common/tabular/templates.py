"""Import templates: the header, drop-down lists, text-typed code columns and an explanation sheet."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.common.tabular.base import (
    _ISO_DATE,
    _PLAIN_NUMBER,
    _SHEET_TITLE_BAD,
    CHOICES_SHEET,
    DATE_FORMAT,
    EXCEL_MAX_CELL_CHARS,
    EXCEL_MAX_ROW,
    EXPLANATION_SHEET,
    TEXT_FORMAT,
    Column,
)
from services.common.tabular.cells import _value_text
from services.common.tabular.reading import _check_columns

# --------------------------------------------------------------------------------------------------
# Writing

_HEADER_FONT = Font(bold=True)
_REQUIRED_FONT = Font(bold=True, color="FFC00000")
_HEADER_FILL = PatternFill("solid", fgColor="FFF2F2F2")
_EXAMPLE_FONT = Font(italic=True, color="FF808080")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="top", wrap_text=True)


def write_template(columns: Sequence[Column], *, sheet_title: str, example_rows: int = 1) -> bytes:
    """An import template: marked, frozen header; drop-down lists; text code columns; a "说明" sheet.

    Code columns get the text format ("@") as the column style, which Excel, WPS and LibreOffice apply
    to every cell typed into the column (rows 2 to 1,048,576) without writing empty cells.
    """
    _check_columns(columns)
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.title = _sheet_title(sheet_title, avoid=(EXPLANATION_SHEET, CHOICES_SHEET))
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index, value=("*" if column.required else "") + column.header)
        cell.font = _REQUIRED_FONT if column.required else _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _CENTER
        dimension = ws.column_dimensions[letter]
        dimension.width = column.width or _auto_width(column)
        if column.text:
            dimension.number_format = TEXT_FORMAT
        elif column.date:
            dimension.number_format = DATE_FORMAT
        for offset in range(example_rows):
            example = ws.cell(row=2 + offset, column=index)
            _set_template_value(example, column)
            example.font = _EXAMPLE_FONT
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 24
    _add_explanation(wb, columns, example_rows)
    _add_drop_downs(wb, ws, columns)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _set_template_value(cell: Cell, column: Column) -> None:
    if column.text:
        cell.number_format = TEXT_FORMAT
    elif column.date:
        cell.number_format = DATE_FORMAT
    example = _value_text(column.example, column)
    if example is None:
        return
    if column.date and _ISO_DATE.fullmatch(example):
        cell.value = date.fromisoformat(example)
    elif not column.text and _PLAIN_NUMBER.fullmatch(example):
        cell.value = float(example) if "." in example else int(example)
    else:
        cell.value = _safe_text(example)
        cell.data_type = "s"


def _add_drop_downs(wb: Workbook, ws: Worksheet, columns: Sequence[Column]) -> None:
    lists = None
    list_column = 0
    for index, column in enumerate(columns, start=1):
        if not column.choices:
            continue
        choices = [_safe_text(c) for c in column.choices]
        inline = ",".join(choices)
        if len(inline) <= 250 and not any("," in c or '"' in c for c in choices):
            formula = f'"{inline}"'
        else:
            # Excel caps an inline list at 255 characters: long lists live on a hidden sheet.
            if lists is None:
                lists = wb.create_sheet(CHOICES_SHEET)
                lists.sheet_state = "hidden"
            list_column += 1
            letter = get_column_letter(list_column)
            lists.cell(row=1, column=list_column, value=column.header)
            for offset, choice in enumerate(choices, start=2):
                lists.cell(row=offset, column=list_column, value=choice).data_type = "s"
            formula = f"'{CHOICES_SHEET}'!${letter}$2:${letter}${len(choices) + 1}"
        validation = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            errorTitle="输入有误",
            error=f"请从下拉列表中选择“{column.header}”"[:225],
            showInputMessage=bool(column.note),
            promptTitle=column.header[:32],
            prompt=column.note[:255] or None,
        )
        letter = get_column_letter(index)
        validation.add(f"{letter}2:{letter}{EXCEL_MAX_ROW}")
        ws.add_data_validation(validation)


def _add_explanation(wb: Workbook, columns: Sequence[Column], example_rows: int) -> None:
    sheet = wb.create_sheet(EXPLANATION_SHEET)
    headers = ["列名", "字段名", "是否必填", "格式", "可选值", "示例", "说明"]
    for index, (title, width) in enumerate(zip(headers, (18, 18, 10, 22, 40, 20, 40), strict=True), start=1):
        cell = sheet.cell(row=1, column=index, value=title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = _CENTER
        sheet.column_dimensions[get_column_letter(index)].width = width
    for number, column in enumerate(columns, start=2):
        if column.text:
            kind = "文本（保留前导零和全部数字）"
        elif column.date:
            kind = "日期，如 2024-01-05"
        elif column.choices:
            kind = "从下拉列表中选择"
        else:
            kind = "文本或数字"
        choices = ""
        if column.choices:
            shown = list(column.choices[:50])
            choices = "、".join(shown) + (
                f" 等 {len(column.choices)} 项，见下拉列表" if len(column.choices) > 50 else ""
            )
        values = [
            column.header,
            column.key,
            "是" if column.required else "否",
            kind,
            choices,
            column.example,
            column.note,
        ]
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=number, column=index, value=_safe_text(value) or None)
            cell.data_type = "s"
            cell.alignment = _WRAP
    notes = [
        "填写须知：",
        "1. 带 * 的列为必填项；请勿修改第 1 行的列名。列的顺序可以调整，不需要的选填列可以删除。",
        "2. 有下拉列表的列请从列表中选择。",
        "3. 编码、证件号等代码类列已设为文本格式，请勿改为数值，以免丢失开头的 0 或末尾的数字。",
        "4. 也可以上传 CSV 文件（UTF-8 或 GBK/GB18030 编码），第 1 行为列名，与本模板一致即可。",
    ]
    if example_rows:
        notes.insert(2, "   第 2 行为示例（灰色斜体），可直接覆盖；未修改的示例行不会被导入。")
    start = len(columns) + 3
    for offset, note in enumerate(notes):
        cell = sheet.cell(row=start + offset, column=1, value=note)
        if offset == 0:
            cell.font = _HEADER_FONT
    sheet.freeze_panes = "A2"


def _auto_width(column: Column) -> float:
    texts = ["*" + column.header, column.example, *(column.choices or [])[:200]]
    return float(min(max(8, *(_display_width(t) for t in texts)) + 2, 50))


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_title(title: str, *, avoid: Sequence[str] = ()) -> str:
    clean = _SHEET_TITLE_BAD.sub("_", title).strip("'")[:31] or "Sheet1"
    return "数据" if clean in avoid else clean


def _safe_text(value: str) -> str:
    """Text an XLSX can hold: no control characters, at most the 32,767 characters of a cell."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:EXCEL_MAX_CELL_CHARS]
