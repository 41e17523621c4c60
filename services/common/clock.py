"""One clock for the whole process, so tests can set the time. Store UTC, show Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

_fixed: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC (or the time a test has set)."""
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC)


def today() -> date:
    """Today's date in the city (Asia/Shanghai)."""
    return now().astimezone(SHANGHAI).date()


def set_now(value: datetime | None) -> None:
    """Freeze the clock at ``value`` (naive means UTC); ``None`` lets it run again."""
    global _fixed
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    _fixed = value


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward (freezing it at now first if it runs)."""
    set_now(now() + delta)


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime read back from SQLite as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local(value: datetime) -> datetime:
    """The same instant in Asia/Shanghai, for display."""
    return as_utc(value).astimezone(SHANGHAI)
