"""Timer math: ISO durations and dates, cycles, Spring cron (no Django, no database)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from processes.engine.timers import (
    MonthsDelta,
    TimerError,
    add_duration,
    next_cron_fire,
    parse_cycle,
    parse_datetime,
    parse_duration,
    schedule_from,
)

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT10S", dt.timedelta(seconds=10)),
        ("PT1.5S", dt.timedelta(seconds=1.5)),
        ("PT0,25S", dt.timedelta(seconds=0.25)),
        ("PT5M", dt.timedelta(minutes=5)),
        ("PT36H", dt.timedelta(hours=36)),
        ("P1D", dt.timedelta(days=1)),
        ("P1W", dt.timedelta(weeks=1)),
        ("P2DT3H4M", dt.timedelta(days=2, hours=3, minutes=4)),
        ("-P1D", -dt.timedelta(days=1)),
        ("PT-5S", dt.timedelta(seconds=-5)),
        ("P0D", dt.timedelta(0)),
        ("P1M", MonthsDelta(1)),
        ("P1Y", MonthsDelta(12)),
        (
            "P1Y2M3DT4H5M6.5S",
            MonthsDelta(14, dt.timedelta(days=3, hours=4, minutes=5, seconds=6.5)),
        ),
        ("-P1Y2M", MonthsDelta(-14)),
    ],
)
def test_parse_duration(text: str, expected: object) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "1D", "P1H", "PT1D", "P1.5Y", "soon", "P1DT"])
def test_parse_duration_invalid(text: str) -> None:
    with pytest.raises(TimerError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (at(2026, 1, 31, 10), "P1M", at(2026, 2, 28, 10)),
        (at(2028, 1, 31, 10), "P1M", at(2028, 2, 29, 10)),  # leap year
        (at(2026, 3, 31), "P1M", at(2026, 4, 30)),
        (at(2026, 3, 31), "-P1M", at(2026, 2, 28)),
        (at(2026, 12, 15), "P1M", at(2027, 1, 15)),
        (at(2024, 2, 29), "P1Y", at(2025, 2, 28)),
        (at(2026, 1, 31), "P1M1D", at(2026, 3, 1)),  # months first, then days
        (at(2026, 1, 1), "PT90M", at(2026, 1, 1, 1, 30)),
        (at(2026, 1, 1), "P1Y2M3DT4H", at(2027, 3, 4, 4)),
    ],
)
def test_add_duration_calendar(start: dt.datetime, duration: str, expected: dt.datetime) -> None:
    assert add_duration(start, parse_duration(duration)) == expected


def test_add_duration_rejects_non_durations() -> None:
    with pytest.raises(TimerError):
        add_duration(at(2026, 1, 1), "P1D")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ date-times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-10-01T12:00:00Z", at(2019, 10, 1, 12)),
        ("2019-10-01T12:00:00+02:00", at(2019, 10, 1, 10)),
        ("2019-10-01T12:00:00.250-05:00", at(2019, 10, 1, 17, 0, 0, 250000)),
        ("2019-10-01T12:00:00[Europe/Berlin]", at(2019, 10, 1, 10)),
        ("2019-12-01T12:00:00[Europe/Berlin]", at(2019, 12, 1, 11)),
        ("2019-10-01T12:00:00+02:00[Europe/Berlin]", at(2019, 10, 1, 10)),
    ],
)
def test_parse_datetime(text: str, expected: dt.datetime) -> None:
    value = parse_datetime(text)
    assert value == expected
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2019-10-01T12:00:00",
        "2019-10-01",
        "yesterday",
        "2019-13-01T00:00:00Z",
        "2019-10-01T12:00[Mars/Base]",
    ],
)
def test_parse_datetime_invalid(text: str) -> None:
    with pytest.raises(TimerError):
        parse_datetime(text)


# ------------------------------------------------------------------------------ cron


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        # weekdays at 9:00: Friday 09:00 -> Monday 09:00
        ("0 0 9 * * MON-FRI", at(2026, 1, 30, 9), at(2026, 2, 2, 9)),
        ("0 0 9 * * MON-FRI", at(2026, 2, 2, 8, 59, 59), at(2026, 2, 2, 9)),
        ("0 0 9 * * 1-5", at(2026, 1, 31, 12), at(2026, 2, 2, 9)),  # Saturday -> Monday
        ("0 */5 * * * ?", at(2026, 1, 1, 10, 0), at(2026, 1, 1, 10, 5)),
        ("0 */5 * * * ?", at(2026, 1, 1, 10, 3, 30), at(2026, 1, 1, 10, 5)),
        ("*/10 * * * * *", at(2026, 1, 1, 10, 0, 55), at(2026, 1, 1, 10, 1)),
        ("0 0 0 1 * *", at(2026, 1, 15), at(2026, 2, 1)),
        ("0 0 0 31 * *", at(2026, 1, 31, 1), at(2026, 3, 31)),  # skips February
        ("0 0 12 29 FEB ?", at(2026, 1, 1), at(2028, 2, 29, 12)),  # next leap day
        ("0 30 8 * JAN,JUL SUN", at(2026, 1, 1), at(2026, 1, 4, 8, 30)),
        ("0 0 0 * * 0", at(2026, 1, 5), at(2026, 1, 11)),  # 0 = Sunday
        ("0 0 0 * * 7", at(2026, 1, 5), at(2026, 1, 11)),  # 7 = Sunday
        ("0 15 10-12/2 * * *", at(2026, 1, 1, 10, 15), at(2026, 1, 1, 12, 15)),
        ("0 0 0 1 1 *", at(2026, 12, 31, 23, 59, 59), at(2027, 1, 1)),
        ("0 0 9 * * MON-FRI/2", at(2026, 1, 5, 9), at(2026, 1, 7, 9)),  # Mon, Wed, Fri
        ("@hourly", at(2026, 1, 1, 10, 20), at(2026, 1, 1, 11)),
        ("@daily", at(2026, 1, 1, 10), at(2026, 1, 2)),
    ],
)
def test_next_cron_fire(expr: str, after: dt.datetime, expected: dt.datetime) -> None:
    assert next_cron_fire(expr, after) == expected


def test_next_cron_fire_is_strictly_after_and_converts_zones() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    after = dt.datetime(2026, 1, 1, 10, 0, tzinfo=berlin)  # 09:00 UTC
    assert next_cron_fire("0 0 9 * * *", after) == at(2026, 1, 2, 9)
    assert next_cron_fire("0 0 9 * * *", at(2026, 1, 1, 8, 59, 59, 999)) == at(2026, 1, 1, 9)


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 9 * *",  # five fields
        "0 0 25 * * *",  # hour out of range
        "60 * * * * *",
        "0 0 0 0 * *",
        "0 0 0 * 13 *",
        "0 0 0 * * FUNDAY",
        "0 0 0 * * 5-1",
        "0 */0 * * * *",
        "0 0 0 30 FEB *",  # never fires
    ],
)
def test_invalid_cron(expr: str) -> None:
    with pytest.raises(TimerError):
        next_cron_fire(expr, at(2026, 1, 1))


# ------------------------------------------------------------------------------ cycles


def test_parse_cycle_forms() -> None:
    c = parse_cycle("R5/PT10S")
    assert (c.repetitions, c.interval, c.start, c.cron) == (5, dt.timedelta(seconds=10), None, None)
    assert parse_cycle("R/P1D").repetitions is None
    s = parse_cycle("R3/2026-01-01T00:00:00Z/PT1H")
    assert s.start == at(2026, 1, 1) and s.repetitions == 3
    cron = parse_cycle("0 0 9 * * MON-FRI")
    assert cron.cron is not None and cron.repetitions is None


@pytest.mark.parametrize("text", ["PT10S", "R5", "R5/", "Rx/PT1S", "R2/a/b/c", "R2/tomorrow/PT1H"])
def test_invalid_cycles(text: str) -> None:
    with pytest.raises(TimerError):
        parse_cycle(text)


def collect(schedule, n: int) -> list[tuple[dt.datetime, int | None]]:  # type: ignore[no-untyped-def]
    out = []
    while schedule is not None and len(out) < n:
        out.append((schedule.due_at, schedule.repetitions_left))
        schedule = schedule.next()
    return out


def test_bounded_cycle_without_start() -> None:
    now = at(2026, 1, 1, 10)
    s = schedule_from("cycle", "R3/PT10S", now)
    assert collect(s, 10) == [
        (at(2026, 1, 1, 10, 0, 10), 3),
        (at(2026, 1, 1, 10, 0, 20), 2),
        (at(2026, 1, 1, 10, 0, 30), 1),
    ]


def test_unbounded_cycle() -> None:
    s = schedule_from("cycle", "R/P1D", at(2026, 1, 1))
    got = collect(s, 3)
    assert got == [(at(2026, 1, 2), None), (at(2026, 1, 3), None), (at(2026, 1, 4), None)]


def test_cycle_next_uses_given_base() -> None:
    s = schedule_from("cycle", "R/PT1H", at(2026, 1, 1))
    nxt = s.next(at(2026, 1, 1, 5, 30))
    assert nxt is not None and nxt.due_at == at(2026, 1, 1, 6, 30)


def test_cycle_with_future_start() -> None:
    s = schedule_from("cycle", "R3/2026-01-01T00:00:00Z/PT1H", at(2025, 12, 31))
    assert collect(s, 5) == [(at(2026, 1, 1, 0), 3), (at(2026, 1, 1, 1), 2), (at(2026, 1, 1, 2), 1)]


def test_cycle_with_past_start_fires_one_interval_after_now() -> None:
    s = schedule_from("cycle", "R/2020-01-01T00:00:00Z/PT1H", at(2026, 1, 1, 10, 15))
    assert s.due_at == at(2026, 1, 1, 11, 15)


def test_cycle_months_interval_is_calendar_correct() -> None:
    s = schedule_from("cycle", "R/2026-01-31T00:00:00Z/P1M", at(2026, 1, 1))
    assert [d for d, _ in collect(s, 3)] == [at(2026, 1, 31), at(2026, 2, 28), at(2026, 3, 28)]


def test_cron_cycle_schedule() -> None:
    s = schedule_from("cycle", "0 0 9 * * MON-FRI", at(2026, 1, 30, 9))  # Friday 09:00
    assert collect(s, 3) == [
        (at(2026, 2, 2, 9), None),
        (at(2026, 2, 3, 9), None),
        (at(2026, 2, 4, 9), None),
    ]


# ------------------------------------------------------------------------------ schedule_from


def test_date_and_duration_schedules() -> None:
    now = at(2026, 1, 31, 12)
    d = schedule_from("date", "2030-01-01T00:00:00Z", now)
    assert (d.due_at, d.repetitions_left, d.next()) == (at(2030, 1, 1), 1, None)
    past = schedule_from("date", "2019-10-01T12:00:00Z", now)
    assert past.due_at == at(2019, 10, 1, 12)  # in the past: due at once
    assert schedule_from("duration", "PT10M", now).due_at == at(2026, 1, 31, 12, 10)
    assert schedule_from("duration", "P1M", now).due_at == at(2026, 2, 28, 12)
    assert schedule_from("duration", "-PT5M", now).due_at == at(2026, 1, 31, 11, 55)
    assert schedule_from("duration", "PT10M", now).next() is None


@dataclass
class FeelYearsMonths:
    """Stands in for the FEEL years-and-months duration value (years + months 0-11)."""

    years: int
    months: int


@dataclass
class TotalMonths:
    """A duration object exposing only total months."""

    months: int


def test_schedule_from_feel_values() -> None:
    now = at(2026, 1, 31, 12)
    naive = dt.datetime(2026, 6, 1, 8)
    assert schedule_from("date", at(2026, 6, 1, 8), now).due_at == at(2026, 6, 1, 8)
    assert schedule_from("date", naive, now).due_at == at(2026, 6, 1, 8)
    offset = dt.datetime(2026, 6, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert schedule_from("date", offset, now).due_at == at(2026, 6, 1, 6)
    assert schedule_from("duration", dt.timedelta(hours=2), now).due_at == at(2026, 1, 31, 14)
    assert schedule_from("duration", FeelYearsMonths(1, 1), now).due_at == at(2027, 2, 28, 12)
    assert schedule_from("duration", TotalMonths(13), now).due_at == at(2027, 2, 28, 12)
    assert schedule_from("duration", MonthsDelta(1), now).due_at == at(2026, 2, 28, 12)
    cyc = schedule_from("cycle", dt.timedelta(minutes=1), now)
    assert cyc.repetitions_left is None
    nxt = cyc.next()
    assert nxt is not None and nxt.due_at == at(2026, 1, 31, 12, 2)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("date", None, "null"),
        ("date", 42, "expected a date-time"),
        ("date", dt.timedelta(1), "expected a date-time"),
        ("duration", "10 minutes", "invalid ISO 8601 duration"),
        ("duration", "2026-01-01T00:00:00Z", "duration"),
        ("duration", True, "expected a duration"),
        ("cycle", "R0/PT1S", "at least one repetition"),
        ("cycle", "R/PT0S", "positive interval"),
        ("cycle", "every day", "invalid time cycle"),
        ("weekly", "PT1S", "unknown timer kind"),
    ],
)
def test_schedule_from_invalid(kind: str, value: object, message: str) -> None:
    with pytest.raises(TimerError, match=message):
        schedule_from(kind, value, at(2026, 1, 1))


def test_timer_error_is_value_error() -> None:
    assert issubclass(TimerError, ValueError)
