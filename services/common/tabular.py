"""Bulk import and export of records as spreadsheets (XLSX, CSV) the way office staff fill them in."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import math
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import IO, Literal, Protocol

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.common.clock import SHANGHAI, as_utc
from services.common.errors import ErrorDetail, InvalidInput

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_BYTES = 50 * MIB
# An XLSX is a zip: what it may unpack to in total, and how far one big entry may be compressed.
DEFAULT_MAX_UNCOMPRESSED = 256 * MIB
MAX_RATIO = 100
RATIO_CHECK_FROM = 8 * MIB
MAX_ZIP_ENTRIES = 10_000

EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_CELL_CHARS = 32_767
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
EXPLANATION_SHEET = "说明"
CHOICES_SHEET = "下拉选项"

CHUNK_SIZE = MIB
SNIFF_SIZE = 64 * 1024
SPOOL_SIZE = 8 * MIB

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


# --------------------------------------------------------------------------------------------------
# Reading


class Table:
    """An uploaded table, opened and checked: the header is matched, the first data row found.

    ``rows()`` streams the data rows once; ``total_rows`` is an estimate (an upper bound for XLSX,
    counted lines for CSV) for progress display, or ``None``. ``keys`` are the columns present in the
    file, in file order: an optional column missing from the file is ``None`` in every row's values.
    """

    def __init__(
        self,
        source: _Source,
        fmt: TableFormat,
        columns: Sequence[Column],
        *,
        max_rows: int,
        skip_example: bool,
        closers: Sequence[IO[bytes]] = (),
    ) -> None:
        self.format: TableFormat = fmt
        self._source = source
        self._closers = list(closers)
        self._columns = list(columns)
        self._max_rows = max_rows
        self._started = False
        self._closed = False
        self._saw_example = False
        self._raw = source.raw_rows()
        self._last_number = 0
        examples = {c.key: _value_text(c.example, c) for c in columns}
        self._example = examples if skip_example and any(v is not None for v in examples.values()) else None
        try:
            header = self._next_raw()
            if header is None:
                raise TabularError(NO_DATA)
            self.header_row = header[0]
            self._by_position = _match_header(header[1], self._columns)
            self.columns: list[Column] = list(self._by_position.values())
            self.keys: tuple[str, ...] = tuple(c.key for c in self.columns)
            estimate = source.estimate
            self.total_rows: int | None = max(estimate - self.header_row, 0) if estimate is not None else None
            self._first = self._next_data()
            if self._first is None:
                raise TabularError(NO_DATA + ("（未修改的示例行不会导入）" if self._saw_example else ""))
        except BaseException:
            self.close()
            raise

    def rows(self) -> Iterator[Row]:
        """The data rows, streamed; fully empty rows (and an untouched template example row) are skipped."""
        if self._started:
            raise RuntimeError("rows() can be iterated only once")
        self._started = True
        return self._iterate()

    def _iterate(self) -> Iterator[Row]:
        try:
            row = self._first
            count = 0
            while row is not None:
                count += 1
                if count > self._max_rows:
                    raise TabularError(
                        f"数据行太多：一次最多导入 {self._max_rows:,} 行，请分成多个文件上传",
                        details=[ErrorDetail(field="file", message=f"最多 {self._max_rows} 行", value=self._max_rows)],
                    )
                yield row
                row = self._next_data()
        finally:
            self.close()

    def _next_data(self) -> Row | None:
        while (raw := self._next_raw()) is not None:
            number, cells = raw
            values: dict[str, str | None] = dict.fromkeys(c.key for c in self._columns)
            empty = True
            for pos, column in self._by_position.items():
                if pos < len(cells) and (text := _value_text(cells[pos], column)) is not None:
                    values[column.key] = text
                    empty = False
            if empty:
                continue
            if self._example is not None and values == self._example:
                self._saw_example = True
                continue
            return Row(number, values)
        return None

    def _next_raw(self) -> RawRow | None:
        try:
            raw = next(self._raw, None)
        except TabularError:
            raise
        except Exception as exc:  # a malformed file must answer 422, never 500
            log.info("unreadable table near row %s", self._last_number + 1, exc_info=True)
            raise TabularError(f"文件已损坏，第 {self._last_number + 1} 行附近的内容无法读取；{RESAVE}") from exc
        if raw is not None:
            self._last_number = raw[0]
        return raw

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()
        self._source.close()
        for f in self._closers:
            f.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_table(
    data: bytes | IO[bytes],
    filename: str,
    columns: Sequence[Column],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED,
    skip_example: bool = True,
) -> Table:
    """Open an uploaded XLSX or CSV (told apart by content, not by name) and check its header.

    Raises ``TabularError`` (422, Chinese message) for anything that is not a readable table with the
    expected columns, before any row is returned. A stream is read from its current position; a
    stream that cannot seek is spooled to a temporary file. Reading is synchronous and CPU-bound: run
    it in a worker thread from async code. ``filename`` only sharpens messages (e.g. an encrypted file).
    """
    _check_columns(columns)
    source_file, owned = _seekable(data, max_bytes)
    closers = [source_file] if owned else []
    source: _Source | None = None
    try:
        head = source_file.read(SNIFF_SIZE)
        source_file.seek(0)
        kind = _sniff(head, source_file, filename)
        source = _XlsxSource(source_file, max_uncompressed_bytes) if kind == "xlsx" else _CsvSource(source_file, head)
        return Table(source, kind, columns, max_rows=max_rows, skip_example=skip_example, closers=closers)
    except BaseException:
        if source is not None:
            source.close()
        for f in closers:
            f.close()
        raise


def read_table(
    data: bytes | IO[bytes],
    filename: str,
    columns: Sequence[Column],
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[Row]:
    """The data rows of an uploaded table; format and header errors raise here, row-count errors while iterating."""
    return open_table(data, filename, columns, max_rows=max_rows, max_bytes=max_bytes).rows()


def _check_columns(columns: Sequence[Column]) -> None:
    if not columns:
        raise ValueError("columns must not be empty")
    seen: set[str] = set()
    for c in columns:
        if c.text and c.date:
            raise ValueError(f"column {c.key!r} cannot be both text and date")
        for name in {_norm_header(c.key), _norm_header(c.header)}:
            if name in seen or not name:
                raise ValueError(f"column name {name!r} is empty or used twice")
            seen.add(name)


def _seekable(data: bytes | IO[bytes], max_bytes: int) -> tuple[IO[bytes], bool]:
    """A seekable binary file at position 0 holding the upload, and whether we own (must close) it."""
    too_big = TabularError(
        f"文件太大：最大 {_size_text(max_bytes)}，请分成多个文件上传",
        details=[ErrorDetail(field="file", message=f"最大 {_size_text(max_bytes)}", value=max_bytes)],
    )
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) > max_bytes:
            raise too_big
        return io.BytesIO(data), True
    try:
        start = data.tell()
        end = data.seek(0, io.SEEK_END)
        data.seek(start)
    except (OSError, ValueError, AttributeError):
        start = end = -1
    if start == 0:
        if end > max_bytes:
            raise too_big
        return data, False
    if start > 0 and end - start > max_bytes:
        raise too_big
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)  # noqa: SIM115  (closed by the Table)
    try:
        size = 0
        while chunk := data.read(CHUNK_SIZE):
            size += len(chunk)
            if size > max_bytes:
                raise too_big
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool, True


def _sniff(head: bytes, f: IO[bytes], filename: str) -> TableFormat:
    if not head.strip():
        raise TabularError(NO_DATA)
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        if filename.lower().endswith((".xlsx", ".xlsm")) or _contains(f, "EncryptedPackage".encode("utf-16-le")):
            raise TabularError(f"文件设置了打开密码，无法读取：请在 Excel 或 WPS 中取消密码，{RESAVE}")
        raise TabularError(f"文件是旧版 Excel（.xls/.et）格式，{RESAVE}")
    if head.startswith(_MAGIC):
        raise TabularError(NOT_A_TABLE)
    if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and head.translate(None, _TEXT_BYTES):
        raise TabularError(NOT_A_TABLE)
    return "csv"


def _contains(f: IO[bytes], needle: bytes) -> bool:
    overlap = b""
    try:
        while chunk := f.read(CHUNK_SIZE):
            if needle in overlap + chunk:
                return True
            overlap = chunk[-len(needle) :]
        return False
    finally:
        f.seek(0)


class _XlsxSource:
    """The first worksheet of an XLSX, checked against zip bombs before openpyxl opens it."""

    def __init__(self, f: IO[bytes], max_uncompressed: int) -> None:
        self.estimate: int | None = None
        _check_zip(f, max_uncompressed)
        f.seek(0)
        try:
            self._wb = load_workbook(f, read_only=True, data_only=True, keep_links=False)
        except Exception as exc:
            log.info("unreadable xlsx", exc_info=True)
            raise TabularError(f"无法读取该 XLSX 文件：文件已损坏或格式不受支持，{RESAVE}") from exc
        try:
            sheets = self._wb.worksheets
            if not sheets:
                raise TabularError(NO_DATA)
            ws = sheets[0]
            if not hasattr(ws, "reset_dimensions"):
                raise TabularError("第一个工作表不是数据表（可能是图表），请把数据放在第一个工作表")
            self.estimate = ws.max_row if isinstance(ws.max_row, int) else None
            # Some programs write a wrong <dimension>; never let it cut rows or columns off.
            ws.reset_dimensions()
            self._ws = ws
        except BaseException:
            self._wb.close()
            raise

    def raw_rows(self) -> Iterator[RawRow]:
        for number, values in enumerate(self._ws.iter_rows(values_only=True), start=1):
            if any(v is not None and (not isinstance(v, str) or _clean(v) is not None) for v in values):
                yield number, values

    def close(self) -> None:
        self._wb.close()


def _check_zip(f: IO[bytes], max_uncompressed: int) -> None:
    bomb = TabularError(f"文件解压后过大（超过 {_size_text(max_uncompressed)}）或压缩比异常，拒绝读取")
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise TabularError(f"文件已损坏，无法作为 XLSX 打开；{RESAVE}") from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise bomb
    names = {i.filename.lower() for i in infos}
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise TabularError(f"文件是 XLSB（二进制工作簿）格式，{RESAVE}")
        if "content.xml" in names and "mimetype" in names:
            raise TabularError(f"文件是 ODS（OpenDocument）格式，{RESAVE}")
        raise TabularError(NOT_A_TABLE)
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise TabularError(f"文件已加密，无法读取：请取消密码，{RESAVE}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise TabularError(f"文件使用了不支持的压缩方式，{RESAVE}")
        total += info.file_size
        if info.file_size > RATIO_CHECK_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise bomb
    if total > max_uncompressed:
        raise bomb


class _CsvSource:
    """A CSV (comma or tab separated) in UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK."""

    def __init__(self, f: IO[bytes], head: bytes) -> None:
        self._f = f
        if head.startswith(codecs.BOM_UTF8):
            candidates = ["utf-8-sig"]
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            candidates = ["utf-16"]
        else:
            candidates = ["utf-8", "gb18030"]
        self.encoding = ""
        lines = 0
        for encoding in candidates:
            counted = _count_lines(f, encoding)
            if counted is not None:
                self.encoding, lines = encoding, counted
                break
        if not self.encoding:
            raise TabularError("无法识别 CSV 文件的编码，请另存为“CSV UTF-8”格式或 XLSX 后再上传")
        sample = codecs.getincrementaldecoder(self.encoding)().decode(head)
        if _BINARY_CHARS.search(sample):
            raise TabularError(NOT_A_TABLE)
        start = sample.lstrip().lower()
        if start.startswith("<") and any(tag in start[:4096] for tag in ("<html", "<table", "<?xml", "<!doctype")):
            raise TabularError(f"文件是网页或 XML 格式（常见于其他系统导出的“.xls”），{RESAVE}")
        first_line = next((line for line in sample.splitlines() if line.strip()), "")
        counts = {d: first_line.count(d) for d in (",", "\t", ";")}
        self.delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
        self.estimate: int | None = lines

    def raw_rows(self) -> Iterator[RawRow]:
        self._f.seek(0)
        text = io.TextIOWrapper(self._f, encoding=self.encoding, newline="")
        number = 0
        try:
            reader = csv.reader(text, delimiter=self.delimiter)
            while True:
                try:
                    record = next(reader, None)
                except csv.Error as exc:
                    raise TabularError(
                        f"第 {number + 1} 行格式有误（引号不配对或单元格内容过长），请检查后重新上传"
                    ) from exc
                if record is None:
                    return
                number += 1
                cells = [_clean_csv(v) for v in record]
                if any(c is not None for c in cells):
                    yield number, cells
        finally:
            text.detach()

    def close(self) -> None:
        pass


def _count_lines(f: IO[bytes], encoding: str) -> int | None:
    """Line count if the whole file decodes as ``encoding``, else ``None``. Reads in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    last = ""
    try:
        while chunk := f.read(CHUNK_SIZE):
            text = decoder.decode(chunk)
            lines += text.count("\n")
            if text:
                last = text[-1]
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    finally:
        f.seek(0)
    return lines + (1 if last and last != "\n" else 0)


