"""Timer math for BPMN timer events (Zeebe semantics, all instants timezone-aware UTC).

- `parse_duration` / `add_duration`: ISO 8601 durations; years and months are kept apart
  (`MonthsDelta`) so they are added calendar-correctly (Jan 31 + P1M = Feb 28/29).
- `parse_datetime`: ISO date-times with an offset, `Z`, or a `[Zone/Id]` suffix.
- `parse_cycle` / `next_cron_fire`: `R[n]/[start/]duration` cycles and 6-field Spring cron
  expressions (second minute hour day-of-month month day-of-week), evaluated in UTC.
- `schedule_from`: turns a timer definition's value (string or FEEL value) into a
  `TimerSchedule` with the due date and, for cycles, the repetitions left and the next firing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC

__all__ = [
    "CronExpression",
    "Cycle",
    "MonthsDelta",
    "TimerError",
    "TimerSchedule",
    "add_duration",
    "next_cron_fire",
    "parse_cron",
    "parse_cycle",
    "parse_datetime",
    "parse_duration",
    "schedule_from",
]


class TimerError(ValueError):
    """An invalid timer value (duration, date, cycle or cron expression)."""


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthsDelta:
    """A duration with a calendar part: `months` (years folded in) plus an exact `delta`."""

    months: int
    delta: dt.timedelta = dt.timedelta(0)

    def __neg__(self) -> MonthsDelta:
        return MonthsDelta(-self.months, -self.delta)


Duration = dt.timedelta | MonthsDelta

_DURATION_RE = re.compile(
    r"""^(?P<sign>[-+])?P
    (?:(?P<years>[-+]?\d+)Y)?
    (?:(?P<months>[-+]?\d+)M)?
    (?:(?P<weeks>[-+]?\d+)W)?
    (?:(?P<days>[-+]?\d+)D)?
    (?:T
        (?:(?P<hours>[-+]?\d+(?:[.,]\d+)?)H)?
        (?:(?P<minutes>[-+]?\d+(?:[.,]\d+)?)M)?
        (?:(?P<seconds>[-+]?\d+(?:[.,]\d+)?)S)?
    )?$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration (`P1Y2M3DT4H5M6.5S`, `PT10S`, `P1W`, `-P1D`).

    Returns a `timedelta`, or a `MonthsDelta` when years or months are present.
    """
    if not isinstance(text, str):
        raise TimerError(f"expected an ISO 8601 duration string, got {type(text).__name__}")
    raw = text.strip()
    m = _DURATION_RE.match(raw)
    if not m or raw.upper() in ("P", "-P", "+P") or raw.upper().endswith("T"):
        raise TimerError(f"invalid ISO 8601 duration '{text}'")
    g = m.groupdict()
    if all(
        g[k] is None for k in ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
    ):
        raise TimerError(f"invalid ISO 8601 duration '{text}'")

    def num(key: str) -> float:
        v = g[key]
        return float(v.replace(",", ".")) if v is not None else 0.0

    months = int(num("years")) * 12 + int(num("months"))
    delta = dt.timedelta(
        weeks=num("weeks"),
        days=num("days"),
        hours=num("hours"),
        minutes=num("minutes"),
        seconds=num("seconds"),
    )
    if g["sign"] == "-":
        months, delta = -months, -delta
    if months:
        return MonthsDelta(months, delta)
    return delta


def _add_months(value: dt.datetime, months: int) -> dt.datetime:
    total = value.year * 12 + (value.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise TimerError("date out of range after adding the duration")
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def add_duration(moment: dt.datetime, duration: Duration) -> dt.datetime:
    """Add a duration to a datetime; months/years are added on the calendar, day clamped."""
    if isinstance(duration, dt.timedelta):
        return moment + duration
    months = _months_of(duration)
    if months is None:
        raise TimerError(f"not a duration: {duration!r}")
    delta = getattr(duration, "delta", dt.timedelta(0))
    return _add_months(moment, months) + delta


def _months_of(value: Any) -> int | None:
    """Total months of a years-months duration object (ours or a FEEL value), else None."""
    if isinstance(value, MonthsDelta):
        return value.months
    total = getattr(value, "total_months", None)
    if isinstance(total, int):
        return total
    months = getattr(value, "months", None)
    if not isinstance(months, int):
        return None
    years = getattr(value, "years", None)
    if isinstance(years, int) and -12 < months < 12:
        return years * 12 + months
    return months


# --------------------------------------------------------------------------------------------
# Date-times
# --------------------------------------------------------------------------------------------

_ZONE_RE = re.compile(r"^(?P<body>[^\[]+)\[(?P<zone>[^\]]+)\]$")


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO date-time with offset/`Z` or a `[Zone/Id]` suffix; result is in UTC.

    A zone id without an offset resolves the local time in that zone. A value with neither
    offset nor zone is rejected (Zeebe requires one).
    """
    if not isinstance(text, str):
        raise TimerError(f"expected an ISO 8601 date-time string, got {type(text).__name__}")
    raw = text.strip()
    zone: ZoneInfo | None = None
    m = _ZONE_RE.match(raw)
    if m:
        raw = m.group("body")
        try:
            zone = ZoneInfo(m.group("zone"))
        except (ZoneInfoNotFoundError, ValueError):
            raise TimerError(f"unknown time zone '{m.group('zone')}' in '{text}'") from None
    if raw.endswith(("z", "Z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise TimerError(f"invalid ISO 8601 date-time '{text}'") from None
    if "T" not in raw.upper():
        raise TimerError(f"invalid ISO 8601 date-time '{text}' (a time is required)")
    if value.tzinfo is None:
        if zone is None:
            raise TimerError(f"date-time '{text}' has no offset or zone")
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Cron (Spring 6-field)
# --------------------------------------------------------------------------------------------

_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_MACROS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed cron expression: the allowed values of each field.

    `days_of_week` uses 0 = Sunday … 6 = Saturday (7 is folded to 0).
    """

    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]

    def matches_day(self, day: dt.date) -> bool:
        """Whether a calendar day matches month, day-of-month and day-of-week."""
        weekday = (day.weekday() + 1) % 7  # Monday=0 -> 1, Sunday=6 -> 0
        return (
            day.month in self.months
            and day.day in self.days_of_month
            and weekday in self.days_of_week
        )


def _parse_cron_field(
    text: str, lo: int, hi: int, names: dict[str, int] | None, what: str, expr: str
) -> frozenset[int]:
    values: set[int] = set()

    def value(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise TimerError(f"invalid {what} '{token}' in cron expression '{expr}'")
        n = int(token)
        if not lo <= n <= hi:
            raise TimerError(f"{what} {n} out of range {lo}-{hi} in cron expression '{expr}'")
        return n

    for part in text.split(","):
        if not part:
            raise TimerError(f"empty {what} list item in cron expression '{expr}'")
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise TimerError(f"invalid step '{step_text}' in cron expression '{expr}'")
            step = int(step_text)
        if rng in ("*", "?"):
            start, end = lo, hi
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = value(a), value(b)
            if start > end:
                raise TimerError(f"invalid {what} range '{rng}' in cron expression '{expr}'")
        else:
            start = value(rng)
            end = hi if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(text: str) -> CronExpression:
    """Parse a 6-field Spring cron expression (`?` = `*`, names JAN-DEC / SUN-SAT, macros)."""
    if not isinstance(text, str):
        raise TimerError("cron expression must be a string")
    expr = _MACROS.get(text.strip().lower(), text.strip())
    fields = expr.split()
    if len(fields) != 6:
        raise TimerError(
            f"invalid cron expression '{text}': expected 6 fields "
            "(second minute hour day-of-month month day-of-week)"
        )
    sec, minute, hour, dom, month, dow = fields
    days_of_week = _parse_cron_field(dow, 0, 7, _DAYS, "day of week", text)
    return CronExpression(
        text=text,
        seconds=_parse_cron_field(sec, 0, 59, None, "second", text),
        minutes=_parse_cron_field(minute, 0, 59, None, "minute", text),
        hours=_parse_cron_field(hour, 0, 23, None, "hour", text),
        days_of_month=_parse_cron_field(dom, 1, 31, None, "day of month", text),
        months=_parse_cron_field(month, 1, 12, _MONTHS, "month", text),
        days_of_week=frozenset(d % 7 for d in days_of_week),
    )


def next_cron_fire(expr: str | CronExpression, after: dt.datetime) -> dt.datetime:
    """The first instant strictly after `after` (UTC, whole seconds) matching the expression."""
    cron = expr if isinstance(expr, CronExpression) else parse_cron(expr)
    after = _as_utc(after)
    start = after.replace(microsecond=0) + dt.timedelta(seconds=1)
    day = start.date()
    first = True
    hours = sorted(cron.hours)
    minutes = sorted(cron.minutes)
    seconds = sorted(cron.seconds)
    for _ in range(366 * 28):  # leap-year cycle bound; beyond it the expression never fires
        if cron.matches_day(day):
            for h in hours:
                if first and h < start.hour:
                    continue
                for mi in minutes:
                    if first and h == start.hour and mi < start.minute:
                        continue
                    for s in seconds:
                        if first and h == start.hour and mi == start.minute and s < start.second:
                            continue
                        return dt.datetime(day.year, day.month, day.day, h, mi, s, tzinfo=UTC)
        first = False
        day += dt.timedelta(days=1)
    raise TimerError(f"cron expression '{cron.text}' never fires")


# --------------------------------------------------------------------------------------------
# Cycles and schedules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cycle:
    """A parsed time cycle: either repetitions with an interval (optional start) or a cron."""

    repetitions: int | None  # None = unbounded
    interval: Duration | None = None
    start: dt.datetime | None = None
    cron: CronExpression | None = None


_REPEAT_RE = re.compile(r"^R(?P<n>\d*)/(?P<rest>.+)$", re.IGNORECASE)


def parse_cycle(text: str) -> Cycle:
    """Parse `R[n]/[start/]duration` or a cron expression."""
    if not isinstance(text, str):
        raise TimerError(f"expected a time cycle string, got {type(text).__name__}")
    raw = text.strip()
    m = _REPEAT_RE.match(raw)
    if not m:
        if raw.upper().startswith("R"):
            raise TimerError(f"invalid time cycle '{text}'")
        if raw.upper().startswith("P") or raw.upper().startswith("-P"):
            raise TimerError(f"invalid time cycle '{text}': a duration needs a 'R[n]/' prefix")
        try:
            return Cycle(repetitions=None, cron=parse_cron(raw))
        except TimerError as exc:
            raise TimerError(f"invalid time cycle '{text}': {exc}") from None
    n = int(m.group("n")) if m.group("n") else None
    parts = m.group("rest").split("/")
    if len(parts) == 1:
        start, interval_text = None, parts[0]
    elif len(parts) == 2:
        start, interval_text = parse_datetime(parts[0]), parts[1]
    else:
        raise TimerError(f"invalid time cycle '{text}'")
    interval = parse_duration(interval_text)
    if n is not None and n < 0:
        raise TimerError(f"invalid repetitions in time cycle '{text}'")
    return Cycle(repetitions=n, interval=interval, start=start)


@dataclass(frozen=True, slots=True)
class TimerSchedule:
    """When a timer is due, and how it repeats.

    `repetitions_left` counts the firings still to come *including* this one (1 for date and
    duration timers, None = unbounded). `next(after_due)` gives the following firing of a cycle
    computed from the previous due date, or None when the timer is exhausted.
    """

    due_at: dt.datetime
    repetitions_left: int | None = 1
    cycle: Cycle | None = None

    def next(self, after_due: dt.datetime | None = None) -> TimerSchedule | None:
        """The schedule after this one fired (`after_due` defaults to `due_at`)."""
        cycle = self.cycle
        if cycle is None:
            return None
        if self.repetitions_left is not None and self.repetitions_left <= 1:
            return None
        base = _as_utc(after_due) if after_due is not None else self.due_at
        left = None if self.repetitions_left is None else self.repetitions_left - 1
        if cycle.cron is not None:
            return TimerSchedule(next_cron_fire(cycle.cron, base), left, cycle)
        assert cycle.interval is not None
        return TimerSchedule(_step(base, cycle.interval), left, cycle)


def _step(base: dt.datetime, interval: Duration) -> dt.datetime:
    nxt = add_duration(base, interval)
    if nxt <= base:
        raise TimerError("a time cycle needs a positive interval")
    return nxt


def _value_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.timedelta) or _months_of(value) is not None:
        return "duration"
    return type(value).__name__


def _coerce_duration(value: Any) -> Duration:
    if isinstance(value, dt.timedelta | MonthsDelta):
        return value
    months = _months_of(value)
    if months is not None:
        delta = getattr(value, "delta", dt.timedelta(0))
        return MonthsDelta(months, delta if isinstance(delta, dt.timedelta) else dt.timedelta(0))
    raise TimerError(f"expected a duration, got {_value_kind(value)}")


def schedule_from(kind: str, value: Any, now: dt.datetime) -> TimerSchedule:
    """Build the schedule of a timer of `kind` ("date", "duration", "cycle") created at `now`.

    `value` is the timer value: a string in ISO/cron form, or a FEEL result (datetime, timedelta,
    a years-months duration object exposing `.months`).
    """
    now = _as_utc(now)
    if value is None:
        raise TimerError(f"timer {kind} value is null")
    if kind == "date":
        if isinstance(value, dt.datetime):
            return TimerSchedule(_as_utc(value))
        if isinstance(value, str):
            return TimerSchedule(parse_datetime(value))
        raise TimerError(f"expected a date-time for a timer date, got {_value_kind(value)}")
    if kind == "duration":
        duration = parse_duration(value) if isinstance(value, str) else _coerce_duration(value)
        return TimerSchedule(add_duration(now, duration))
    if kind == "cycle":
        if isinstance(value, str):
            cycle = parse_cycle(value)
        else:
            cycle = Cycle(repetitions=None, interval=_coerce_duration(value))
        if cycle.repetitions == 0:
            raise TimerError("a time cycle needs at least one repetition")
        if cycle.cron is not None:
            return TimerSchedule(next_cron_fire(cycle.cron, now), None, cycle)
        assert cycle.interval is not None
        if cycle.start is not None and cycle.start > now:
            due = cycle.start
        else:
            due = _step(now, cycle.interval)
        return TimerSchedule(due, cycle.repetitions, cycle)
    raise TimerError(f"unknown timer kind '{kind}' (expected date, duration or cycle)")
