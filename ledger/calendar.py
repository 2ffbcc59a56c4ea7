"""Working days in mainland China, for the timeliness rule (DOMAIN.md §4, HN 23).

A service record is timely when it is entered within N working days of the day its
basis arose (HN 23: "在服务依据产生的5个工作日内"; N is a policy parameter, §6):

- the start day is not counted: the deadline is the N-th working day *after* the basis day;
- statutory holidays are not working days; make-up working days (调休) are;
- dates are local dates in Asia/Shanghai.

The holiday data comes from the ``chinesecalendar`` package. Where it has no data the
answer is "pending", never a guess. That includes the last days of its final year: the
State Council's New Year notice for the *following* year has moved such days before
(2006-12-30/31, 2007-12-29, 2011-12-31 and 2018-12-29 became working days; 2007-12-31 and
2018-12-31 holidays), so they stay pending until the package covers the next year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib.metadata import version
from typing import Literal
from zoneinfo import ZoneInfo

from chinese_calendar import holidays, is_workday  # type: ignore[import-untyped]

CALENDAR_VERSION: str = f"chinesecalendar {version('chinesecalendar')}"
TIME_ZONE = ZoneInfo("Asia/Shanghai")
# Days at the end of the package's final year that the next year's notice may still move.
PROVISIONAL_YEAR_END_DAYS = 7

DeadlineStatus = Literal["ok", "pending"]
TimelinessStatus = Literal["timely", "late", "pending"]

_ONE_DAY = timedelta(days=1)


def _package_first_day() -> date:
    """1 January of the first year the package has data for."""
    return date(min(holidays).year, 1, 1)


def _package_last_day() -> date:
    """The last day of the package's final year that no later notice can move."""
    return date(max(holidays).year, 12, 31) - timedelta(days=PROVISIONAL_YEAR_END_DAYS)


@cache
def _package_workday(d: date) -> bool | None:
    """The package's answer for ``d`` (None where it has no data), asked once a day: each
    question of the package scans its whole holiday table."""
    try:
        return bool(is_workday(d))
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class Deadline:
    """The last day a record whose basis arose on ``basis`` may be entered and still be timely."""

    basis: date
    working_days: int
    due: date | None
    status: DeadlineStatus
    calendar_version: str = CALENDAR_VERSION


@dataclass(frozen=True)
class Timeliness:
    """Whether a record entered at ``recorded_on`` (Asia/Shanghai date) met its deadline."""

    status: TimelinessStatus
    basis: date
    working_days: int
    due: date | None
    recorded_on: date
    calendar_version: str = CALENDAR_VERSION


@dataclass(frozen=True)
class WorkingDays:
    """The working-day calendar, answering only for days in ``[first, last]``."""

    first: date = field(default_factory=_package_first_day)
    last: date = field(default_factory=_package_last_day)

    def covers(self, d: date) -> bool:
        """True when ``d`` lies in the covered range."""
        return self.first <= d <= self.last

    def is_working_day(self, d: date) -> bool | None:
        """True for a working day (make-up days included), False otherwise, None if not covered."""
        if not self.covers(d):
            return None
        return _package_workday(d)

    def add(self, start: date, n: int) -> date | None:
        """The n-th working day after ``start`` (start not counted); None if not covered."""
        _check_arguments(start, n)
        day, counted = start, 0
        while counted < n:
            if day >= self.last:
                return None
            day += _ONE_DAY
            working = self.is_working_day(day)
            if working is None:
                return None
            if working:
                counted += 1
        return day

    def deadline(self, basis: date, working_days: int) -> Deadline:
        """The due date for a record whose basis arose on ``basis``, or a pending deadline."""
        due = self.add(basis, working_days)
        status: DeadlineStatus = "pending" if due is None else "ok"
        return Deadline(basis=basis, working_days=working_days, due=due, status=status)


DEFAULT_CALENDAR = WorkingDays()


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of a timezone-aware moment."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"recorded_at must be timezone-aware (got naive {moment.isoformat()}); "
            "attach its zone, e.g. datetime(..., tzinfo=ZoneInfo('Asia/Shanghai'))"
        )
    return moment.astimezone(TIME_ZONE).date()


def timeliness(
    basis: date,
    recorded_at: datetime,
    working_days: int,
    calendar: WorkingDays = DEFAULT_CALENDAR,
) -> Timeliness:
    """Timely when recorded (Shanghai date) no later than the deadline; else late, or pending."""
    recorded_on = local_date(recorded_at)
    due = calendar.deadline(basis, working_days).due
    return Timeliness(_judge(due, recorded_on), basis, working_days, due, recorded_on)


def _judge(due: date | None, recorded_on: date) -> TimelinessStatus:
    if due is None:
        return "pending"
    return "timely" if recorded_on <= due else "late"


def _check_arguments(start: date, n: int) -> None:
    if isinstance(start, datetime) or not isinstance(start, date):
        raise TypeError(f"the basis must be a calendar date, got {start!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of working days must be a positive integer, got {n!r}")
