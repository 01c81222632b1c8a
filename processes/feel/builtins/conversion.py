"""Conversion built-ins: date, time, date and time, duration, number, string, context, json."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from processes.feel.builtins import builtin, integer, lst, num, text
from processes.feel.errors import InvalidArguments
from processes.feel.temporal import (
    months_between,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_time,
    zone,
)
from processes.feel.values import (
    YearMonthDuration,
    feel_string,
    format_date,
    format_dt_duration,
    format_time,
    format_ym_duration,
    from_python,
)


@builtin("date", "from", "year, month, day")
def date(from_: Any, month: Any = None, day: Any = None) -> Any:
    if month is not None or day is not None:
        try:
            return dt.date(integer(from_), integer(month), integer(day))
        except ValueError:
            return None
    if type(from_) is str:
        return parse_date(from_)
    if type(from_) is dt.datetime:
        return from_.date()
    if type(from_) is dt.date:
        return from_
    raise InvalidArguments()


@builtin("date and time", "from")
def date_and_time_from(first: Any) -> Any:
    if type(first) is str:
        return parse_datetime(first)
    if type(first) is dt.datetime:
        return first
    raise InvalidArguments()


@builtin("date and time", "date, time")
def date_and_time(first: Any, second: Any) -> Any:
    if isinstance(first, dt.date) and type(second) is dt.time:
        d = first.date() if type(first) is dt.datetime else first
        return dt.datetime.combine(d, second.replace(tzinfo=None)).replace(tzinfo=second.tzinfo)
    if type(first) is dt.datetime and type(second) is str:
        tz = zone(second)
        if tz is None:
            raise InvalidArguments()
        if first.tzinfo is None:
            return first.replace(tzinfo=tz)
        return first.astimezone(tz)
    raise InvalidArguments()


@builtin("date and time", "date, timezone")
def _date_and_time_zone(first: Any, second: Any) -> Any:
    return date_and_time(first, second)


@builtin("time", "from", "hour, minute, second", "hour, minute, second, offset")
def time(from_: Any, minute: Any = None, second: Any = None, offset: Any = None) -> Any:
    if minute is None and second is None:
        if type(from_) is str:
            return parse_time(from_)
        if type(from_) is dt.datetime:
            return from_.timetz()
        if type(from_) is dt.time:
            return from_
        if type(from_) is dt.date:
            return dt.time(0, 0, 0, tzinfo=dt.UTC)
        raise InvalidArguments()
    secs = num(second)
    whole = int(secs)
    micro = int((Decimal(secs) - whole) * 1_000_000)
    tz = None
    if offset is not None:
        if type(offset) is not dt.timedelta:
            raise InvalidArguments()
        if abs(offset) > dt.timedelta(hours=18):
            return None
        tz = dt.UTC if offset == dt.timedelta(0) else dt.timezone(offset)
    try:
        return dt.time(integer(from_), integer(minute), whole, micro, tzinfo=tz)
    except ValueError:
        return None


@builtin("duration", "from")
def duration(from_: Any) -> Any:
    return parse_duration(text(from_))


@builtin("years and months duration", "from, to")
def years_and_months_duration(from_: Any, to: Any) -> Any:
    if not isinstance(from_, dt.date) or not isinstance(to, dt.date):
        raise InvalidArguments()
    if (type(from_) is dt.datetime) != (type(to) is dt.datetime):
        a = from_.date() if type(from_) is dt.datetime else from_
        b = to.date() if type(to) is dt.datetime else to
        return YearMonthDuration(months_between(a, b))
    # Here both are date-times or both are dates.
    if (
        isinstance(from_, dt.datetime)
        and isinstance(to, dt.datetime)
        and (from_.tzinfo is None) != (to.tzinfo is None)
    ):
        raise InvalidArguments()
    return YearMonthDuration(months_between(from_, to))


_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@builtin(
    "number",
    "from",
    "from, grouping separator",
    "from, grouping separator, decimal separator",
)
def number(from_: Any, grouping: Any = None, decimal_sep: Any = None) -> Any:
    s = text(from_)
    if grouping is not None and grouping not in (" ", ",", "."):
        raise InvalidArguments()
    if decimal_sep is not None and decimal_sep not in (",", "."):
        raise InvalidArguments()
    if grouping is not None and grouping == decimal_sep:
        raise InvalidArguments()
    if grouping:
        s = s.replace(grouping, "")
    if decimal_sep:
        s = s.replace(decimal_sep, ".")
    if not _NUMBER_RE.fullmatch(s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


@builtin("string", "from")
def string(from_: Any) -> Any:
    return feel_string(from_)


@builtin("context", "entries")
def context(entries: Any) -> Any:
    result: dict[str, Any] = {}
    for entry in lst(entries):
        if type(entry) is not dict or "key" not in entry or "value" not in entry:
            raise InvalidArguments()
        key = entry["key"]
        if type(key) is not str:
            raise InvalidArguments()
        result[key] = entry["value"]
    return result


def _json_default(value: Any) -> Any:
    if type(value) is Decimal:
        return float(value)
    return str(value)


def to_json_value(value: Any) -> Any:
    """FEEL value -> JSON-compatible Python value (temporals as ISO strings)."""
    t = type(value)
    if value is None or t is bool or t is str or t is int:
        return value
    if t is Decimal:
        return int(value) if value == value.to_integral_value() else value
    if t is list:
        return [to_json_value(v) for v in value]
    if t is dict:
        return {k: to_json_value(v) for k, v in value.items()}
    if t is dt.date:
        return format_date(value)
    if t is dt.datetime:
        base = value.isoformat()
        key = getattr(value.tzinfo, "key", None)
        if key:
            base += f"[{key}]"
        return base
    if t is dt.time:
        return format_time(value)
    if t is dt.timedelta:
        return format_dt_duration(value)
    if t is YearMonthDuration:
        return format_ym_duration(value)
    return None


class _DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


@builtin("to json", "value")
def to_json(value: Any) -> Any:
    converted = to_json_value(value)
    if any(type(v) is Decimal for v in _walk(converted)):
        return _dump_with_decimals(converted)
    return json.dumps(converted, separators=(",", ":"), ensure_ascii=False)


def _walk(v: Any) -> Any:
    yield v
    if type(v) is list:
        for x in v:
            yield from _walk(x)
    elif type(v) is dict:
        for x in v.values():
            yield from _walk(x)


def _dump_with_decimals(v: Any) -> str:
    if type(v) is Decimal:
        return str(v)
    if type(v) is list:
        return "[" + ",".join(_dump_with_decimals(x) for x in v) + "]"
    if type(v) is dict:
        return (
            "{"
            + ",".join(
                json.dumps(k, ensure_ascii=False) + ":" + _dump_with_decimals(x)
                for k, x in v.items()
            )
            + "}"
        )
    return json.dumps(v, ensure_ascii=False)


@builtin("from json", "value")
def from_json(value: Any) -> Any:
    try:
        return from_python(json.loads(text(value), parse_float=Decimal))
    except json.JSONDecodeError:
        return None
