"""Working days in mainland China: Monday to Friday, less the statutory holidays, plus the
make-up working days (调休) that the State Council moves onto weekends each year.

The calendar is the `holidays` library's (python-holidays, `holidays.China`), which follows
the State Council's yearly notice and is released every month; it is not kept by hand
here. A year whose notice the installed version does not have yet (the notice comes out
in November for the next year) still gets the statutory holidays, computed from the
lunar calendar, but not that year's make-up working days: `calendar_published` tells,
and the system check `core.W003` warns until `holidays` is upgraded.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import holidays
from holidays.countries.china import ChinaStaticHolidays


@lru_cache(maxsize=16)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def is_working_day(day: datetime.date) -> bool:
    """A day the bank's staff work: not a weekend unless a make-up day, not a holiday."""
    return _china(day.year).is_working_day(day)


def calendar_published(year: int) -> bool:
    """Whether the installed calendar holds the State Council's notice for `year` (its
    holidays moved to bridge weekends and its make-up working days)."""
    return year in ChinaStaticHolidays.special_public_holidays


def calendar_version() -> str:
    return holidays.__version__
