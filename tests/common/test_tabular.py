"""Spreadsheet import/export: CSV and XLSX read back as typed, malformed files refused in Chinese."""

from __future__ import annotations

import io
import random
import re
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime

import openpyxl
import pytest

from services.common import tabular
from services.common.tabular import (
    NO_DATA,
    NOT_A_TABLE,
    Column,
    Row,
    TabularError,
    open_table,
    read_table,
    row_errors,
    stream_csv,
    stream_xlsx,
    write_error_report,
    write_template,
)
from services.common.tabular.base import _OLE_MAGIC

KINDS = ["压缩车", "厨余车", "可回收物车", "有害垃圾车"]
COLUMNS = [
    Column("plate_number", "车牌号", required=True, example="赣A12345"),
    Column("division_code", "行政区划代码", required=True, text=True, example="360102000000", note="12 位"),
    Column("kind", "车辆类型", required=True, choices=KINDS, example="压缩车"),
    Column("capacity", "载重（吨）", example="2.5"),
    Column("registered_on", "登记日期", date=True, example="2024-01-05"),
    Column("remark", "备注"),
]
HEADER = "车牌号,行政区划代码,车辆类型,载重（吨）,登记日期,备注"
EXPECTED = [
    Row(
        2,
        {
            "plate_number": "赣A00001",
            "division_code": "360102000000",
            "kind": "压缩车",
            "capacity": "2.5",
            "registered_on": "2024-01-05",
            "remark": "东湖区",
        },
    ),
    Row(
        3,
        {
            "plate_number": "赣A00002",
            "division_code": "036010200001",
            "kind": "厨余车",
            "capacity": "8",
            "registered_on": None,
            "remark": None,
        },
    ),
]
CSV_TEXT = (
    HEADER + "\r\n"
    "赣A00001, 360102000000 ,压缩车,2.5,2024/1/5,东湖区\r\n"
    "赣A00002,036010200001,厨余车,8,,\r\n"
    ",,,,,\r\n"  # an empty row is skipped
)


def rows_of(
    data: bytes, filename: str = "upload.csv", columns: list[Column] = COLUMNS, max_rows: int = 200_000
) -> list[Row]:
    return list(read_table(data, filename, columns, max_rows=max_rows))


def refused(data: bytes, filename: str = "upload.xlsx") -> str:
    with pytest.raises(TabularError) as info:
        rows_of(data, filename)
    assert info.value.status_code == 422
    return info.value.message


# ---------------------------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_in_every_encoding_reads_the_same_rows(encoding: str) -> None:
    with open_table(CSV_TEXT.encode(encoding), "车辆.csv", COLUMNS) as table:
        assert (table.format, table.total_rows, table.keys) == ("csv", 3, tuple(c.key for c in COLUMNS))
        assert list(table.rows()) == EXPECTED


def test_csv_encoding_is_told_by_the_whole_file_not_its_start() -> None:
    # Plain ASCII for the first 64 KiB, Chinese (GB18030) only at the very end.
    filler = "".join(f"A{i:05d},360102000000,压缩车,,,\r\n" for i in range(4000))
    data = (HEADER + "\r\n" + filler + "赣A99999,360102000000,厨余车,,,最后一行\r\n").encode("gb18030")
    rows = rows_of(data)
    assert len(rows) == 4001
    assert rows[-1].values["remark"] == "最后一行"


def test_tab_separated_text_as_excel_saves_unicode_text() -> None:
    data = CSV_TEXT.replace(",", "\t").encode("utf-16")
    assert rows_of(data) == EXPECTED


def test_csv_quoted_cells_keep_commas_and_line_breaks_and_row_numbers() -> None:
    data = (HEADER + '\n赣A1,360102000000,压缩车,,,"第一行,\n第二行"\n赣A2,360102000000,压缩车,,,x\n').encode()
    rows = rows_of(data)
    assert [r.number for r in rows] == [2, 3]
    assert rows[0].values["remark"] == "第一行,\n第二行"


def test_undecodable_csv_is_refused() -> None:
    data = HEADER.encode("utf-8") + b"\r\n\x80\x80,\xff\xfe\r\n"
    assert "编码" in refused(data)


