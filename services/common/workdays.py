"""Working days of the city: statutory holidays and make-up working days (调休上班日).

    cal = WorkCalendar(overrides={date(2027, 1, 1): False})   # the office's entries: date -> is_workday
    cal.is_workday(d) -> bool
    cal.add_workdays(d, n) -> date          # the n-th working day after d (before d when n < 0)
    cal.workdays_between(a, b) -> int       # working days in (a, b]; negative when b < a
    cal.warning(d) -> str | None            # Chinese sentence when d's year is known to nobody
    cal.warnings_between(a, b) -> list[str] # the same for every year a span touches
    cal.year_days(year) -> list[DayEntry]   # the year's holidays and make-up days, package and office
    load_calendar(peer) -> WorkCalendar     # the office's entries from the registry (GET /calendar), 60 s cache

Sources, strongest first: the office's entries (the admin page 系统管理 → 工作日历, served by the registry),
then the ``chinese_calendar`` package (the State Council's notices up to its release; 1.11.0 knows
2004-2026), then the weekday rule (Monday to Friday). A year counts as known to the office as soon as
it has one entry (the office enters a year's notice as a whole). A date in a year that neither the
office nor the package knows is still answered by the weekday rule, but ``warning(d)`` says so in a
sentence a page shows next to the result: never a silent guess.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import chinese_calendar

if TYPE_CHECKING:
    from services.common.peers import PeerClient

CACHE_SECONDS = 60.0
UNKNOWN_YEAR = "{year} 年的法定节假日和调休安排尚未录入，暂按周一至周五计算；请在 系统管理 → 工作日历 录入国务院通知"
# The package's own English holiday names, for the admin page.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


@dataclass(frozen=True)
class DayEntry:
    """One day that differs from the weekday rule (or that the office entered)."""

    day: date
    is_workday: bool
    source: str  # "package" (国务院通知, as the package has it) or "office" (entered here)
    note: str


def _package_is_workday(d: date) -> bool | None:
    """The package's answer, or None for a year it does not know."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return None


def package_knows(year: int) -> bool:
    return _package_is_workday(date(year, 6, 1)) is not None


def _days(year: int) -> Iterator[date]:
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


class WorkCalendar:
    """Answers working-day questions from the office's entries, the package and the weekday rule."""

    def __init__(self, overrides: Mapping[date, bool] | None = None, notes: Mapping[date, str] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.notes = dict(notes or {})
        self._office_years = {d.year for d in self.overrides}

    def knows(self, year: int) -> bool:
        return year in self._office_years or package_knows(year)

    def is_workday(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        known = _package_is_workday(d)
        return known if known is not None else d.weekday() < 5

    def warning(self, d: date) -> str | None:
        """A sentence for the page when ``d``'s year is known neither to the office nor the package."""
        if d in self.overrides or self.knows(d.year):
            return None
        return UNKNOWN_YEAR.format(year=d.year)

    def warnings_between(self, a: date, b: date) -> list[str]:
        lo, hi = min(a, b), max(a, b)
        found = (self.warning(date(y, 1, 1)) for y in range(lo.year, hi.year + 1))
        return [w for w in found if w]

    def add_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (``d`` itself does not count); ``n < 0`` goes back."""
        step = timedelta(days=1 if n >= 0 else -1)
        left = abs(n)
        while left:
            d += step
            if self.is_workday(d):
                left -= 1
        return d

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]`` (``a`` excluded, ``b`` included); ``-(b, a]`` when ``b < a``."""
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        d = a
        while d < b:
            d += timedelta(days=1)
            count += self.is_workday(d)
        return count

    def year_days(self, year: int) -> list[DayEntry]:
        """The year's holidays (weekends inside a holiday included) and make-up working days as the
        package has them, and the office's entries (which replace the package's), in date order."""
        entries: dict[date, DayEntry] = {}
        if package_knows(year):
            for d in _days(year):
                on_holiday, name = chinese_calendar.get_holiday_detail(d)
                weekend = d.weekday() >= 5
                if on_holiday and (name or not weekend):
                    entries[d] = DayEntry(d, False, "package", HOLIDAY_NAMES.get(name or "", name or "休息日"))
                elif not on_holiday and weekend:
                    label = HOLIDAY_NAMES.get(name or "", name or "")
                    entries[d] = DayEntry(d, True, "package", f"{label}调休上班" if label else "调休上班")
        for d, is_workday in self.overrides.items():
            if d.year == year:
                entries[d] = DayEntry(d, is_workday, "office", self.notes.get(d, ""))
        return [entries[d] for d in sorted(entries)]


# --- the office's entries, from the registry ---------------------------------------------------

_cache: dict[str, tuple[float, WorkCalendar]] = {}
_cache_lock = threading.Lock()


def calendar_from_items(items: list[dict[str, object]]) -> WorkCalendar:
    """A calendar from ``GET /calendar`` items (``date``, ``is_workday``, ``note``)."""
    overrides = {date.fromisoformat(str(i["date"])): bool(i["is_workday"]) for i in items}
    notes = {date.fromisoformat(str(i["date"])): str(i.get("note") or "") for i in items}
    return WorkCalendar(overrides, notes)


def load_calendar(peer: PeerClient) -> WorkCalendar:
    """The office's calendar from the registry (``GET /calendar``), cached for 60 s per registry."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(peer.base_url)
        if hit is not None and hit[0] > now:
            return hit[1]
    body = peer.get_json("/calendar")
    calendar = calendar_from_items(list(body.get("items") or []))
    with _cache_lock:
        _cache[peer.base_url] = (now + CACHE_SECONDS, calendar)
    return calendar


def clear_calendar_cache() -> None:
    """Forget the cached calendars (tests; after the office changed an entry in this process)."""
    with _cache_lock:
        _cache.clear()
