"""FEEL operators on internal values: arithmetic (numbers and temporals) and properties."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from processes.feel.runtime import Scope
from processes.feel.temporal import add_months, date_plus_td, td_millis, time_plus_td
from processes.feel.values import D34, YearMonthDuration, feel_string, kind

_date = dt.date
_datetime = dt.datetime
_time = dt.time
_td = dt.timedelta
_ym = YearMonthDuration


def _num(v: Any) -> bool:
    t = type(v)
    return t is int or t is Decimal


def _describe(v: Any) -> str:
    text = feel_string(v, True)
    return "null" if text is None else text


def _fail(s: Scope, verb: str, a: Any, b: Any) -> None:
    s.warn("INVALID_TYPE", f"Can't {verb} '{_describe(b)}' {_PREP[verb]} '{_describe(a)}'")


_PREP = {"add": "to", "subtract": "from", "multiply": "by", "divide": "by", "power": "by"}


def number_from_float(f: float) -> Decimal | None:
    """A double's shortest decimal text as a FEEL number (None for NaN/infinity)."""
    if math.isnan(f) or math.isinf(f):
        return None
    return Decimal(repr(f))


def add(s: Scope, a: Any, b: Any) -> Any:
    """``a + b``."""
    ta, tb = type(a), type(b)
    try:
        if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
            if ta is int and tb is int:
                return a + b
            return D34.add(a, b)
        if ta is str and tb is str:
            return a + b
        if a is None or b is None:
            _fail(s, "add", a, b)
            return None
        if ta is _ym:
            if tb is _ym:
                return _ym(a.months + b.months)
            if tb is _date or tb is _datetime:
                return add_months(b, a.months)
        elif ta is _td:
            if tb is _td:
                return a + b
            if tb is _date:
                return date_plus_td(b, a)
            if tb is _datetime:
                return b + a
            if tb is _time:
                return time_plus_td(b, a)
        elif ta is _date:
            if tb is _ym:
                return add_months(a, b.months)
            if tb is _td:
                return date_plus_td(a, b)
        elif ta is _datetime:
            if tb is _ym:
                return add_months(a, b.months)
            if tb is _td:
                return a + b
        elif ta is _time and tb is _td:
            return time_plus_td(a, b)
    except (OverflowError, ValueError, InvalidOperation):
        return None
    _fail(s, "add", a, b)
    return None


def sub(s: Scope, a: Any, b: Any) -> Any:
    """``a - b``."""
    ta, tb = type(a), type(b)
    try:
        if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
            if ta is int and tb is int:
                return a - b
            return D34.subtract(a, b)
        if a is None or b is None:
            _fail(s, "subtract", a, b)
            return None
        if ta is _ym:
            if tb is _ym:
                return _ym(a.months - b.months)
        elif ta is _td:
            if tb is _td:
                return a - b
        elif ta is _date:
            if tb is _date:
                return _td(days=(a - b).days)
            if tb is _ym:
                return add_months(a, -b.months)
            if tb is _td:
                return date_plus_td(a, -b)
        elif ta is _datetime:
            if tb is _datetime:
                if (a.tzinfo is None) != (b.tzinfo is None):
                    _fail(s, "subtract", a, b)
                    return None
                if a.tzinfo is not None:
                    return a.astimezone(dt.UTC) - b.astimezone(dt.UTC)
                return a - b
            if tb is _ym:
                return add_months(a, -b.months)
            if tb is _td:
                return a - b
        elif ta is _time:
            if tb is _td:
                return time_plus_td(a, -b)
            if tb is _time:
                if (a.tzinfo is None) != (b.tzinfo is None):
                    _fail(s, "subtract", a, b)
                    return None
                if a.tzinfo is None:
                    return _time_secs(a) - _time_secs(b)
                base = dt.date(2000, 1, 1)
                da = dt.datetime.combine(base, a).astimezone(dt.UTC)
                db = dt.datetime.combine(base, b).astimezone(dt.UTC)
                return abs(da - db)
    except (OverflowError, ValueError, InvalidOperation):
        return None
    _fail(s, "subtract", a, b)
    return None


