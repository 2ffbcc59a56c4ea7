"""ledger.calendar: working days, deadlines and timeliness (DOMAIN.md §4, HN 23).

The holiday facts below were checked against the installed chinesecalendar data:
National Day 2024 is Oct 1-7 with Sun Sep 29 and Sat Oct 12 worked; Spring Festival
2025 is Jan 28-Feb 4 with Sun Jan 26 and Sat Feb 8 worked.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, tzinfo
from importlib.metadata import version
from zoneinfo import ZoneInfo

import pytest
from chinese_calendar import find_workday, holidays  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.calendar import (
    CALENDAR_VERSION,
    DEFAULT_CALENDAR,
    PROVISIONAL_YEAR_END_DAYS,
    WorkingDays,
    local_date,
    timeliness,
)

HN23_WORKING_DAYS = 5  # the hunan-sme-2015 policy value (DOMAIN.md §6)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = DEFAULT_CALENDAR
D = date


def at(day: date, hh: int, mm: int, tz: tzinfo = SHANGHAI) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)


# --- the calendar data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2024, 9, 28), False),  # Saturday
        (D(2024, 9, 29), True),  # Sunday, make-up working day for National Day
        (D(2024, 10, 1), False),
        (D(2024, 10, 7), False),  # Monday inside the holiday
        (D(2024, 10, 8), True),
        (D(2024, 10, 12), True),  # Saturday, make-up working day
        (D(2024, 10, 13), False),
        (D(2025, 1, 26), True),  # Sunday, make-up working day for Spring Festival
        (D(2025, 1, 28), False),
        (D(2025, 2, 4), False),  # Tuesday inside the holiday
        (D(2025, 2, 8), True),  # Saturday, make-up working day
        (D(2024, 11, 15), True),  # an ordinary Friday
        (D(2024, 11, 16), False),  # an ordinary Saturday
    ],
)
def test_is_working_day_follows_holidays_and_make_up_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_uncovered_days_are_none() -> None:
    assert CAL.is_working_day(D(2100, 1, 4)) is None
    assert CAL.is_working_day(D(2003, 12, 31)) is None
    assert CAL.is_working_day(D(2004, 1, 2)) is not None


def test_coverage_follows_the_package() -> None:
    years = min(holidays).year, max(holidays).year
    assert CAL.first == D(years[0], 1, 1)
    assert CAL.last == D(years[1], 12, 31) - timedelta(days=PROVISIONAL_YEAR_END_DAYS)
    assert CAL.is_working_day(D(years[1], 12, 31)) is None  # next year's notice may move it
    assert CAL.is_working_day(D(years[1] + 1, 6, 1)) is None


def test_year_end_is_provisional_because_next_years_notice_moves_it() -> None:
    # The 2019 New Year notice made Mon 2018-12-31 a holiday and Sat 2018-12-29 a working day;
    # a calendar that only knew 2018's own notice would have had both wrong.
    assert CAL.is_working_day(D(2018, 12, 31)) is False
    assert CAL.is_working_day(D(2018, 12, 29)) is True
    only_2018 = WorkingDays(last=D(2018, 12, 31) - timedelta(days=PROVISIONAL_YEAR_END_DAYS))
    assert only_2018.is_working_day(D(2018, 12, 29)) is None
    assert only_2018.deadline(D(2018, 12, 21), HN23_WORKING_DAYS).status == "pending"


def test_calendar_version_names_the_installed_package() -> None:
    assert CALENDAR_VERSION.split(" ") == ["chinesecalendar", version("chinesecalendar")]


# --- deadlines -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "due"),
    [
        # Friday before National Day 2024: Sep 29 (Sun, make-up), Sep 30, Oct 8, 9, 10
        (D(2024, 9, 27), D(2024, 10, 10)),
        (D(2024, 9, 28), D(2024, 10, 10)),  # a Saturday basis: the make-up Sunday is day 1
        (D(2024, 9, 30), D(2024, 10, 12)),  # Oct 8-11, then the make-up Saturday
        (D(2024, 10, 7), D(2024, 10, 12)),  # basis on a holiday; the make-up Saturday counts
        (D(2024, 10, 8), D(2024, 10, 14)),
        # Friday before Spring Festival 2025: Jan 26 (Sun, make-up), Jan 27, Feb 5, 6, 7
        (D(2025, 1, 24), D(2025, 2, 7)),
        (D(2025, 1, 27), D(2025, 2, 10)),  # Feb 5, 6, 7, 8 (Sat, make-up), 10
        (D(2024, 11, 15), D(2024, 11, 22)),  # an ordinary Friday: the next Friday
        (D(2024, 11, 18), D(2024, 11, 25)),  # an ordinary Monday: the next Monday
    ],
)
def test_deadline_is_fifth_working_day_after_basis(basis: date, due: date) -> None:
    deadline = CAL.deadline(basis, HN23_WORKING_DAYS)
    assert deadline.due == due
    assert deadline.status == "ok"
    assert deadline.calendar_version == CALENDAR_VERSION
    assert (deadline.basis, deadline.working_days) == (basis, HN23_WORKING_DAYS)


def test_number_of_working_days_is_a_parameter() -> None:
    assert CAL.add(D(2024, 9, 27), 1) == D(2024, 9, 29)
    assert CAL.add(D(2024, 9, 27), 3) == D(2024, 10, 8)
    assert CAL.add(D(2024, 9, 27), 10) == D(2024, 10, 16)  # ... 11, 12 (Sat), 14, 15, 16


@pytest.mark.parametrize("basis", [D(2100, 3, 1), D(2026, 12, 20), D(2030, 1, 1)])
def test_deadline_beyond_coverage_is_pending(basis: date) -> None:
    deadline = CAL.deadline(basis, HN23_WORKING_DAYS)
    assert deadline.status == "pending"
    assert deadline.due is None
    assert deadline.calendar_version == CALENDAR_VERSION


def test_deadline_just_inside_coverage_is_computed() -> None:
    assert CAL.deadline(D(2026, 12, 15), HN23_WORKING_DAYS).due == D(2026, 12, 22)


def test_start_day_before_coverage_is_not_needed() -> None:
    # The start day is not counted, so its own status does not matter.
    assert CAL.add(D(2003, 12, 31), 1) == CAL.add(D(2004, 1, 1), 1)
    assert CAL.add(D(2003, 12, 30), 1) is None  # would need 2003-12-31


def test_the_last_covered_day_itself_is_never_stepped_past() -> None:
    assert CAL.add(CAL.last, 1) is None
    assert CAL.add(date.max, 1) is None


@pytest.mark.parametrize("n", [0, -1, True])
def test_add_rejects_non_positive_counts(n: int) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        CAL.add(D(2024, 9, 27), n)


def test_add_rejects_a_datetime_basis() -> None:
    with pytest.raises(TypeError, match="calendar date"):
        CAL.deadline(at(D(2024, 9, 27), 9, 0), HN23_WORKING_DAYS)


def test_results_are_frozen() -> None:
    deadline = CAL.deadline(D(2024, 9, 27), HN23_WORKING_DAYS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadline.due = None  # type: ignore[misc]


# --- timeliness ----------------------------------------------------------------------

DUE_NATIONAL_DAY = D(2024, 10, 10)  # deadline for a basis on Fri 2024-09-27


def judge(recorded_at: datetime) -> str:
    return timeliness(D(2024, 9, 27), recorded_at, HN23_WORKING_DAYS).status


def test_timely_on_the_due_date_late_the_day_after() -> None:
    assert judge(at(DUE_NATIONAL_DAY, 23, 59)) == "timely"
    assert judge(at(DUE_NATIONAL_DAY + timedelta(days=1), 0, 0)) == "late"
    assert judge(at(D(2024, 9, 27), 10, 0)) == "timely"  # the basis day itself


def test_timeliness_reports_due_and_local_date() -> None:
    result = timeliness(D(2024, 9, 27), at(D(2024, 10, 10), 16, 0, UTC), HN23_WORKING_DAYS)
    assert result.status == "late"
    assert result.due == DUE_NATIONAL_DAY
    assert result.recorded_on == D(2024, 10, 11)
    assert result.calendar_version == CALENDAR_VERSION


def test_utc_evening_on_due_date_is_next_day_in_shanghai() -> None:
    assert judge(at(DUE_NATIONAL_DAY, 15, 59, UTC)) == "timely"  # 23:59 in Shanghai
    assert judge(at(DUE_NATIONAL_DAY, 16, 0, UTC)) == "late"  # 00:00 next day in Shanghai
    new_york = ZoneInfo("America/New_York")
    assert judge(at(DUE_NATIONAL_DAY, 12, 30, new_york)) == "late"  # 00:30 next day


def test_next_day_elsewhere_can_still_be_due_date_in_shanghai() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert judge(at(DUE_NATIONAL_DAY + timedelta(days=1), 0, 30, tokyo)) == "timely"
    after_due = DUE_NATIONAL_DAY + timedelta(days=1)
    assert judge(datetime(2024, 10, 10, 23, 30, tzinfo=UTC)) == "late"
    assert local_date(datetime(2024, 10, 10, 23, 30, tzinfo=UTC)) == after_due


def test_timeliness_beyond_coverage_is_pending() -> None:
    result = timeliness(D(2100, 3, 1), at(D(2100, 3, 1), 9, 0), HN23_WORKING_DAYS)
    assert result.status == "pending"
    assert result.due is None
    assert result.recorded_on == D(2100, 3, 1)


def test_naive_recorded_at_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        timeliness(D(2024, 9, 27), datetime(2024, 10, 10, 9, 0), HN23_WORKING_DAYS)


# --- properties ----------------------------------------------------------------------

days = st.dates(min_value=D(2003, 10, 1), max_value=D(2027, 3, 31))
counts = st.integers(min_value=1, max_value=40)
moments = st.datetimes(
    min_value=datetime(2003, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.timezones()
)


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]."""
    span = (end - start).days
    return sum(bool(CAL.is_working_day(start + timedelta(days=i))) for i in range(1, span + 1))


