"""Timer and message start events.

https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/ and https://docs.camunda.io/docs/components/modeler/bpmn/message-events/
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from processes.engine import clock, service
from processes.models import (
    ElementInstance,
    Job,
    MessageCorrelation,
    MessageStartSubscription,
    Timer,
    Variable,
)

pytestmark = pytest.mark.django_db

BPMN = Path(__file__).parent / "bpmn"
T0 = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.UTC)
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">"""


@pytest.fixture(autouse=True)
def _clock(settings: Any) -> Any:
    settings.ENGINE_CLOCK_CONTROLLED = True
    clock.forget_cache()
    service.pin_clock(T0)
    yield
    clock.forget_cache()


def roots(process_id: str) -> list[ElementInstance]:
    return list(
        ElementInstance.objects.filter(element_type="PROCESS", element_id=process_id).order_by(
            "key"
        )
    )


def timer_start(cycle: str, version_marker: str = "") -> str:
    return f"""{HEAD}
  <bpmn:process id="ticker" isExecutable="true" name="{version_marker}">
    <bpmn:startEvent id="Tick"><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle>
      </bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Tick" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>"""


def test_timer_start_cycle_r2_fires_twice() -> None:
    service.deploy([("ticker.bpmn", timer_start("R2/PT1H"))])
    timer = Timer.objects.get()
    assert timer.process_instance_key is None
    assert timer.due_at == T0 + dt.timedelta(hours=1)
    service.pin_clock(T0 + dt.timedelta(minutes=59))
    assert roots("ticker") == []
    service.pin_clock(T0 + dt.timedelta(hours=1))
    assert len(roots("ticker")) == 1
    assert Timer.objects.get().due_at == T0 + dt.timedelta(hours=2)
    service.pin_clock(T0 + dt.timedelta(hours=2))
    service.pin_clock(T0 + dt.timedelta(hours=5))
    started = roots("ticker")
    assert len(started) == 2
    assert all(r.state == ElementInstance.COMPLETED for r in started)
    assert ElementInstance.objects.filter(element_id="Tick").count() == 2
    assert not Timer.objects.exists()


def test_redeploy_cancels_old_start_timers_and_duplicate_changes_nothing() -> None:
    service.deploy([("ticker.bpmn", timer_start("R/PT1H", "v1"))])
    old = Timer.objects.get()
    service.deploy([("ticker.bpmn", timer_start("R/PT1H", "v1"))])  # duplicate
    assert list(Timer.objects.values_list("key", flat=True)) == [old.key]
    service.deploy([("ticker.bpmn", timer_start("R/PT2H", "v2"))])
    timer = Timer.objects.get()
    assert timer.key != old.key
    assert timer.definition.version == 2
    assert timer.due_at == T0 + dt.timedelta(hours=2)
    # a new version without timer start events leaves none
    plain = timer_start("R/PT1H").replace(
        "<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle>\n      "
        "</bpmn:timerEventDefinition>",
        "",
    )
    service.deploy([("ticker.bpmn", plain)])
    assert not Timer.objects.exists()


def test_fixture_timer_start_events_are_scheduled() -> None:
    service.deploy_file(str(BPMN / "timer-start.bpmn"))
    timers = {t.element_id: t for t in Timer.objects.all()}
    assert set(timers) == {"Start_nightly", "Start_once", "Start_cron"}
    assert timers["Start_once"].due_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    # a date in the past fires at once and starts the process at that start event
    service.pin_clock(T0 + dt.timedelta(seconds=1))
    instance = roots("timer-start")[0]
    assert ElementInstance.objects.filter(
        process_instance_key=instance.key, element_id="Start_once"
    ).exists()
    assert Job.objects.filter(process_instance_key=instance.key, type="nightly-report").exists()


def test_message_start_with_correlation_key_dedup() -> None:
    service.deploy_file(str(BPMN / "message-start.bpmn"))
    sub = MessageStartSubscription.objects.get()
    assert (sub.message_name, sub.element_id) == ("order-placed", "Start_message")
    _, started = service.publish_message("order-placed", "k-1", variables={"n": 1}, ttl_ms=60_000)
    assert len(started) == 1
    first = started[0]
    assert Variable.objects.get(scope_key=first, name="n").value == 1
    assert MessageCorrelation.objects.filter(process_instance_key=first).count() == 1
    # same key while the first is active: no second instance, the message stays buffered
    _, again = service.publish_message("order-placed", "k-1", variables={"n": 2}, ttl_ms=60_000)
    assert again == []
    # another key, or an empty key, always starts
    assert len(service.publish_message("order-placed", "k-2")[1]) == 1
    assert len(service.publish_message("order-placed", "")[1]) == 1
    assert len(service.publish_message("order-placed", "")[1]) == 1
    assert len(roots("message-start")) == 4