def test_html_saved_as_xls_is_refused_with_advice() -> None:
    data = "<html><body><table><tr><td>车牌号</td></tr></table></body></html>".encode()
    assert "另存为 XLSX 或 CSV" in refused(data, "export.xls")


# ------------------------------------------------------------------------------------------- header


def test_header_by_key_with_stars_spaces_and_full_width_forms() -> None:
    data = " plate_number ,＊行政区划代码,* kind \n赣A1,360102000000,压缩车\n".encode()
    table = open_table(data, "x.csv", COLUMNS)
    assert table.keys == ("plate_number", "division_code", "kind")
    assert list(table.rows()) == [
        Row(
            2,
            {
                "plate_number": "赣A1",
                "division_code": "360102000000",
                "kind": "压缩车",
                "capacity": None,
                "registered_on": None,
                "remark": None,
            },
        )
    ]
    # A full-width bracket in the person's header still matches the template's.
    assert rows_of("车牌号,行政区划代码,车辆类型,载重(吨)\n赣A1,1,压缩车,3\n".encode())[0].values["capacity"] == "3"


def test_missing_required_column_is_named() -> None:
    with pytest.raises(TabularError) as info:
        rows_of("车牌号,备注\n赣A1,x\n".encode())
    assert "缺少必填列：行政区划代码、车辆类型" in info.value.message
    assert [d.field for d in info.value.details] == ["行政区划代码", "车辆类型"]


def test_unknown_column_is_named() -> None:
    message = refused((HEADER + ",颜色\n赣A1,360102000000,压缩车,,,,红\n").encode(), "x.csv")
    assert "无法识别的列：颜色" in message
    assert "可用的列" in message


def test_duplicate_column_is_refused() -> None:
    assert "重复的列" in refused((HEADER + ",plate_number\n赣A1,1,压缩车,,,,赣A2\n").encode(), "x.csv")


def test_title_row_above_the_header_gets_a_hint() -> None:
    assert "第 1 行应为表头" in refused("南昌市车辆登记表\n车牌号,行政区划代码,车辆类型\n".encode(), "x.csv")


# ------------------------------------------------------------------------------------ refused files


@pytest.mark.parametrize("data", [b"", b"   \r\n", "\ufeff".encode()], ids=["empty", "blank", "bom"])
def test_empty_file_has_no_data_rows(data: bytes) -> None:
    assert refused(data, "x.csv") == NO_DATA


def test_header_only_has_no_data_rows() -> None:
    assert refused((HEADER + "\r\n,,,,,\r\n").encode(), "x.csv") == NO_DATA
    template = write_template(COLUMNS, sheet_title="车辆", example_rows=0)
    assert refused(template) == NO_DATA


