"""Event sub-processes: https://docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from processes.engine import clock, service
from processes.models import ElementInstance, Job, MessageSubscription, Timer, Variable

pytestmark = pytest.mark.django_db

BPMN = Path(__file__).parent / "bpmn"
T0 = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock(settings: Any) -> Any:
    settings.ENGINE_CLOCK_CONTROLLED = True
    clock.forget_cache()
    service.pin_clock(T0)
    yield
    clock.forget_cache()


def states(pi: int) -> dict[str, str]:
    """element id -> state of the latest element instance with that id."""
    rows = ElementInstance.objects.filter(process_instance_key=pi).order_by("key")
    return {row.element_id: row.state for row in rows}


def count(pi: int, element_id: str, state: str | None = None) -> int:
    query = ElementInstance.objects.filter(process_instance_key=pi, element_id=element_id)
    if state:
        query = query.filter(state=state)
    return query.count()


def job(job_type: str) -> Job:
    jobs = service.activate_jobs(job_type, worker="t", max_jobs=1)
    assert jobs, f"no job of type {job_type}"
    return jobs[0].job


def root_vars(pi: int) -> dict[str, Any]:
    return {v.name: v.value for v in Variable.objects.filter(scope_key=pi)}


def deploy(name: str, xml: str) -> None:
    service.deploy([(name, xml)])


def test_non_interrupting_message_runs_in_parallel_many_times() -> None:
    service.deploy_file(str(BPMN / "event-subprocess.bpmn"))
    pi = service.create_instance(process_id="event-subprocess", variables={"orderId": "o-1"}).key
    assert MessageSubscription.objects.filter(
        process_instance_key=pi, element_id="Start_update", correlation_key="o-1"
    ).exists()
    service.publish_message("order-updated", "o-1", variables={"change": 1})
    service.publish_message("order-updated", "o-1", variables={"change": 2})
    assert count(pi, "EventSub_message", ElementInstance.ACTIVE) == 2
    assert count(pi, "Task_work", ElementInstance.ACTIVE) == 1
    assert root_vars(pi)["change"] == 2  # start event payload merges outward
    for _ in range(2):
        service.complete_job(job("apply-update").key)
    assert count(pi, "EventSub_message", ElementInstance.COMPLETED) == 2
    root = ElementInstance.objects.get(key=pi)
    assert root.state == ElementInstance.ACTIVE
    service.complete_job(job("do-work").key)
    root.refresh_from_db()
    assert root.state == ElementInstance.COMPLETED
    assert not MessageSubscription.objects.filter(process_instance_key=pi).exists()
    assert not Timer.objects.filter(process_instance_key=pi).exists()


def test_process_waits_for_running_non_interrupting_subprocess() -> None:
    service.deploy_file(str(BPMN / "event-subprocess.bpmn"))
    pi = service.create_instance(process_id="event-subprocess", variables={"orderId": "o-2"}).key
    service.publish_message("order-updated", "o-2")
    service.complete_job(job("do-work").key)
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.ACTIVE
    service.complete_job(job("apply-update").key)
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.COMPLETED


def test_non_interrupting_timer_cycle_repeats() -> None:
    service.deploy_file(str(BPMN / "event-subprocess.bpmn"))
    pi = service.create_instance(process_id="event-subprocess", variables={"orderId": "o-3"}).key
    service.pin_clock(T0 + dt.timedelta(hours=1, seconds=1))
    service.pin_clock(T0 + dt.timedelta(hours=2, seconds=2))
    assert count(pi, "EventSub_timer", ElementInstance.COMPLETED) == 2
    assert count(pi, "Task_work", ElementInstance.ACTIVE) == 1
    assert Timer.objects.filter(process_instance_key=pi, element_id="Start_hourly").count() == 1


def test_error_catch_all_subprocess_interrupts() -> None:
    service.deploy_file(str(BPMN / "event-subprocess.bpmn"))
    pi = service.create_instance(process_id="event-subprocess", variables={"orderId": "o-4"}).key
    service.publish_message("order-updated", "o-4")  # a running non-interrupting ESP
    work = job("do-work")
    service.throw_job_error(work.key, error_code="ANY", variables={"reason": "x"})
    assert count(pi, "Task_work", ElementInstance.TERMINATED) == 1
    assert count(pi, "EventSub_message", ElementInstance.TERMINATED) == 1
    assert count(pi, "EventSub_error", ElementInstance.ACTIVE) == 1
    assert Job.objects.get(element_id="Task_apply").state == Job.CANCELED
    # error payload is local to the start event
    assert "reason" not in root_vars(pi)
    # the interrupted scope discards later triggers
    assert not MessageSubscription.objects.filter(process_instance_key=pi).exists()
    assert not Timer.objects.filter(process_instance_key=pi).exists()
    service.complete_job(job("cleanup").key)
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.COMPLETED


def _esp_process(inner: str, interrupting: bool = True) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="M" name="cancel-it">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=key" /></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:error id="E1" errorCode="E1" />
  <bpmn:process id="esp" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="Sub">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="SS"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:serviceTask id="Work">
        <bpmn:extensionElements><zeebe:taskDefinition type="work" /></bpmn:extensionElements>
        <bpmn:incoming>s1</bpmn:incoming>
      </bpmn:serviceTask>
      <bpmn:sequenceFlow id="s1" sourceRef="SS" targetRef="Work" />
      {inner}
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="SubCatchAll" attachedToRef="Sub">
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:errorEventDefinition />
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="EB"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Sub" />
    <bpmn:sequenceFlow id="f2" sourceRef="Sub" targetRef="E" />
    <bpmn:sequenceFlow id="f3" sourceRef="SubCatchAll" targetRef="EB" />
  </bpmn:process>
</bpmn:definitions>
"""


