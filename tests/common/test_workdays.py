"""Working days over ``chinese_calendar``: the 2026 National Day week as the State Council set it (as
the package 1.11.0 has it: 1-7 October off, Sunday 20 September and Saturday 10 October worked),
into January 2027 (a year the package does not know) with and without the office's entries."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from services.common.config import CommonSettings
from services.common.peers import PeerClient
from services.common.workdays import WorkCalendar, calendar_from_items, clear_calendar_cache, load_calendar


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_the_package_knows_the_2026_national_day_week(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2026, 9, 30))  # Wednesday before the holiday
    assert [cal.is_workday(date(2026, 10, d)) for d in range(1, 8)] == [False] * 7
    assert cal.is_workday(date(2026, 10, 8))  # Thursday after it
    assert cal.is_workday(date(2026, 10, 10))  # Saturday: make-up working day (调休上班)
    assert not cal.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert cal.is_workday(date(2026, 9, 20))  # Sunday: make-up working day
    assert not cal.is_workday(date(2026, 9, 25))  # Friday: Mid-Autumn Festival
    assert cal.warning(date(2026, 10, 1)) is None


def test_adding_working_days_across_the_holiday(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_workdays(date(2026, 9, 29), 3) == date(2026, 10, 9)
    assert cal.add_workdays(date(2026, 10, 8), 3) == date(2026, 10, 12)  # 9, 10 (Saturday worked), 12
    assert cal.add_workdays(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert cal.add_workdays(date(2026, 10, 3), 0) == date(2026, 10, 3)
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 11)) == 3  # 8, 9, 10 October
    assert cal.workdays_between(date(2026, 9, 18), date(2026, 9, 21)) == 2  # Sunday 20th worked, Monday 21st
    assert cal.workdays_between(date(2026, 10, 11), date(2026, 9, 30)) == -3
    assert cal.workdays_between(date(2026, 10, 1), date(2026, 10, 1)) == 0
    assert cal.warnings_between(date(2026, 9, 1), date(2026, 10, 31)) == []


def test_a_year_nobody_knows_uses_monday_to_friday_and_says_so(cal: WorkCalendar) -> None:
    new_year = date(2027, 1, 1)  # a Friday
    assert cal.is_workday(new_year)  # the weekday rule, not a silent holiday guess
    warning = cal.warning(new_year)
    assert warning is not None and "2027 年" in warning and "周一至周五" in warning and "工作日历" in warning
    assert cal.add_workdays(date(2026, 12, 31), 1) == new_year
    assert cal.workdays_between(date(2026, 12, 30), date(2027, 1, 8)) == 7  # 31 Dec, 1 and 4-8 Jan
    assert cal.warnings_between(date(2026, 12, 1), date(2027, 1, 31)) == [warning]
    assert cal.warning(date(2026, 12, 31)) is None


def test_the_offices_entries_win_and_make_the_year_known() -> None:
    office = WorkCalendar(
        {date(2027, 1, 1): False, date(2027, 1, 9): True, date(2026, 10, 9): False},
        {date(2027, 1, 1): "元旦"},
    )
    assert not office.is_workday(date(2027, 1, 1))
    assert office.is_workday(date(2027, 1, 9))  # a Saturday the office made a working day
    assert (
        office.warning(date(2027, 1, 4)) is None and office.warnings_between(date(2026, 12, 1), date(2027, 2, 1)) == []
    )
    assert office.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert office.workdays_between(date(2026, 12, 31), date(2027, 1, 10)) == 6  # 4-8 and Saturday 9 Jan
    # over the package: the office closed Friday 9 October 2026 too
    assert not office.is_workday(date(2026, 10, 9))
    assert office.add_workdays(date(2026, 9, 30), 2) == date(2026, 10, 10)
    days = {e.day: e for e in office.year_days(2027)}
    assert list(days) == [date(2027, 1, 1), date(2027, 1, 9)] and days[date(2027, 1, 1)].note == "元旦"
    assert {e.source for e in days.values()} == {"office"}
    # other years of the package stay untouched; 2028 is still unknown
    assert office.warning(date(2028, 3, 1)) is not None


def test_year_days_lists_the_packages_holidays_and_make_up_days(cal: WorkCalendar) -> None:
    days = {e.day: e for e in cal.year_days(2026)}
    assert days[date(2026, 10, 1)].note == "国庆节" and not days[date(2026, 10, 1)].is_workday
    assert days[date(2026, 10, 3)].note == "国庆节"  # a Saturday inside the holiday
    assert days[date(2026, 10, 10)].is_workday and "调休上班" in days[date(2026, 10, 10)].note
    assert date(2026, 10, 8) not in days and date(2026, 10, 11) not in days
    assert cal.year_days(2027) == []


def test_load_calendar_reads_the_registry_and_caches_for_a_minute() -> None:
    calls: list[httpx.Request] = []

    def registry(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        items = [{"date": "2027-01-01", "is_workday": False, "note": "元旦"}]
        return httpx.Response(200, json={"year": None, "items": items})

    clear_calendar_cache()
    peer = PeerClient(CommonSettings(), "registry", transport=httpx.MockTransport(registry))
    first = load_calendar(peer)
    again = load_calendar(peer)
    assert first is again and len(calls) == 1 and calls[0].url.path == "/calendar"
    assert not first.is_workday(date(2027, 1, 1)) and first.warning(date(2027, 1, 4)) is None
    clear_calendar_cache()
    load_calendar(peer)
    assert len(calls) == 2


def test_calendar_from_items_keeps_notes() -> None:
    cal = calendar_from_items([{"date": "2027-02-06", "is_workday": True, "note": "春节调休上班"}])
    assert cal.is_workday(date(2027, 2, 6)) and cal.notes[date(2027, 2, 6)] == "春节调休上班"
