"""A due timer fires once, even when two processes list it as due at the same time.

Each process reads the due timers without locks, then fires them one by one under a lock; the
second to take the lock must find that the first already fired it (a cycle's due date moved on)
and leave it. Zeebe triggers a timer once per due date:
https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/#time-cycle
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from processes.engine import clock, service
from processes.models import ElementInstance, Timer

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.UTC)
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">"""

TICKER = f"""{HEAD}
  <bpmn:process id="race-ticker" isExecutable="true">
    <bpmn:startEvent id="Tick"><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle>
      </bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Tick" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>"""

REMINDER = f"""{HEAD}
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


@pytest.fixture(autouse=True)
def _clock(settings: Any) -> Any:
    settings.ENGINE_CLOCK_CONTROLLED = True
    clock.forget_cache()
    service.pin_clock(T0)
    yield
    clock.forget_cache()


def listed_due(at: dt.datetime) -> list[tuple[int, int | None]]:
    """What a second process read before the first fired: the due timers, unlocked."""
    return list(Timer.objects.filter(due_at__lte=at).values_list("key", "process_instance_key"))


def test_a_start_timer_listed_twice_starts_one_instance() -> None:
    service.deploy([("ticker.bpmn", TICKER)])
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
    service.deploy([("reminder.bpmn", REMINDER)])
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