ERROR_ESPS = """
      <bpmn:subProcess id="EspAll" triggeredByEvent="true">
        <bpmn:startEvent id="EspAllStart"><bpmn:outgoing>a1</bpmn:outgoing>
          <bpmn:errorEventDefinition /></bpmn:startEvent>
        <bpmn:endEvent id="EspAllEnd"><bpmn:incoming>a1</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="a1" sourceRef="EspAllStart" targetRef="EspAllEnd" />
      </bpmn:subProcess>
      <bpmn:subProcess id="EspE1" triggeredByEvent="true">
        <bpmn:startEvent id="EspE1Start"><bpmn:outgoing>b1</bpmn:outgoing>
          <bpmn:errorEventDefinition errorRef="E1" /></bpmn:startEvent>
        <bpmn:serviceTask id="Fix">
          <bpmn:extensionElements><zeebe:taskDefinition type="fix" /></bpmn:extensionElements>
          <bpmn:incoming>b1</bpmn:incoming>
        </bpmn:serviceTask>
        <bpmn:sequenceFlow id="b1" sourceRef="EspE1Start" targetRef="Fix" />
      </bpmn:subProcess>
"""

MESSAGE_ESP = """
      <bpmn:subProcess id="EspMsg" triggeredByEvent="true">
        <bpmn:startEvent id="EspMsgStart"><bpmn:outgoing>m1</bpmn:outgoing>
          <bpmn:messageEventDefinition messageRef="M" /></bpmn:startEvent>
        <bpmn:endEvent id="EspMsgEnd"><bpmn:incoming>m1</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="m1" sourceRef="EspMsgStart" targetRef="EspMsgEnd" />
      </bpmn:subProcess>
"""


def test_error_code_match_beats_catch_all_inside_subprocess() -> None:
    deploy("esp.bpmn", _esp_process(ERROR_ESPS))
    pi = service.create_instance(process_id="esp").key
    service.throw_job_error(job("work").key, error_code="E1")
    assert count(pi, "EspE1", ElementInstance.ACTIVE) == 1
    assert count(pi, "EspAll") == 0
    assert count(pi, "SubCatchAll") == 0  # the inner event sub-process catches first
    service.complete_job(job("fix").key)
    assert states(pi)["Sub"] == ElementInstance.COMPLETED
    assert states(pi)["E"] == ElementInstance.COMPLETED
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.COMPLETED


def test_other_code_goes_to_catch_all_subprocess() -> None:
    deploy("esp.bpmn", _esp_process(ERROR_ESPS))
    pi = service.create_instance(process_id="esp").key
    service.throw_job_error(job("work").key, error_code="OTHER")
    assert count(pi, "EspAll", ElementInstance.COMPLETED) == 1
    assert count(pi, "EspE1") == 0
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.COMPLETED


def test_interrupting_message_subprocess_in_embedded_scope() -> None:
    deploy("esp.bpmn", _esp_process(MESSAGE_ESP))
    pi = service.create_instance(process_id="esp", variables={"key": "k1"}).key
    sub = ElementInstance.objects.get(process_instance_key=pi, element_id="Sub")
    assert MessageSubscription.objects.get(element_id="EspMsgStart").element_instance_key == (
        sub.key
    )
    service.publish_message("cancel-it", "k1", variables={"why": "customer"})
    assert count(pi, "Work", ElementInstance.TERMINATED) == 1
    assert count(pi, "EspMsg", ElementInstance.COMPLETED) == 1
    assert states(pi)["Sub"] == ElementInstance.COMPLETED
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.COMPLETED
    assert root_vars(pi)["why"] == "customer"
    assert not MessageSubscription.objects.filter(process_instance_key=pi).exists()


TIMER_ESP = """
      <bpmn:subProcess id="EspTimer" triggeredByEvent="true">
        <bpmn:startEvent id="EspTimerStart"><bpmn:outgoing>t1</bpmn:outgoing>
          <bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration>
          </bpmn:timerEventDefinition></bpmn:startEvent>
        <bpmn:endEvent id="EspTimerEnd"><bpmn:incoming>t1</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="t1" sourceRef="EspTimerStart" targetRef="EspTimerEnd" />
      </bpmn:subProcess>
"""


def test_interrupting_timer_subprocess_fires_once() -> None:
    deploy("esp.bpmn", _esp_process(TIMER_ESP))
    pi = service.create_instance(process_id="esp").key
    sub = ElementInstance.objects.get(process_instance_key=pi, element_id="Sub")
    assert Timer.objects.get(element_id="EspTimerStart").element_instance_key == sub.key
    service.pin_clock(T0 + dt.timedelta(minutes=1))
    assert count(pi, "Work", ElementInstance.TERMINATED) == 1
    assert count(pi, "EspTimer", ElementInstance.COMPLETED) == 1
    assert Job.objects.get(element_id="Work").state == Job.CANCELED
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.COMPLETED
    assert not Timer.objects.exists()


def test_subprocess_completion_closes_its_event_subprocess_subscriptions() -> None:
    deploy("esp.bpmn", _esp_process(TIMER_ESP + MESSAGE_ESP))
    pi = service.create_instance(process_id="esp", variables={"key": "k"}).key
    service.complete_job(job("work").key)
    assert ElementInstance.objects.get(key=pi).state == ElementInstance.COMPLETED
    assert not Timer.objects.exists()
    assert not MessageSubscription.objects.exists()
