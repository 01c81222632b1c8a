"""Temporal built-ins (``now()``/``today()`` use the injectable clock)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Any

from processes.feel.builtins import builtin, date_like

_clock: Callable[[], dt.datetime] | None = None


def set_clock(clock: Callable[[], dt.datetime] | None) -> None:
    """Use ``clock`` (returning an aware datetime) for ``now()``/``today()``; None = system."""
    global _clock
    _clock = clock


def current_time() -> dt.datetime:
    """The current zoned date-time from the configured clock."""
    if _clock is not None:
        value = _clock()
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


@builtin("now", "")
def now() -> Any:
    return current_time()


@builtin("today", "")
def today() -> Any:
    return current_time().date()


_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = list(calendar.month_name)


@builtin("day of year", "date")
def day_of_year(date: Any) -> Any:
    return date_like(date).timetuple().tm_yday


@builtin("day of week", "date")
def day_of_week(date: Any) -> Any:
    return _DAYS[date_like(date).weekday()]


@builtin("month of year", "date")
def month_of_year(date: Any) -> Any:
    return _MONTHS[date_like(date).month]


@builtin("week of year", "date")
def week_of_year(date: Any) -> Any:
    return date_like(date).isocalendar()[1]


@builtin("last day of month", "date")
def last_day_of_month(date: Any) -> Any:
    d = date_like(date)
    return dt.date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