@settings(max_examples=300, deadline=None)
@given(days, counts)
def test_add_lands_on_the_nth_working_day_after(start: date, n: int) -> None:
    result = CAL.add(start, n)
    if result is None:
        return
    assert result > start
    assert CAL.is_working_day(result) is True
    assert working_days_between(start, result) == n
    assert result == find_workday(n - 1, start + timedelta(days=1))  # the package's own walk


@settings(max_examples=300, deadline=None)
@given(days, counts)
def test_add_is_monotonic_in_n(start: date, n: int) -> None:
    shorter, longer = CAL.add(start, n), CAL.add(start, n + 1)
    if longer is not None:
        assert shorter is not None
        assert shorter < longer


@settings(max_examples=300, deadline=None)
@given(days, counts)
def test_pending_only_when_an_uncovered_day_is_needed(start: date, n: int) -> None:
    result = CAL.add(start, n)
    first_needed = start + timedelta(days=1)
    if result is None:
        assert not CAL.covers(first_needed) or working_days_between(start, CAL.last) < n
    else:
        assert CAL.first <= first_needed <= result <= CAL.last


@settings(max_examples=200, deadline=None)
@given(days, moments, counts)
def test_timeliness_agrees_with_deadline(basis: date, moment: datetime, n: int) -> None:
    result = timeliness(basis, moment, n)
    due = CAL.deadline(basis, n).due
    assert result.due == due
    assert result.recorded_on == moment.astimezone(SHANGHAI).date()
    if due is None:
        assert result.status == "pending"
    else:
        assert result.status == ("timely" if result.recorded_on <= due else "late")
