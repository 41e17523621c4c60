"""Reading a spreadsheet (XLSX or CSV, in whatever encoding offices save) safely and row by row."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import IO, TypedDict, Unpack

from openpyxl import load_workbook
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet._reader import WorkSheetParser

from services.common.errors import ErrorDetail
from services.common.tabular.base import (
    _BINARY_CHARS,
    _MAGIC,
    _OLE_MAGIC,
    _SCIENTIFIC,
    _TEXT_BYTES,
    _ZIP_MAGIC,
    CHUNK_SIZE,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    DEFAULT_MAX_UNCOMPRESSED,
    MAX_COLUMNS,
    MAX_RATIO,
    MAX_ZIP_ENTRIES,
    NO_DATA,
    NOT_A_TABLE,
    RATIO_CHECK_FROM,
    RESAVE,
    SNIFF_SIZE,
    SPARE_ROWS,
    Column,
    ErrorEntry,
    RawRow,
    Row,
    TableFormat,
    TabularError,
    _Source,
    log,
    spool,
)
from services.common.tabular.cells import (
    _cell_text,
    _clean,
    _clean_csv,
    _norm_header,
    _size_text,
    _value_text,
)

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


Upload = bytes | IO[bytes]  # the file's bytes, or a stream read from its current position


class Limits(TypedDict, total=False):
    """How much a table may hold: ``max_rows`` data rows (``DEFAULT_MAX_ROWS``), ``max_bytes`` in the
    file (``DEFAULT_MAX_BYTES``)."""

    max_rows: int
    max_bytes: int


def open_table(
    data: Upload,
    filename: str,
    columns: Sequence[Column],
    *,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED,
    skip_example: bool = True,
    **limits: Unpack[Limits],
) -> Table:
    """Open an uploaded XLSX or CSV (told apart by content, not by name) and check its header.

    Raises ``TabularError`` (422, Chinese message) for anything that is not a readable table with the
    expected columns, before any row is returned. A stream is read from its current position; a
    stream that cannot seek is spooled to a temporary file. Reading is synchronous and CPU-bound: run
    it in a worker thread from async code. ``filename`` only sharpens messages (e.g. an encrypted file).
    """
    _check_columns(columns)
    max_rows, max_bytes = limits.get("max_rows", DEFAULT_MAX_ROWS), limits.get("max_bytes", DEFAULT_MAX_BYTES)
    source_file, owned = _seekable(data, max_bytes)
    closers = [source_file] if owned else []
    source: _Source | None = None
    try:
        head = source_file.read(SNIFF_SIZE)
        source_file.seek(0)
        kind = _sniff(head, source_file, filename)
        source = (
            _XlsxSource(source_file, max_uncompressed_bytes, max_rows)
            if kind == "xlsx"
            else _CsvSource(source_file, head)
        )
        return Table(source, kind, columns, max_rows=max_rows, skip_example=skip_example, closers=closers)
    except BaseException:
        if source is not None:
            source.close()
        for f in closers:
            f.close()
        raise


def read_table(data: Upload, filename: str, columns: Sequence[Column], **limits: Unpack[Limits]) -> Iterator[Row]:
    """The data rows of an uploaded table; format and header errors raise here, row-count errors while iterating."""
    return open_table(data, filename, columns, **limits).rows()


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
    return spool(data, max_bytes, too_big), True  # closed by the Table


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
    """The first worksheet of an XLSX, checked against zip bombs before openpyxl opens it.

    Rows are read with openpyxl's sheet parser directly, not ``iter_rows``: that one makes up every
    missing row and cell up to a declared number, so one cell at ``<row r="20000001">`` or in column
    ``XFD`` would cost seconds to minutes. A row number past ``max_rows + SPARE_ROWS`` or a column past
    ``MAX_COLUMNS`` (in the sheet's ``<dimension>`` or in any row or cell) refuses the file at once.
    """

    def __init__(self, f: IO[bytes], max_uncompressed: int, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.estimate: int | None = None
        self._max_row = max_rows + SPARE_ROWS
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
            # The sheet's <dimension> (read by openpyxl from the sheet's first bytes): only an upper
            # bound. Too small is common (it never cuts rows off here); too large is refused.
            max_row = ws.max_row if isinstance(ws.max_row, int) else None
            max_column = ws.max_column if isinstance(ws.max_column, int) else None
            if max_row is not None:
                self._check_row(max_row)
            if max_column is not None:
                self._check_column(max_column)
            self.estimate = max_row
            self._ws = ws
        except BaseException:
            self._wb.close()
            raise

    def _check_row(self, number: int) -> None:
        if number > self._max_row:
            raise TabularError(
                f"工作表的第 {number:,} 行有内容或格式，超出了上限（数据最多 {self._max_row - SPARE_ROWS:,} 行）："
                f"请删除多余的行（包括只设置了格式的空行），{RESAVE}",
                details=[ErrorDetail(field="file", message=f"行号不能超过 {self._max_row}", value=number)],
            )

    def _check_column(self, number: int) -> None:
        if number > MAX_COLUMNS:
            letter = get_column_letter(min(number, 18_278))
            raise TabularError(
                f"工作表的 {letter} 列（第 {number:,} 列）有内容或格式，超出了上限（最多 {MAX_COLUMNS:,} 列）："
                f"请删除多余的列（包括只设置了格式的空列），{RESAVE}",
                details=[ErrorDetail(field="file", message=f"列数不能超过 {MAX_COLUMNS}", value=number)],
            )

    def raw_rows(self) -> Iterator[RawRow]:
        # openpyxl 3.1's read-only sheet internals: the sheet's XML stream and what its parser needs.
        ws, wb = self._ws, self._wb
        with ws._get_source() as src:
            parser = WorkSheetParser(
                src,
                ws._shared_strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            last = 0
            for number, cells in parser.parse():
                self._check_row(number)
                if number <= last or not cells:  # a row given twice (or out of order) counts once
                    continue
                last = number
                width = max(cell["column"] for cell in cells)
                self._check_column(width)
                values: list[object] = [None] * width
                for cell in cells:
                    values[cell["column"] - 1] = cell["value"]
                if any(v is not None and (not isinstance(v, str) or _clean(v) is not None) for v in values):
                    yield number, tuple(values)

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