def _match_header(cells: Sequence[object], columns: Sequence[Column]) -> dict[int, Column]:
    """Cell position → column, by Chinese header or by key; unknown, duplicate or missing columns raise.

    Cells with no header are ignored (with whatever is below them)."""
    lookup: dict[str, Column] = {}
    for c in columns:
        lookup[_norm_header(c.header)] = c
        lookup[_norm_header(c.key)] = c
    positions: dict[int, Column] = {}
    found: set[str] = set()
    unknown: list[str] = []
    duplicate: list[str] = []
    for pos, raw in enumerate(cells):
        cell = _cell_text(raw)
        if cell is None or not _norm_header(cell):
            continue
        column = lookup.get(_norm_header(cell))
        if column is None:
            unknown.append(cell)
        elif column.key in found:
            duplicate.append(cell)
        else:
            found.add(column.key)
            positions[pos] = column
    missing = [c for c in columns if c.required and c.key not in found]
    if not (unknown or duplicate or missing):
        return positions
    problems: list[str] = []
    details: list[ErrorDetail] = []
    if missing:
        problems.append("缺少必填列：" + "、".join(c.header for c in missing))
        details += [ErrorDetail(field=c.header, message="缺少必填列") for c in missing]
    if unknown:
        problems.append("无法识别的列：" + "、".join(unknown[:20]) + ("等" if len(unknown) > 20 else ""))
        details += [ErrorDetail(field=name, message="无法识别的列") for name in unknown[:100]]
    if duplicate:
        problems.append("重复的列：" + "、".join(duplicate))
        details += [ErrorDetail(field=name, message="列重复") for name in duplicate]
    message = "表头有误：" + "；".join(problems)
    if not found:
        message += "。第 1 行应为表头（列名），请使用导入模板"
    elif unknown:
        message += "。可用的列：" + "、".join(c.header for c in columns)
    raise TabularError(message, details=details)


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


def row_errors(row: Row, columns: Sequence[Column]) -> list[ErrorEntry]:
    """The generic checks of one row, ready for ``write_error_report``: required, drop-down values, and
    code columns Excel has turned into scientific notation."""
    errors: list[ErrorEntry] = []
    for c in columns:
        value = row.values.get(c.key)
        if value is None:
            if c.required:
                errors.append((row.number, c.header, None, "必填"))
            continue
        if c.choices and value not in c.choices:
            allowed = "、".join(c.choices) if len(c.choices) <= 10 else "下拉列表中的值"
            errors.append((row.number, c.header, value, f"应为 {allowed} 之一"))
        elif c.text and _SCIENTIFIC.fullmatch(value):
            errors.append(
                (row.number, c.header, value, "被 Excel 转成了科学计数法，数字已丢失：请把该列设为文本格式后重新填写")
            )
    return errors


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


REPORT_HEADERS = ("行号", "列", "值", "错误说明")


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
