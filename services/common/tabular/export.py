"""Exports: rows streamed out as XLSX or CSV with the template's columns, never formulas."""

from __future__ import annotations

import codecs
import csv
import io
import math
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from services.common.clock import SHANGHAI, as_utc
from services.common.tabular.base import (
    _DIGITS,
    _FORMULA_START,
    _PLAIN_NUMBER,
    CHUNK_SIZE,
    DATE_FORMAT,
    TEXT_FORMAT,
    Column,
)
from services.common.tabular.cells import _number_text
from services.common.tabular.reading import _check_columns
from services.common.tabular.templates import _HEADER_FILL, _HEADER_FONT, _auto_width, _safe_text, _sheet_title


def _local(value: datetime) -> datetime:
    """A naive Asia/Shanghai time for a cell (naive input is UTC, as the database gives it back)."""
    return as_utc(value).astimezone(SHANGHAI).replace(tzinfo=None)


def _export_value(value: object, column: Column) -> object:
    """A record's value as a cell value: text for text columns, a date for date columns, numbers
    and dates kept as such, everything else as text."""
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return None
    if column.date and isinstance(value, datetime):
        return _local(value).date()
    if column.text or isinstance(value, str):
        return _export_text(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        # Excel keeps 15 significant digits: a longer integer is only safe as text.
        return value if abs(value) < 10**15 else str(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, date | time):
        return value
    return str(value)


def _export_text(value: object) -> str:
    """A value as the text a CSV cell or a text column holds."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _local(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def stream_xlsx(
    columns: Sequence[Column], rows: Iterable[Mapping[str, object]], *, sheet_title: str
) -> Iterator[bytes]:
    """Export rows as an XLSX with the template's columns (headers without the "*"), in flat memory.

    openpyxl's write-only mode streams each row to a temporary file and writes strings inline (no
    shared-string table growing in memory); the finished workbook goes to another temporary file (a
    zip needs a seekable target) and is yielded in 1 MiB chunks at the end, so nothing is yielded
    until every row is written. ``rows`` is consumed while iterating: keep the database session open
    until the response is sent. Text columns are text cells ("@"); strings are never taken for
    formulas; datetimes are shown in Asia/Shanghai (naive ones are taken as UTC).
    """
    _check_columns(columns)
    return _stream_xlsx(columns, rows, sheet_title)


def _stream_xlsx(columns: Sequence[Column], rows: Iterable[Mapping[str, object]], sheet_title: str) -> Iterator[bytes]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet_title))
    for index, column in enumerate(columns, start=1):
        dimension = ws.column_dimensions[get_column_letter(index)]
        dimension.width = column.width or _auto_width(column)
        if column.text:
            dimension.number_format = TEXT_FORMAT
        elif column.date:
            dimension.number_format = DATE_FORMAT
    ws.freeze_panes = "A2"
    ws.append([_text_cell(ws, c.header, header=True) for c in columns])
    for record in rows:
        line: list[object] = []
        for column in columns:
            value = _export_value(record.get(column.key), column)
            if column.text and value is not None:
                line.append(_text_cell(ws, str(value), text_format=True))
            elif isinstance(value, str):
                value = _safe_text(value)
                line.append(_text_cell(ws, value) if value.startswith("=") else value)
            else:
                line.append(value)
        ws.append(line)
    yield from _saved(wb)


def _text_cell(ws: object, value: str | None, *, header: bool = False, text_format: bool = False) -> WriteOnlyCell:
    """A string cell that stays a string even when it starts with "=" (no formula injection)."""
    cell = WriteOnlyCell(ws, value=_safe_text(value) if value is not None else None)
    if value is not None:
        cell.data_type = "s"
    if header:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    if text_format:
        cell.number_format = TEXT_FORMAT
    return cell


def _saved(wb: Workbook) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as out:
        wb.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK_SIZE):
            yield chunk


def stream_csv(
    columns: Sequence[Column], rows: Iterable[Mapping[str, object]], *, excel_text: bool = True
) -> Iterator[bytes]:
    """Export rows as CSV in UTF-8 with a BOM (so Excel opens the Chinese right), in ~64 KiB chunks.

    Values Excel would run as formulas get a leading apostrophe (``read_table`` removes it again). With
    ``excel_text``, digit-only values of text columns get a leading tab so Excel keeps them as text
    (no scientific notation, no lost leading zeros); ``read_table`` strips it.
    """
    _check_columns(columns)
    return _stream_csv(columns, rows, excel_text)


def _stream_csv(columns: Sequence[Column], rows: Iterable[Mapping[str, object]], excel_text: bool) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in columns])
    yield codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for record in rows:
        line: list[str] = []
        for column in columns:
            value = record.get(column.key)
            if value is None:
                line.append("")
                continue
            if column.date and isinstance(value, datetime):
                value = _local(value).date()
            text = _export_text(value).replace("\x00", "")
            if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
                text = "'" + text
            elif excel_text and column.text and _DIGITS.fullmatch(text):
                text = "\t" + text
            line.append(text)
        writer.writerow(line)
        if buffer.tell() >= 64 * 1024:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")
