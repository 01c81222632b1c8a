"""Timers from FEEL temporal values, and FEEL ``now()`` following the engine clock.

https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/
"""

from __future__ import annotations

import datetime as dt

import pytest

from processes.engine import expressions as ex
from processes.models import Timer

pytestmark = pytest.mark.django_db


def test_feel_now_follows_the_pinned_engine_clock(process):
    pinned = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    process.set_time(pinned)

    assert ex.evaluate("=now()", {}) == pinned
    assert ex.evaluate("=today()", {}) == pinned.date()


def test_timers_from_feel_duration_date_and_cycle_values(process):
    """FEEL may return a duration or date-time; a FEEL duration cycle repeats."""
    process.deploy("gap-feel-timers.bpmn")
    start = process.now
    instance = process.start("gap-feel-timers", {"deadline": "2099-01-01T00:00:00Z"})

    # duration("PT1H") on an intermediate catch event
    [wait] = Timer.objects.filter(process_instance_key=instance.key)
    assert (wait.element_id, wait.due_at) == ("Wait", start + dt.timedelta(hours=1))
    process.increase_time(dt.timedelta(hours=1))

    # now() + duration("PT2H") on a date timer: now() is the (pinned) engine clock
    [until] = Timer.objects.filter(process_instance_key=instance.key)
    assert (until.element_id, until.due_at) == ("Until", process.now + dt.timedelta(hours=2))
    process.increase_time(dt.timedelta(hours=2))
    instance.is_waiting_at("Pick")

    # date and time(...) boundary and a FEEL duration as an unbounded cycle
    timers = {t.element_id: t for t in Timer.objects.filter(process_instance_key=instance.key)}
    assert timers["Deadline"].due_at == dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    assert timers["Reminder"].due_at == process.now + dt.timedelta(minutes=10)
    for _ in range(3):
        process.increase_time(dt.timedelta(minutes=10))
    instance.has_passed("Reminder", times=3).is_waiting_at("Pick")

    process.set_time(dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    instance.is_completed().has_passed("EndLate")


def test_user_task_due_date_from_feel_date_time(process):
    """dueDate/followUpDate may be FEEL date-times; now() is the engine clock."""
    process.deploy("gap-feel-due-date.bpmn")

    instance = process.start("gap-feel-due-date")

    task = process.user_task("Review", instance)
    assert task.due_date == process.now + dt.timedelta(days=2)
    assert task.follow_up_date == dt.datetime(2030, 1, 2, 8, tzinfo=dt.UTC)
