"""FEEL results -> what Zeebe stores in process variables (JSON-compatible values)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from processes.feel.values import (
    FeelFunction,
    Range,
    YearMonthDuration,
    format_dt_duration,
    format_time,
    format_ym_duration,
)


def to_json(value: Any) -> Any:
    """Convert a FEEL result to a JSON-compatible value, as Zeebe's message-pack transformer does.

    Whole numbers become ``int``, other numbers ``float``; dates ``2020-01-01``; zoned date-times
    ISO with offset (zone id dropped); local date-times ISO; local times like Java's
    ``LocalTime.toString`` (``10:30`` when seconds are zero); zoned times and durations in FEEL
    form; functions and ranges ``None``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            offset = value.utcoffset()
            text = value.replace(tzinfo=None).isoformat()
            if offset == dt.timedelta(0):
                return text + "Z"
            return text + value.strftime("%z")[:3] + ":" + value.strftime("%z")[3:5]
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            return format_time(value)
        if value.second == 0 and value.microsecond == 0:
            return f"{value.hour:02d}:{value.minute:02d}"
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return format_dt_duration(value)
    if isinstance(value, YearMonthDuration):
        return format_ym_duration(value)
    if isinstance(value, (FeelFunction, Range)):
        return None
    return None
