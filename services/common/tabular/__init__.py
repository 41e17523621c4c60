"""Bulk import and export of records as spreadsheets (XLSX, CSV) the way office staff fill them in.

Split by job: ``reading`` (open and check a file, stream its rows), ``templates`` (the import
template), ``export`` (stream rows out), ``report`` (the error report); ``base`` holds what they share.
"""

from services.common.tabular.base import (
    MIB,
    NO_DATA,
    NOT_A_TABLE,
    Column,
    ErrorEntry,
    Row,
    TabularError,
    spool,
)
from services.common.tabular.export import stream_csv, stream_xlsx
from services.common.tabular.reading import Table, open_table, read_table, row_errors
from services.common.tabular.report import REPORT_HEADERS, sheet_message, write_error_report
from services.common.tabular.templates import write_template

__all__ = [
    "MIB",
    "NOT_A_TABLE",
    "NO_DATA",
    "REPORT_HEADERS",
    "Column",
    "ErrorEntry",
    "Row",
    "Table",
    "TabularError",
    "open_table",
    "read_table",
    "row_errors",
    "sheet_message",
    "spool",
    "stream_csv",
    "stream_xlsx",
    "write_error_report",
    "write_template",
]
