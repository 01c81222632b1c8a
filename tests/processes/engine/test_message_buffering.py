"""Message buffering and correlation: TTL, once per process id, non-interrupting catches and
message start events. https://docs.camunda.io/docs/components/concepts/messages/
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from processes.engine import service
from processes.models import ElementInstance, Message, MessageCorrelation, Variable

pytestmark = pytest.mark.django_db

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
<bpmn:message id="Ping" name="ping"><bpmn:extensionElements>
  <zeebe:subscription correlationKey="=id" /></bpmn:extensionElements></bpmn:message>"""

BOUNDARY = f"""{HEAD}
<bpmn:process id="gap-ni-boundary" isExecutable="true">
<bpmn:startEvent id="Start" />
<bpmn:serviceTask id="Work"><bpmn:extensionElements>
  <zeebe:taskDefinition type="work" /></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:boundaryEvent id="Pinged" attachedToRef="Work" cancelActivity="false">
  <bpmn:messageEventDefinition messageRef="Ping" /></bpmn:boundaryEvent>
<bpmn:endEvent id="End" /><bpmn:endEvent id="PingEnd" />
<bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Work" />
<bpmn:sequenceFlow id="F2" sourceRef="Work" targetRef="End" />
<bpmn:sequenceFlow id="F3" sourceRef="Pinged" targetRef="PingEnd" />
</bpmn:process></bpmn:definitions>"""

EVENT_SUBPROCESS = f"""{HEAD}
<bpmn:process id="gap-ni-esp" isExecutable="true">
<bpmn:startEvent id="Start" />
<bpmn:serviceTask id="Work"><bpmn:extensionElements>
  <zeebe:taskDefinition type="work" /></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:endEvent id="End" />
<bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Work" />
<bpmn:sequenceFlow id="F2" sourceRef="Work" targetRef="End" />
<bpmn:subProcess id="OnPing" triggeredByEvent="true">
  <bpmn:startEvent id="PingStart" isInterrupting="false">
    <bpmn:messageEventDefinition messageRef="Ping" /></bpmn:startEvent>
  <bpmn:endEvent id="PingEnd" />
  <bpmn:sequenceFlow id="E1" sourceRef="PingStart" targetRef="PingEnd" />
</bpmn:subProcess>
</bpmn:process></bpmn:definitions>"""

HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("xml", "process_id", "catcher"),
    [(BOUNDARY, "gap-ni-boundary", "Pinged"), (EVENT_SUBPROCESS, "gap-ni-esp", "PingStart")],
)
def test_non_interrupting_subscription_takes_every_buffered_message(
    process, xml: str, process_id: str, catcher: str
):
    """After each correlation the next matching buffered message is offered at once."""
    process.deploy(xml)
    for n in (1, 2, 3):
        process.publish_message("ping", "k-1", {"n": n}, ttl=HOUR)
    process.publish_message("ping", "other", {"n": 9}, ttl=HOUR)

    instance = process.start(process_id, {"id": "k-1"})

    instance.has_passed(catcher, times=3).is_waiting_at("Work").has_variables(n=3)
    assert MessageCorrelation.objects.filter(process_instance_key=instance.key).count() == 3
    # each message once per process id: a new publication is still taken
    process.publish_message("ping", "k-1", {"n": 4})
    instance.has_passed(catcher, times=4).has_variables(n=4)


def test_published_message_then_buffered_ones_reach_a_non_interrupting_boundary(process):
    """Correlation on publish also releases the next buffered message."""
    process.deploy(BOUNDARY)
    instance = process.start("gap-ni-boundary", {"id": "k-1"})
    instance.is_waiting_for_message("ping", "k-1")

    process.publish_message("ping", "k-1", {"n": 1}, ttl=HOUR)

    instance.has_passed("Pinged", times=1).has_variables(n=1)


def test_message_with_ttl_zero_and_no_subscriber_is_never_used(process):
    """TTL 0 → only subscriptions open right now; later subscribers never get it."""
    process.deploy(BOUNDARY)
    process.publish_message("ping", "k-1", {"n": 1}, ttl_ms=0)

    instance = process.start("gap-ni-boundary", {"id": "k-1"})
    process.increase_time(dt.timedelta(seconds=1))

    instance.has_not_passed("Pinged").has_no_variable("n")
    assert not MessageCorrelation.objects.exists()
    assert not Message.objects.exists()  # expired messages are removed


def test_cancelled_message_started_instance_releases_the_next_buffered_message(
    process, django_capture_on_commit_callbacks: Any
):
    """When the blocking instance ends — cancelled too — the oldest buffered starts."""
    process.deploy(Path(__file__).parent / "bpmn" / "message-start.bpmn")
    _, [first] = process.publish_message("order-placed", "k-1", {"n": 1}, ttl=HOUR)
    _, blocked = process.publish_message("order-placed", "k-1", {"n": 2}, ttl=HOUR)
    assert blocked == []

    with django_capture_on_commit_callbacks(execute=True):
        service.cancel_instance(first)

    started = ElementInstance.objects.filter(
        element_type="PROCESS", element_id="message-start", state=ElementInstance.ACTIVE
    )
    [second] = list(started)
    assert Variable.objects.get(scope_key=second.key, name="n").value == 2
