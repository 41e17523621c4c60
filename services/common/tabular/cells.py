"""One cell as text: what a person sees in the sheet (codes without ".0", dates as YYYY-MM-DD), the
cleaning of stray characters, header matching, sizes for messages. Used by reading, templates and export."""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime, time, timedelta

from openpyxl.utils.datetime import from_excel

from services.common.tabular.base import _DATE, _FORMULA_START, _HEADER_NOISE, _STRIP_CHARS, MIB, Column


def _norm_header(text: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _clean(text: str) -> str | None:
    text = text.strip().strip(_STRIP_CHARS).strip()
    return text or None


def _clean_csv(text: str) -> str | None:
    value = _clean(text)
    # Undo the apostrophe stream_csv puts before values Excel would take for a formula.
    if value is not None and len(value) > 1 and value[0] == "'" and value[1] in _FORMULA_START:
        return value[1:]
    return value


def _cell_text(value: object) -> str | None:
    """An XLSX cell value as the person sees it: codes without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return _clean(str(value))


def _value_text(value: object, column: Column) -> str | None:
    """A cell (or the example) as the text of one column's value."""
    if not column.date:
        return _cell_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2_958_466:
        # A date typed into a cell that is not formatted as a date: Excel's serial day number.
        serial = from_excel(value)
        if isinstance(serial, datetime):
            return serial.date().isoformat()
    text = _cell_text(value)
    if text is not None and (match := _DATE.fullmatch(text)):
        year, month, day = (int(part) for part in match.groups() if part is not None)
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return text
    return text


def _number_text(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    # Excel keeps 15 significant digits; more would show float noise such as 0.30000000000000004.
    return format(value, ".15g")


def _size_text(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MB"
    if size >= 1024:
        return f"{size / MIB:.1f} MB" if size >= MIB else f"{size // 1024} KB"
    return f"{size} 字节"
