"""Temporal values: parsing of FEEL literals/strings and calendar arithmetic."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from processes.feel.values import YearMonthDuration

_DATE_RE = re.compile(r"(-?(?:[1-9]\d{4,8}|\d{4}))-(\d\d)-(\d\d)")
_TIME_RE = re.compile(
    r"(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?"
    r"(?:([Zz]|[+-]\d\d:\d\d(?::\d\d)?)(?:\[([\w/+\-]+)\])?|@([\w/+\-]+))?"
)
_YM_RE = re.compile(r"(-)?P(?:(-?\d+)Y)?(?:(-?\d+)M)?")
_DT_RE = re.compile(r"(-)?P(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+(?:\.\d*)?)S)?)?")


@lru_cache(maxsize=256)
def zone(name: str) -> dt.tzinfo | None:
    """A zone by id (``Europe/Paris``, ``UTC``, ``Z``), or None when unknown."""
    if name == "Z":
        return dt.UTC
    if re.fullmatch(r"[+-]\d\d:\d\d", name):
        return _offset(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _offset(text: str) -> dt.tzinfo | None:
    if text in ("Z", "z"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text[1:].split(":")]
    h, m = parts[0], parts[1]
    s = parts[2] if len(parts) > 2 else 0
    if h > 18 or m > 59 or s > 59:
        return None
    delta = dt.timedelta(hours=h, minutes=m, seconds=s) * sign
    if delta == dt.timedelta(0):
        return dt.UTC
    return dt.timezone(delta)


def parse_date(text: str) -> dt.date | None:
    """A strict ISO calendar date, or None."""
    m = _DATE_RE.fullmatch(text)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _parse_time_match(m: re.Match[str]) -> dt.time | None:
    hour, minute = int(m.group(1)), int(m.group(2))
    second = int(m.group(3) or 0)
    frac = m.group(4)
    micro = int((frac + "000000")[:6]) if frac else 0
    tz: dt.tzinfo | None = None
    if m.group(5):
        tz = _offset(m.group(5))
        if tz is None:
            return None
        if m.group(6):
            tz = zone(m.group(6))
            if tz is None:
                return None
    elif m.group(7):
        tz = zone(m.group(7))
        if tz is None:
            return None
    try:
        return dt.time(hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


def parse_time(text: str) -> dt.time | None:
    """A FEEL time (``10:20:00``, ``10:20:00+01:00``, ``10:20:00@Europe/Paris``), or None."""
    if text.startswith("T"):
        text = text[1:]
    m = _TIME_RE.fullmatch(text)
    if not m:
        return None
    return _parse_time_match(m)


def parse_datetime(text: str) -> dt.datetime | None:
    """A FEEL date and time; a bare date gives local midnight."""
    if "T" not in text:
        d = parse_date(text)
        return dt.datetime(d.year, d.month, d.day) if d else None
    date_text, _, time_text = text.partition("T")
    d = parse_date(date_text)
    if d is None:
        return None
    m = _TIME_RE.fullmatch(time_text)
    if not m or m.group(3) is None:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour == 24 and minute == 0 and int(m.group(3)) == 0 and not m.group(4):
        t = _parse_time_match(_TIME_RE.fullmatch("00" + time_text[2:]))  # type: ignore[arg-type]
        if t is None:
            return None
        return dt.datetime.combine(d, t) + dt.timedelta(days=1)
    t = _parse_time_match(m)
    if t is None:
        return None
    result = dt.datetime.combine(d, t.replace(tzinfo=None))
    if t.tzinfo is not None:
        result = result.replace(tzinfo=t.tzinfo)
    return result


def parse_ym_duration(text: str) -> YearMonthDuration | None:
    """``P1Y2M`` style, or None."""
    m = _YM_RE.fullmatch(text)
    if not m or (m.group(2) is None and m.group(3) is None):
        return None
    months = int(m.group(2) or 0) * 12 + int(m.group(3) or 0)
    return YearMonthDuration(-months if m.group(1) else months)


def parse_dt_duration(text: str) -> dt.timedelta | None:
    """``P1DT2H3M4.5S`` style, or None."""
    m = _DT_RE.fullmatch(text)
    if not m or all(m.group(i) is None for i in range(2, 6)):
        return None
    if text.endswith("T"):
        return None
    try:
        secs = Decimal(m.group(5) or 0)
        td = dt.timedelta(
            days=int(m.group(2) or 0),
            hours=int(m.group(3) or 0),
            minutes=int(m.group(4) or 0),
            seconds=int(secs),
            microseconds=int((secs - int(secs)) * 1_000_000),
        )
    except OverflowError:
        return None
    return -td if m.group(1) else td


def parse_duration(text: str) -> dt.timedelta | YearMonthDuration | None:
    """Either kind of duration."""
    ym = parse_ym_duration(text)
    if ym is not None:
        return ym
    return parse_dt_duration(text)


def parse_at_literal(text: str) -> Any:
    """The value of an ``@"..."`` literal (type chosen by shape), or None."""
    body = text.lstrip("-")
    if body.startswith("P"):
        return parse_duration(text)
    d = parse_date(text)
    if d is not None:
        return d
    if "T" in text[1:]:
        return parse_datetime(text)
    return parse_time(text)


# --- arithmetic --------------------------------------------------------------------------


def add_months(value: Any, months: int) -> Any:
    """Shift a date or date-time by months, clamping to the month end."""
    total = value.year * 12 + (value.month - 1) + months
    year, month0 = divmod(total, 12)
    if year < 1 or year > 9999:
        return None
    day = min(value.day, calendar.monthrange(year, month0 + 1)[1])
    return value.replace(year=year, month=month0 + 1, day=day)


def months_between(a: dt.date, b: dt.date) -> int:
    """Whole months from ``a`` to ``b`` (Java ``Period.between`` semantics, total months)."""
    months = (b.year - a.year) * 12 + (b.month - a.month)
    a_rest: tuple[int] | tuple[int, dt.time]
    b_rest: tuple[int] | tuple[int, dt.time]
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        a_rest = (a.day, a.time())
        b_rest = (b.day, b.time())
    else:
        a_rest = (a.day,)
        b_rest = (b.day,)
    if months > 0 and b_rest < a_rest:
        months -= 1
    elif months < 0 and b_rest > a_rest:
        months += 1
    return months


def date_plus_td(d: dt.date, td: dt.timedelta) -> dt.date | None:
    """A date shifted by a days-time duration (applied at midnight, date part kept)."""
    try:
        return (dt.datetime(d.year, d.month, d.day) + td).date()
    except OverflowError:
        return None


def time_plus_td(t: dt.time, td: dt.timedelta) -> dt.time:
    """A time shifted by a duration, wrapping at midnight."""
    base = dt.datetime(2000, 1, 1, t.hour, t.minute, t.second, t.microsecond)
    moved = base + td
    return moved.time().replace(tzinfo=t.tzinfo)


def td_millis(td: dt.timedelta) -> int:
    """Whole milliseconds of a duration."""
    return (td.days * 86400 + td.seconds) * 1000 + td.microseconds // 1000