def test_message_start_uses_latest_version_only() -> None:
    xml = (BPMN / "message-start.bpmn").read_text()
    service.deploy([("message-start.bpmn", xml)])
    service.deploy([("message-start.bpmn", xml.replace('name="Accept order"', 'name="v2"'))])
    assert MessageStartSubscription.objects.get().definition.version == 2
    _, started = service.publish_message("order-placed", "")
    assert ElementInstance.objects.get(key=started[0]).definition.version == 2


def test_buffered_message_starts_when_blocking_instance_ends(
    django_capture_on_commit_callbacks: Any,
) -> None:
    service.deploy_file(str(BPMN / "message-start.bpmn"))
    service.publish_message("order-placed", "k-1", variables={"n": 1}, ttl_ms=60_000)
    service.publish_message("order-placed", "k-1", variables={"n": 2}, ttl_ms=60_000)
    assert len(roots("message-start")) == 1
    job = service.activate_jobs("accept-order", max_jobs=1)[0].job
    with django_capture_on_commit_callbacks(execute=True):
        service.complete_job(job.key)
    started = roots("message-start")
    assert len(started) == 2
    assert Variable.objects.get(scope_key=started[1].key, name="n").value == 2


# ------------------------------------------------------------ a due timer listed by two processes
# Each process reads the due timers without locks, then fires them one by one under a lock; the
# second to take the lock must find that the first already fired it (a cycle's due date moved
# on) and leave it: Zeebe triggers a timer once per due date.
RACE_REMINDER = f"""{HEAD}
  <bpmn:process id="race-reminder" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Review"><bpmn:extensionElements><zeebe:userTask />
      </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="Remind" attachedToRef="Review" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle>
      </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="Reminded"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Review" />
    <bpmn:sequenceFlow id="f2" sourceRef="Review" targetRef="E" />
    <bpmn:sequenceFlow id="f3" sourceRef="Remind" targetRef="Reminded" />
  </bpmn:process>
</bpmn:definitions>"""


def listed_due(at: dt.datetime) -> list[tuple[int, int | None]]:
    """What a second process read before the first fired: the due timers, unlocked."""
    return list(Timer.objects.filter(due_at__lte=at).values_list("key", "process_instance_key"))


def test_a_start_timer_listed_twice_starts_one_instance() -> None:
    service.deploy([("ticker.bpmn", timer_start("R/PT1H"))])
    at = T0 + dt.timedelta(hours=1)
    stale = listed_due(at)
    assert len(stale) == 1
    service.pin_clock(at)  # the first process fires it: one instance, the cycle moves on
    assert ElementInstance.objects.filter(element_type="PROCESS").count() == 1
    assert Timer.objects.get().due_at == T0 + dt.timedelta(hours=2)
    [(timer_key, instance_key)] = stale
    assert service._fire_timer(timer_key, instance_key, at) is False  # the second finds it fired
    assert ElementInstance.objects.filter(element_type="PROCESS").count() == 1
    assert Timer.objects.get().due_at == T0 + dt.timedelta(hours=2)


def test_a_repeating_boundary_timer_listed_twice_triggers_once() -> None:
    service.deploy([("reminder.bpmn", RACE_REMINDER)])
    root = service.create_instance(process_id="race-reminder")
    at = T0 + dt.timedelta(hours=1)
    stale = listed_due(at)
    assert [instance for _key, instance in stale] == [root.key]
    service.pin_clock(at)
    reminded = ElementInstance.objects.filter(process_instance_key=root.key, element_id="Reminded")
    assert reminded.count() == 1
    [(timer_key, instance_key)] = stale
    assert service._fire_timer(timer_key, instance_key, at) is False
    assert reminded.count() == 1
    assert Timer.objects.get().due_at == T0 + dt.timedelta(hours=2)