def _time_secs(t: dt.time) -> dt.timedelta:
    return _td(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def mul(s: Scope, a: Any, b: Any) -> Any:
    """``a * b``."""
    ta, tb = type(a), type(b)
    try:
        if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
            if ta is int and tb is int:
                r = a * b
                if -(10**34) < r < 10**34:
                    return r
            return D34.multiply(a, b)
        if tb is _ym or tb is _td:
            a, b, ta, tb = b, a, tb, ta
        if (tb is int or tb is Decimal) and b is not None:
            if ta is _ym:
                return _ym(a.months * int(b))
            if ta is _td:
                return a * int(b)
    except (OverflowError, ValueError, InvalidOperation):
        return None
    _fail(s, "multiply", a, b)
    return None


def div(s: Scope, a: Any, b: Any) -> Any:
    """``a / b`` (null for a zero divisor)."""
    ta, tb = type(a), type(b)
    try:
        if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
            if b == 0:
                s.warn("INVALID_TYPE", f"Can't divide '{_describe(a)}' by zero")
                return None
            return D34.divide(a, b)
        if ta is _ym:
            if tb is _ym:
                if b.months == 0:
                    return None
                return _trunc_div(a.months, b.months)
            if tb is int or tb is Decimal:
                if b == 0:
                    return None
                return _ym(int(D34.divide(a.months, b)))
        elif ta is _td:
            if tb is _td:
                mb = td_millis(b)
                if mb == 0:
                    return None
                return _trunc_div(td_millis(a), mb)
            if tb is int or tb is Decimal:
                if b == 0:
                    return None
                return _td(milliseconds=int(D34.divide(td_millis(a), b)))
    except (OverflowError, ValueError, InvalidOperation):
        return None
    _fail(s, "divide", a, b)
    return None


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def power(s: Scope, a: Any, b: Any) -> Any:
    """``a ** b``: exact for integral exponents, via doubles otherwise."""
    if not (_num(a) and _num(b)):
        _fail(s, "power", a, b)
        return None
    try:
        if b == int(b):
            e = int(b)
            if abs(e) > 999_999_999:
                return None
            return D34.power(Decimal(a), e)
        r = math.pow(float(a), float(b))
        return number_from_float(r)
    except (OverflowError, ValueError, InvalidOperation, ZeroDivisionError):
        return None


def neg(s: Scope, a: Any) -> Any:
    """Unary minus (numbers only)."""
    t = type(a)
    if t is int:
        return -a
    if t is Decimal:
        return D34.minus(a)
    s.warn("INVALID_TYPE", f"Can't negate '{_describe(a)}'")
    return None


# --- properties ----------------------------------------------------------------------------


def _offset_of(v: dt.time | dt.datetime) -> dt.timedelta | None:
    if v.tzinfo is None:
        return None
    if isinstance(v, dt.datetime):
        return v.utcoffset()
    off = v.tzinfo.utcoffset(None)
    if off is None:
        off = v.tzinfo.utcoffset(dt.datetime(2000, 1, 1))
    return off


def _timezone_of(v: dt.time | dt.datetime) -> str | None:
    tz = v.tzinfo
    if tz is None:
        return None
    key = getattr(tz, "key", None)
    if key is not None:
        return key
    from processes.feel.values import format_offset

    off = _offset_of(v)
    return format_offset(off) if off is not None else None


def property_of(v: Any, name: str) -> Any:
    """A temporal or range property, or ``MISSING`` when the value has no such property."""
    from processes.feel.runtime import MISSING
    from processes.feel.values import Range, UnaryTest

    t = type(v)
    if t is _date or t is _datetime:
        if name == "year":
            return v.year
        if name == "month":
            return v.month
        if name == "day":
            return v.day
        if name == "weekday":
            return v.isoweekday()
    if t is _time or t is _datetime:
        if name == "hour":
            return v.hour
        if name == "minute":
            return v.minute
        if name == "second":
            return v.second
        if name == "time offset":
            return _offset_of(v)
        if name == "timezone":
            return _timezone_of(v)
    if t is _td:
        total = td_millis(v) // 1000 if v >= _td(0) else -(td_millis(-v) // 1000)
        sign = -1 if total < 0 else 1
        total = abs(total)
        if name == "days":
            return sign * (total // 86400)
        if name == "hours":
            return sign * (total % 86400 // 3600)
        if name == "minutes":
            return sign * (total % 3600 // 60)
        if name == "seconds":
            return sign * (total % 60)
    if t is _ym:
        sign = -1 if v.months < 0 else 1
        if name == "years":
            return sign * (abs(v.months) // 12)
        if name == "months":
            return sign * (abs(v.months) % 12)
    if t is UnaryTest:
        op, value = v.op, v.value
        if name == "start":
            return value if op in (">", ">=", "=") else None
        if name == "end":
            return value if op in ("<", "<=", "=") else None
        if name == "start included":
            return op in (">=", "=")
        if name == "end included":
            return op in ("<=", "=")
    if t is Range:
        if name == "start":
            return v.start
        if name == "end":
            return v.end
        if name == "start included":
            return v.start_included
        if name == "end included":
            return v.end_included
    return MISSING


def type_name(v: Any) -> str:
    """FEEL type name for messages."""
    return kind(v)
