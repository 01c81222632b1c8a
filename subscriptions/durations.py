"""ISO 8601 durations of the dunning schedule (weeks, days, hours, minutes, seconds).

The schedule's values go into the process as timer durations as they are; the services need the
same values as ``timedelta`` to tell staff and customers when the next retry is.
"""

from __future__ import annotations

import datetime as dt
import re

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_duration(text: str) -> dt.timedelta:
    """``P3D`` -> 3 days; months and years are refused (a retry is a fixed wait, not a date)."""
    match = _DURATION.match(text.strip().upper())
    if match is None or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration in weeks, days or hours")
    parts = {name: int(value or 0) for name, value in match.groupdict().items()}
    delta = dt.timedelta(**parts)
    if delta <= dt.timedelta(0):
        raise ValueError(f"'{text}' must be longer than zero")
    return delta


def describe(delta: dt.timedelta) -> str:
    """Business words: '3 days', '2 hours', '10 minutes'."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if (seconds >= size and seconds % size == 0) or seconds >= size * 2:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