def test_untouched_template_has_no_data_rows() -> None:
    assert NO_DATA in refused(write_template(COLUMNS, sheet_title="车辆"))


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize(
    "data",
    [PNG, b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", random.Random(7).randbytes(4096), b"\x00" * 100],
    ids=["png", "pdf", "random", "zeros"],
)
def test_not_a_spreadsheet(data: bytes) -> None:
    assert refused(data, "vehicles.xlsx") == NOT_A_TABLE


def test_other_zip_files_are_not_spreadsheets() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("word/document.xml", "<document/>")
    assert refused(buffer.getvalue()) == NOT_A_TABLE


def test_old_binary_excel_is_refused_with_advice() -> None:
    ole = _OLE_MAGIC + bytes(504) + "Workbook".encode("utf-16-le") + bytes(1000)
    message = refused(ole, "车辆.xlsx.bak")
    assert "请另存为 XLSX 或 CSV 后再上传" in message
    assert ".xls" in message


def test_password_protected_xlsx_is_refused_with_advice() -> None:
    ole = _OLE_MAGIC + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(1000)
    assert "密码" in refused(ole, "车辆（加密）.dat")


def test_corrupt_xlsx_is_refused() -> None:
    good = write_template(COLUMNS, sheet_title="车辆")
    assert "损坏" in refused(good[: len(good) // 2])
    assert "损坏" in refused(b"PK\x03\x04" + random.Random(1).randbytes(2000))


def test_corrupt_sheet_inside_a_valid_zip_is_refused() -> None:
    template = write_template(COLUMNS, sheet_title="车辆")
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body[: len(body) // 2]  # XML cut off halfway
            dst.writestr(info, body)
    message = refused(buffer.getvalue())
    assert "损坏" in message


def test_entity_expansion_in_a_sheet_is_refused() -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol" * 10}">' for i in range(10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_filled_template())) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = bomb + body.replace(b"<v>2.5</v>", b"<v>&e9;</v>")
            dst.writestr(info, body)
    assert "损坏" in refused(buffer.getvalue())


def test_zip_with_encrypted_entries_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    data = bytearray(buffer.getvalue())
    # Set the "encrypted" flag bit in the local header and in the central directory.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_offset
        data[at] |= 0x01
    assert "加密" in refused(bytes(data))


def _bomb(size_mib: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as entry:
            zeros = bytes(tabular.MIB)
            for _ in range(size_mib):
                entry.write(zeros)
    return buffer.getvalue()


@pytest.mark.parametrize("size_mib", [300, 20], ids=["too-big", "too-compressed"])
def test_zip_bomb_is_refused_before_openpyxl_opens_it(size_mib: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _bomb(size_mib)
    assert len(data) < 2 * tabular.MIB

    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl was asked to open a zip bomb")

    monkeypatch.setattr(tabular.reading, "load_workbook", must_not_open)
    assert "解压后过大" in refused(data)


def test_total_unpacked_size_is_limited() -> None:
    data = _filled_template()
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    with open_table(data, "x.xlsx", COLUMNS, max_uncompressed_bytes=unpacked):
        pass
    with pytest.raises(TabularError, match="解压后过大"):
        open_table(data, "x.xlsx", COLUMNS, max_uncompressed_bytes=unpacked - 1)


def test_too_many_rows_names_the_limit() -> None:
    data = (HEADER + "\n" + "".join(f"赣A{i},360102000000,压缩车,,,\n" for i in range(11))).encode()
    assert len(rows_of(data, max_rows=11)) == 11
    rows = read_table(data, "x.csv", COLUMNS, max_rows=10)
    with pytest.raises(TabularError, match="最多导入 10 行"):
        list(rows)


def test_too_large_file_names_the_limit() -> None:
    data = CSV_TEXT.encode()
    with pytest.raises(TabularError, match="文件太大：最大 1 KB"):
        read_table(data + b" " * 1024, "x.csv", COLUMNS, max_bytes=1024)

    class Unseekable(io.BytesIO):
        """A stream that can only be read forward, like a socket."""

        def seekable(self) -> bool:
            return False

        def tell(self) -> int:
            raise io.UnsupportedOperation("tell")

    with pytest.raises(TabularError, match="文件太大"):
        read_table(Unseekable(data + b" " * 1024), "x.csv", COLUMNS, max_bytes=1024)
    assert list(read_table(Unseekable(data), "x.csv", COLUMNS)) == EXPECTED


def test_a_stream_is_read_and_left_open() -> None:
    upload = io.BytesIO(CSV_TEXT.encode("gb18030"))
    assert list(read_table(upload, "x.csv", COLUMNS)) == EXPECTED
    assert not upload.closed


# --------------------------------------------------------------------------------------------- XLSX


def _filled_template() -> bytes:
    """The template as a person fills it in Excel: typed codes, numbers, dates, a blank row."""
    wb = openpyxl.load_workbook(io.BytesIO(write_template(COLUMNS, sheet_title="车辆")))
    ws = wb.worksheets[0]
    typed: list[list[object]] = [
        ["赣A00001", "360102000000", "压缩车", 2.5, datetime(2024, 1, 5), "东湖区"],
        ["赣A00002", "036010200001", "厨余车", 8, None, None],
        [None] * 6,
        # A code typed into a cell formatted "General" comes back as a number: no ".0" must appear.
        ["赣A00003", 360102000000, "可回收物车", 1e-3, "2024年3月9日", 360102],
        ["  赣A00004\u200b ", 360102000000.0, "有害垃圾车", 12.0, 45292, "=A1"],
    ]
    for offset, values in enumerate(typed, start=3):
        for column, value in enumerate(values, start=1):
            ws.cell(row=offset, column=column, value=value)
    ws.cell(row=7, column=6).data_type = "s"  # text that starts with "=", not a formula
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_filled_template_reads_back() -> None:
    with open_table(_filled_template(), "车辆.xlsx", COLUMNS) as table:
        assert table.format == "xlsx"
        assert table.total_rows == 6  # from the sheet's dimension: an upper bound
        rows = list(table.rows())
    # Row 2 is the untouched example; row 5 is empty.
    assert [r.number for r in rows] == [3, 4, 6, 7]
    assert rows[0].values == EXPECTED[0].values
    assert rows[1].values == EXPECTED[1].values
    assert rows[2].values == {
        "plate_number": "赣A00003",
        "division_code": "360102000000",
        "kind": "可回收物车",
        "capacity": "0.001",
        "registered_on": "2024-03-09",
        "remark": "360102",
    }
    assert rows[3].values["plate_number"] == "赣A00004"
    assert rows[3].values["division_code"] == "360102000000"
    assert rows[3].values["capacity"] == "12"
    assert rows[3].values["registered_on"] == "2024-01-01"  # Excel's serial day 45292
    assert rows[3].values["remark"] == "=A1"


def test_example_row_is_kept_when_asked() -> None:
    with open_table(_filled_template(), "车辆.xlsx", COLUMNS, skip_example=False) as table:
        first = next(table.rows())
    assert first.number == 2
    assert first.values["plate_number"] == "赣A12345"
    assert first.values["registered_on"] == "2024-01-05"


def test_format_is_told_by_content_not_name() -> None:
    assert rows_of(_filled_template(), "车辆.csv")[0].number == 3
    assert rows_of(CSV_TEXT.encode(), "车辆.xlsx") == EXPECTED


def test_wrong_dimension_does_not_cut_rows_off() -> None:
    data = _filled_template()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body, count = re.subn(rb'<dimension ref="A1:F7" ?/>', b'<dimension ref="A1"/>', body)
                assert count == 1
            dst.writestr(info, body)
    assert len(rows_of(buffer.getvalue(), "x.xlsx")) == 4


def test_template_has_drop_downs_text_codes_and_explanation() -> None:
    many = [f"{i:06d} 街道" for i in range(300)]
    columns = [*COLUMNS, Column("street", "街道", choices=many, text=True)]
    wb = openpyxl.load_workbook(io.BytesIO(write_template(columns, sheet_title="车辆")))
    assert wb.sheetnames == ["车辆", "说明", "下拉选项"]
    ws = wb["车辆"]
    assert [c.value for c in ws[1]] == [
        "*车牌号",
        "*行政区划代码",
        "*车辆类型",
        "载重（吨）",
        "登记日期",
        "备注",
        "街道",
    ]
    assert ws["A1"].font.b and ws["D1"].font.b
    assert ws.freeze_panes == "A2"

    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert set(validations) == {"C2:C1048576", "G2:G1048576"}
    assert validations["C2:C1048576"].type == "list"
    assert validations["C2:C1048576"].formula1 == '"压缩车,厨余车,可回收物车,有害垃圾车"'
    assert validations["G2:G1048576"].formula1 == "'下拉选项'!$A$2:$A$301"
    lists = wb["下拉选项"]
    assert lists.sheet_state == "hidden"
    assert [lists.cell(row=r, column=1).value for r in (2, 301)] == ["000000 街道", "000299 街道"]

    # Code columns are text for the whole column, and the example cell too; other columns are not.
    assert ws.column_dimensions["B"].number_format == "@"
    assert ws.column_dimensions["G"].number_format == "@"
    assert ws.column_dimensions["A"].number_format == "General"
    assert ws["B2"].number_format == "@" and ws["B2"].value == "360102000000"
    assert ws["D2"].value == 2.5
    assert ws["E2"].value == datetime(2024, 1, 5)
    assert ws.column_dimensions["B"].width >= 14

    explanation = wb["说明"]
    lines = {row[0]: row for row in explanation.iter_rows(min_row=2, values_only=True) if row[0]}
    assert lines["车辆类型"][1:6] == (
        "kind",
        "是",
        "从下拉列表中选择",
        "压缩车、厨余车、可回收物车、有害垃圾车",
        "压缩车",
    )
    assert lines["行政区划代码"][3].startswith("文本")
    assert "等 300 项" in lines["街道"][4]


# ------------------------------------------------------------------------------------------- export


def _records(n: int) -> Iterator[dict[str, object]]:
    for i in range(n):
        yield {
            "plate_number": f"赣A{i:05d}",
            "division_code": f"{i:012d}",
            "kind": KINDS[i % 4],
            "capacity": i / 4,
        }


def test_stream_xlsx_of_100_000_rows_in_flat_memory() -> None:
    columns = COLUMNS[:4]
    n = 100_000
    traced_from = 90_000

    def records() -> Iterator[dict[str, object]]:
        for i, record in enumerate(_records(n)):
            if i == traced_from:
                # Tracing slows openpyxl five-fold: trace the last 10,000 rows and the final save, where
                # rows kept in memory or a workbook built in memory would show (a 70 MiB peak).
                tracemalloc.start()
            yield record

    chunks = stream_xlsx(columns, records(), sheet_title="车辆")
    try:
        data = b"".join(chunks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * tabular.MIB, f"peak {peak / tabular.MIB:.1f} MiB"

    with open_table(data, "export.xlsx", columns) as table:
        rows = iter(table.rows())
        first = next(rows)
        *_, last = rows
    assert first == Row(
        2, {"plate_number": "赣A00000", "division_code": "000000000000", "kind": "压缩车", "capacity": "0"}
    )
    assert last == Row(
        n + 1,
        {"plate_number": "赣A99999", "division_code": "000000099999", "kind": "有害垃圾车", "capacity": "24999.75"},
    )


def test_stream_xlsx_writes_text_cells_and_never_formulas() -> None:
    records = [
        {
            "plate_number": '=HYPERLINK("http://x")',
            "division_code": 360102000000,
            "kind": "压缩车",
            "capacity": 12345678901234567,
            "registered_on": datetime(2024, 1, 4, 17, 0, tzinfo=UTC),
            "remark": True,
        },
    ]
    data = b"".join(stream_xlsx(COLUMNS, records, sheet_title="车辆"))
    ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert [c.value for c in ws[1]] == ["车牌号", "行政区划代码", "车辆类型", "载重（吨）", "登记日期", "备注"]
    assert ws.freeze_panes == "A2"
    assert ws["A2"].data_type == "s" and ws["A2"].value == '=HYPERLINK("http://x")'
    assert ws["B2"].data_type == "s" and ws["B2"].number_format == "@" and ws["B2"].value == "360102000000"
    assert ws["D2"].value == "12345678901234567"  # too long for a number in Excel
    assert ws["E2"].value == datetime(2024, 1, 5)  # a date column shows the Shanghai date
    assert ws["F2"].value == "是"
    assert rows_of(data, "x.xlsx")[0].values["plate_number"] == '=HYPERLINK("http://x")'


def test_stream_csv_round_trips_through_read_table() -> None:
    records = [
        {
            "plate_number": "赣A1",
            "division_code": "036010200001",
            "kind": "压缩车",
            "capacity": 2.5,
            "registered_on": date(2024, 1, 5),
            "remark": "=1+1",
        },
        {
            "plate_number": "赣A2",
            "division_code": "360102000000",
            "kind": "厨余车",
            "capacity": -3,
            "registered_on": None,
            "remark": '带"引号",和逗号',
        },
    ]
    data = b"".join(stream_csv(COLUMNS, records))
    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode())
    assert "\t036010200001" in data.decode("utf-8-sig")  # Excel keeps it as text
    assert "'=1+1" in data.decode("utf-8-sig")  # Excel does not run it
    assert [r.values for r in rows_of(data)] == [
        {
            "plate_number": "赣A1",
            "division_code": "036010200001",
            "kind": "压缩车",
            "capacity": "2.5",
            "registered_on": "2024-01-05",
            "remark": "=1+1",
        },
        {
            "plate_number": "赣A2",
            "division_code": "360102000000",
            "kind": "厨余车",
            "capacity": "-3",
            "registered_on": None,
            "remark": '带"引号",和逗号',
        },
    ]


def test_stream_csv_chunks_large_exports() -> None:
    chunks = list(stream_csv(COLUMNS, _records(10_000)))
    assert len(chunks) > 5
    assert max(len(c) for c in chunks) < 200 * 1024
    assert len(rows_of(b"".join(chunks))) == 10_000


def test_error_report_contents() -> None:
    errors = [
        (3, "车牌号", None, "必填"),
        (4, "车辆类型", "货车", "应为 压缩车、厨余车 之一"),
        (5, "备注", "=cmd|' /C calc'!A0", "含有非法字符\x07"),
    ]
    wb = openpyxl.load_workbook(io.BytesIO(write_error_report(errors)))
    ws = wb.worksheets[0]
    assert list(ws.iter_rows(values_only=True)) == [
        ("行号", "列", "值", "错误说明"),
        (3, "车牌号", None, "必填"),
        (4, "车辆类型", "货车", "应为 压缩车、厨余车 之一"),
        (5, "备注", "=cmd|' /C calc'!A0", "含有非法字符"),
    ]
    assert ws["C4"].data_type == "s"
    assert ws["A1"].font.b


def test_row_errors_checks_required_choices_and_lost_digits() -> None:
    row = Row(7, {"plate_number": None, "division_code": "3.60102E+11", "kind": "货车", "capacity": None})
    assert row_errors(row, COLUMNS[:4]) == [
        (7, "车牌号", None, "必填"),
        (7, "行政区划代码", "3.60102E+11", "被 Excel 转成了科学计数法，数字已丢失：请把该列设为文本格式后重新填写"),
        (7, "车辆类型", "货车", "应为 压缩车、厨余车、可回收物车、有害垃圾车 之一"),
    ]
    assert row_errors(EXPECTED[0], COLUMNS) == []


def test_columns_are_checked() -> None:
    with pytest.raises(ValueError):
        write_template([Column("a", "名称"), Column("b", "名称")], sheet_title="x")
    with pytest.raises(ValueError):
        rows_of(b"a\n1\n", columns=[])


def _hostile_xlsx(data_ref: str, dimension: str | None) -> bytes:
    """A minimal XLSX written by hand: the header in row 1 and one data row declared at ``data_ref``
    (e.g. ``A20000001``), with or without a ``<dimension>`` telling the truth about it."""

    def cell(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    header = "".join(cell(f"{chr(65 + i)}1", c.header) for i, c in enumerate(COLUMNS[:3]))
    match = re.fullmatch(r"([A-Z]+)(\d+)", data_ref)
    assert match is not None
    letters, number = match.groups()
    data = cell(f"A{number}", "赣A00001") + cell(f"B{number}", "360102000000") + cell(f"C{number}", "压缩车")
    if letters != "A":
        data += cell(data_ref, "x")
    dim = f'<dimension ref="A1:{dimension}"/>' if dimension else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'{dim}<sheetData><row r="1">{header}</row><row r="{number}">{data}</row></sheetData></worksheet>'
    )
    main = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{main}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'xmlns:r="{main}"><sheets><sheet name="车辆" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{main}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize("dimension", [True, False], ids=["dimension", "no-dimension"])
@pytest.mark.parametrize(
    ("data_ref", "message"),
    [("A20000001", "第 20,000,001 行"), ("XFD2", "XFD 列（第 16,384 列）"), ("ALM2", "ALM 列（第 1,001 列）")],
)
def test_a_far_declared_row_or_column_is_refused_at_once(data_ref: str, message: str, dimension: bool) -> None:
    data = _hostile_xlsx(data_ref, data_ref if dimension else None)
    assert len(data) < 2_000  # a 1.7 KB file
    started = time.perf_counter()
    with pytest.raises(TabularError) as info:
        rows_of(data, "x.xlsx")
    assert time.perf_counter() - started < 1.0  # openpyxl's gap filling took 22 s for the 20,000,001st row
    assert message in info.value.message and "超出了上限" in info.value.message


def test_rows_and_columns_up_to_the_limits_are_read() -> None:
    # the data row may sit below the row limit plus the spare rows; cells in the last allowed column count
    data = _hostile_xlsx(f"ALL{10 + tabular.base.SPARE_ROWS}", None)
    rows = rows_of(data, "x.xlsx", max_rows=10)
    assert [r.number for r in rows] == [10 + tabular.base.SPARE_ROWS]
    assert rows[0].values["plate_number"] == "赣A00001"
    with pytest.raises(TabularError, match="超出了上限"):
        rows_of(_hostile_xlsx(f"A{11 + tabular.base.SPARE_ROWS}", None), "x.xlsx", max_rows=10)
