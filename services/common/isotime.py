"""Dates and times in query parameters: ISO 8601 text only.

Pydantic reads a number as a Unix timestamp (``since=0.5`` is 1970-01-01T00:00:00.5Z, ``as_of=0``
is 1970-01-01), which no caller means; the OpenAPI document promises ``format: date`` /
``date-time`` strings, so anything else is refused with a Chinese sentence naming the form.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?")
DATE_FORM = "日期格式应为 YYYY-MM-DD，如 2026-03-31"
DATETIME_FORM = "时间格式应为 ISO 8601，如 2026-03-01T08:00:00+08:00"


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not _DATE.fullmatch(value.strip()):
        raise ValueError(DATE_FORM)
    return value


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, str) and not _DATETIME.fullmatch(value.strip()):
        raise ValueError(DATETIME_FORM)
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
