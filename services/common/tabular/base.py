"""What the spreadsheet modules share: limits, messages, columns, rows and their errors."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Literal, Protocol

from services.common.errors import InvalidInput

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_BYTES = 50 * MIB
# An XLSX is a zip: what it may unpack to in total, and how far one big entry may be compressed.
DEFAULT_MAX_UNCOMPRESSED = 256 * MIB
MAX_RATIO = 100
RATIO_CHECK_FROM = 8 * MIB
MAX_ZIP_ENTRIES = 10_000
# An XLSX row or column number past these is refused before anything is read: openpyxl fills the gap up
# to a declared row (or column) with empty cells, so `<row r="20000001">` would cost seconds per file.
# Rows: the row limit plus this many (blank or title) rows; columns: far more than any template has.
SPARE_ROWS = 1_000
MAX_COLUMNS = 1_000

EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_CELL_CHARS = 32_767
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
EXPLANATION_SHEET = "说明"
CHOICES_SHEET = "下拉选项"

CHUNK_SIZE = MIB
SNIFF_SIZE = 64 * 1024
SPOOL_SIZE = 8 * MIB


def spool(data: IO[bytes], max_bytes: int, too_big: Exception) -> IO[bytes]:
    """The rest of ``data`` copied into a temporary file (in memory up to ``SPOOL_SIZE``), at position 0,
    for a stream that cannot seek; ``too_big`` is raised once more than ``max_bytes`` came. The caller
    closes the file."""
    copy: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)  # noqa: SIM115  (the caller's)
    try:
        size = 0
        while chunk := data.read(CHUNK_SIZE):
            size += len(chunk)
            if size > max_bytes:
                raise too_big
            copy.write(chunk)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy


NOT_A_TABLE = "文件不是 XLSX 或 CSV 表格"
NO_DATA = "文件中没有数据行"
RESAVE = "请另存为 XLSX 或 CSV 后再上传"

# Non-spreadsheet formats by their first bytes (most others are caught by their control bytes).
_MAGIC: tuple[bytes, ...] = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x00\x00\x01\x00",  # ICO
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Control bytes never found in a text table (tab, newlines, form feed and the DOS end-of-file are fine).
_BINARY_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1B, 0x20)])
_TEXT_BYTES = bytes(b for b in range(256) if b not in _BINARY_BYTES)
_BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f]")
_STRIP_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_HEADER_NOISE = re.compile(r"[\s*]|\((必填|选填|可选)\)")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DIGITS = re.compile(r"\d+")
# 2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日 or 20240105, maybe with a time of day (dropped).
_DATE = re.compile(
    r"(?:(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{4})(\d{2})(\d{2}))(?:[\sT]+\d{1,2}:\d{2}(?::\d{2})?)?"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SCIENTIFIC = re.compile(r"[+-]?\d(\.\d+)?[eE][+-]?\d+")
_FORMULA_START = ("=", "+", "-", "@")
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")


class TabularError(InvalidInput):
    """A spreadsheet that cannot be read as asked: the message says why, in Chinese."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an import/export file.

    ``key`` is the API field, ``header`` the Chinese column header people see. ``choices`` are the
    values offered in the template's drop-down list. ``text`` marks code-like columns (administrative
    codes, ID numbers) that are kept as text so Excel keeps leading zeros and all digits. ``date``
    columns read "2024/1/5", "2024年1月5日", "20240105" or a date cell as "2024-01-05".
    """

    key: str
    header: str
    required: bool = False
    choices: Sequence[str] | None = None
    text: bool = False
    example: str = ""
    width: float | None = None
    note: str = ""
    date: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: ``number`` is the row number as the person sees it (the header is row 1)."""

    number: int
    values: dict[str, str | None] = field(default_factory=dict)


ErrorEntry = tuple[int, str, str | None, str]
TableFormat = Literal["xlsx", "csv"]


RawRow = tuple[int, Sequence[object]]


class _Source(Protocol):
    estimate: int | None

    def raw_rows(self) -> Iterator[RawRow]: ...

    def close(self) -> None: ...
