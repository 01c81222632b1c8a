"""FEEL value types, conversion between Python and FEEL values, equality and ordering.

Internal representation:

* number: ``int`` or ``decimal.Decimal`` (never ``bool`` or ``float``)
* string ``str``, boolean ``bool``, null ``None``
* date ``datetime.date``; time ``datetime.time`` (naive = local);
  date and time ``datetime.datetime`` (naive = local);
  days and time duration ``datetime.timedelta``;
  years and months duration :class:`YearMonthDuration`
* list ``list``, context ``dict`` (insertion ordered), :class:`Range`, :class:`FeelFunction`
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

#: DECIMAL128, as Scala's BigDecimal uses for arithmetic.
D34 = Context(prec=34, rounding=ROUND_HALF_EVEN, Emax=6144, Emin=-6143)

NUMBER_TYPES = (int, Decimal)


@dataclass(frozen=True, slots=True, order=True)
class YearMonthDuration:
    """A FEEL years-and-months duration, as a signed number of months."""

    months: int

    @property
    def years_part(self) -> int:
        """Whole years (signed, truncated)."""
        return int(self.months / 12) if self.months >= 0 else -((-self.months) // 12)

    def __str__(self) -> str:
        return format_ym_duration(self)


@dataclass(frozen=True, slots=True)
class Range:
    """A FEEL range (interval) value; either end may be ``None`` only for unary-test ranges."""

    start: Any
    end: Any
    start_included: bool
    end_included: bool


@dataclass(frozen=True, slots=True)
class UnaryTest:
    """A comparison unary test used as a value (``< 5``), applied to an input value."""

    op: str
    value: Any


class FeelFunction:
    """A callable FEEL function (built-in or user defined)."""

    __slots__ = ("impl", "name", "needs_state", "params", "varargs")

    def __init__(
        self,
        name: str,
        params: tuple[str, ...],
        impl: Callable[..., Any],
        varargs: bool = False,
        needs_state: bool = False,
    ) -> None:
        self.name = name
        self.params = params
        self.impl = impl
        self.varargs = varargs
        self.needs_state = needs_state

    def __repr__(self) -> str:
        return f"function({', '.join(self.params)})"


def is_number(value: Any) -> bool:
    """True for FEEL numbers (excludes booleans)."""
    t = type(value)
    return t is int or t is Decimal


# --- Python <-> FEEL ---------------------------------------------------------------------


def from_python(value: Any) -> Any:
    """Convert an input variable to the internal representation (floats become decimals)."""
    t = type(value)
    if t is str or t is int or t is bool or t is Decimal or value is None:
        if t is Decimal and not value.is_finite():
            return None
        return value
    if t is float:
        if math.isnan(value) or math.isinf(value):
            return None
        return Decimal(repr(value))
    if t is dict:
        return {str(k): from_python(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [from_python(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): from_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_python(v) for v in value]
    return value


def to_python(value: Any) -> Any:
    """Convert an internal value to the public result form (integral numbers become ``int``)."""
    t = type(value)
    if t is Decimal:
        if value == value.to_integral_value():
            return int(value)
        return value
    if t is list:
        return [to_python(v) for v in value]
    if t is dict:
        return {k: to_python(v) for k, v in value.items()}
    return value


# --- kinds, equality, ordering -----------------------------------------------------------

_KINDS: dict[type, str] = {
    int: "number",
    Decimal: "number",
    str: "string",
    bool: "boolean",
    dt.date: "date",
    dt.datetime: "date and time",
    dt.time: "time",
    dt.timedelta: "days and time duration",
    YearMonthDuration: "years and months duration",
    list: "list",
    dict: "context",
    Range: "range",
    FeelFunction: "function",
    UnaryTest: "function",
}


def kind(value: Any) -> str:
    """The FEEL type name of a value ("null" for None)."""
    if value is None:
        return "null"
    k = _KINDS.get(type(value))
    if k is None:
        for base, name in _KINDS.items():
            if isinstance(value, base):
                return name
        return "unknown"
    return k


def is_zoned(value: dt.time | dt.datetime) -> bool:
    """True when a time or date-time carries an offset or zone."""
    return value.tzinfo is not None


def tz_key(tz: dt.tzinfo | None) -> Any:
    """A comparable identity of a time zone (zone id or fixed offset)."""
    if tz is None:
        return None
    key = getattr(tz, "key", None)
    if key is not None:
        return key
    return tz.utcoffset(None)


def feel_equal(a: Any, b: Any) -> bool | None:
    """FEEL ``=``: True/False, or None when the values are not comparable."""
    if a is None or b is None:
        return a is None and b is None
    ka, kb = kind(a), kind(b)
    if ka != kb:
        return None
    if ka == "number" or ka == "string" or ka == "boolean":
        return a == b
    if ka == "list":
        if len(a) != len(b):
            return False
        return all(feel_equal(x, y) is True for x, y in zip(a, b, strict=True))
    if ka == "context":
        if a.keys() != b.keys():
            return False
        return all(feel_equal(x, b[k]) is True for k, x in a.items())
    if ka == "date and time":
        if is_zoned(a) != is_zoned(b):
            return None
        return a == b
    if ka == "time":
        if is_zoned(a) != is_zoned(b):
            return None
        return time_key(a) == time_key(b)
    if ka == "range":
        return (
            a.start_included == b.start_included
            and a.end_included == b.end_included
            and feel_equal(a.start, b.start) is True
            and feel_equal(a.end, b.end) is True
        )
    return a == b


def time_key(t: dt.time) -> Any:
    """A sortable key for a time; zoned times are shifted to UTC (zone ids: standard offset)."""
    if t.tzinfo is None:
        return (t.hour, t.minute, t.second, t.microsecond)
    off = t.tzinfo.utcoffset(None)
    if off is None:
        off = t.tzinfo.utcoffset(dt.datetime(2000, 1, 1)) or dt.timedelta(0)
    secs = t.hour * 3600 + t.minute * 60 + t.second - off.total_seconds()
    return (secs % 86400, t.microsecond)


_ORDERABLE = {
    "number",
    "string",
    "date",
    "time",
    "date and time",
    "days and time duration",
    "years and months duration",
}


def feel_compare(a: Any, b: Any) -> int | None:
    """Order two FEEL values: -1, 0, 1, or None when they are not comparable."""
    if a is None or b is None:
        return None
    ka = kind(a)
    if ka != kind(b) or ka not in _ORDERABLE:
        return None
    if ka == "time":
        if is_zoned(a) != is_zoned(b):
            return None
        a, b = time_key(a), time_key(b)
    elif ka == "date and time" and is_zoned(a) != is_zoned(b):
        return None
    if a < b:
        return -1
    if a > b:
        return 1
    return 0


# --- formatting ----------------------------------------------------------------------------


def format_number(n: int | Decimal) -> str:
    """Java ``BigDecimal.toString`` style."""
    if type(n) is int:
        return str(n)
    s = str(n)
    return s


def _fraction(micro: int) -> str:
    if not micro:
        return ""
    return "." + f"{micro:06d}".rstrip("0")


def format_offset(off: dt.timedelta) -> str:
    """``Z`` or ``+hh:mm`` (``+hh:mm:ss`` when needed)."""
    secs = int(off.total_seconds())
    if secs == 0:
        return "Z"
    sign = "+" if secs > 0 else "-"
    secs = abs(secs)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    text = f"{sign}{h:02d}:{m:02d}"
    if s:
        text += f":{s:02d}"
    return text


def format_zone(tz: dt.tzinfo, at: dt.datetime | None) -> str:
    """``@Zone/Id`` for zone ids, else the offset."""
    key = getattr(tz, "key", None)
    if key is not None:
        return "@" + key
    return format_offset(tz.utcoffset(at) or dt.timedelta(0))


def format_date(d: dt.date) -> str:
    """ISO date."""
    return d.isoformat()


def format_time(t: dt.time) -> str:
    """FEEL time text (fraction only when non-zero)."""
    text = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}{_fraction(t.microsecond)}"
    if t.tzinfo is not None:
        text += format_zone(t.tzinfo, None)
    return text


def format_datetime(d: dt.datetime) -> str:
    """FEEL date-time text."""
    text = f"{d.date().isoformat()}T{format_time(d.time())}"
    if d.tzinfo is not None:
        text += format_zone(d.tzinfo, d)
    return text


def format_dt_duration(td: dt.timedelta) -> str:
    """Days-and-time duration, normalised with one leading sign (``P1DT12H``, ``P0D``)."""
    total_us = (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    secs, micro = divmod(total_us, 1_000_000)
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    out = "P"
    if days:
        out += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or micro:
        time_part += f"{seconds}{_fraction(micro)}S"
    if time_part:
        out += "T" + time_part
    if out == "P":
        return "P0D"
    return sign + out


def format_ym_duration(d: YearMonthDuration) -> str:
    """Years-and-months duration (``P1Y2M``, ``-P5M``, ``P0Y``)."""
    m = d.months
    sign = "-" if m < 0 else ""
    m = abs(m)
    y, mo = divmod(m, 12)
    out = "P"
    if y:
        out += f"{y}Y"
    if mo:
        out += f"{mo}M"
    if out == "P":
        return "P0Y"
    return sign + out


def feel_string(value: Any, nested: bool = False) -> str | None:
    """The text of a value, as FEEL ``string()`` gives it (None for null at top level)."""
    if value is None:
        return "null" if nested else None
    t = type(value)
    if t is str:
        return '"' + value + '"' if nested else value
    if t is bool:
        return "true" if value else "false"
    if t is int or t is Decimal:
        return format_number(value)
    if t is dt.date:
        return format_date(value)
    if t is dt.datetime:
        return format_datetime(value)
    if t is dt.time:
        return format_time(value)
    if t is dt.timedelta:
        return format_dt_duration(value)
    if t is YearMonthDuration:
        return format_ym_duration(value)
    if t is list:
        return "[" + ", ".join(feel_string(v, True) or "null" for v in value) + "]"
    if t is dict:
        inner = ", ".join(f"{k}:{feel_string(v, True)}" for k, v in value.items())
        return "{" + inner + "}"
    if t is Range:
        return (
            ("[" if value.start_included else "(")
            + f"{feel_string(value.start, True)}..{feel_string(value.end, True)}"
            + ("]" if value.end_included else ")")
        )
    if t is FeelFunction:
        return repr(value)
    return str(value)
