"""Scopes: the error walk stops at interrupted scopes, terminated compensation handlers, and
variable scopes of set-variables and dotted mappings.

https://docs.camunda.io/docs/components/modeler/bpmn/error-events/ and
https://docs.camunda.io/docs/components/concepts/variables/
"""

from __future__ import annotations

import datetime as dt

import pytest

from processes.engine import service
from processes.engine.runtime import Rejection
from processes.models import Job

pytestmark = pytest.mark.django_db

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">"""


def _task(task_id: str, job_type: str, extra: str = "", attrs: str = "") -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}"{attrs}><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{job_type}" />{extra}</bpmn:extensionElements>'
        "</bpmn:serviceTask>"
    )


INTERRUPTED_SCOPE = f"""{HEAD}
<bpmn:message id="Abort" name="abort"><bpmn:extensionElements>
  <zeebe:subscription correlationKey="=id" /></bpmn:extensionElements></bpmn:message>
<bpmn:error id="Err" errorCode="E-1" />
<bpmn:process id="gap-interrupted-walk" isExecutable="true">
<bpmn:startEvent id="Start" />
<bpmn:subProcess id="Sub">
  <bpmn:startEvent id="SubStart" />
  {_task("Inner", "inner")}
  <bpmn:endEvent id="SubEnd" />
  <bpmn:sequenceFlow id="S1" sourceRef="SubStart" targetRef="Inner" />
  <bpmn:sequenceFlow id="S2" sourceRef="Inner" targetRef="SubEnd" />
  <bpmn:subProcess id="OnAbort" triggeredByEvent="true">
    <bpmn:startEvent id="AbortStart"><bpmn:messageEventDefinition messageRef="Abort" />
    </bpmn:startEvent>
    {_task("Cleanup", "cleanup")}
    <bpmn:endEvent id="AbortEnd" />
    <bpmn:sequenceFlow id="A1" sourceRef="AbortStart" targetRef="Cleanup" />
    <bpmn:sequenceFlow id="A2" sourceRef="Cleanup" targetRef="AbortEnd" />
  </bpmn:subProcess>
</bpmn:subProcess>
<bpmn:boundaryEvent id="Caught" attachedToRef="Sub"><bpmn:errorEventDefinition errorRef="Err" />
</bpmn:boundaryEvent>
<bpmn:endEvent id="End" /><bpmn:endEvent id="CaughtEnd" />
<bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Sub" />
<bpmn:sequenceFlow id="F2" sourceRef="Sub" targetRef="End" />
<bpmn:sequenceFlow id="F3" sourceRef="Caught" targetRef="CaughtEnd" />
</bpmn:process></bpmn:definitions>"""


def test_interrupted_scope_stops_the_error_walk(process):
    """The error boundary of an interrupted sub-process does not catch from inside it."""
    process.deploy(INTERRUPTED_SCOPE)
    instance = process.start("gap-interrupted-walk", {"id": "k"})
    process.publish_message("abort", "k")
    instance.is_waiting_at("Cleanup")

    process.throw_error("cleanup", "E-1")

    instance.has_not_passed("Caught").has_active_elements("Sub", "Cleanup")
    instance.has_incident("UNHANDLED_ERROR_EVENT")


def test_error_from_a_not_interrupted_scope_is_still_caught(process):
    process.deploy(INTERRUPTED_SCOPE)
    instance = process.start("gap-interrupted-walk", {"id": "k"})

    process.throw_error("inner", "E-1")

    instance.is_completed().has_passed("Caught").has_no_incidents()


COMPENSATION = f"""{HEAD}
<bpmn:process id="gap-compensation-terminated" isExecutable="true">
<bpmn:startEvent id="Start" />
{_task("Charge", "charge")}
<bpmn:boundaryEvent id="CompCharge" attachedToRef="Charge">
  <bpmn:compensateEventDefinition /></bpmn:boundaryEvent>
{_task("Refund", "refund", attrs=' isForCompensation="true"')}
<bpmn:boundaryEvent id="RefundTimeout" attachedToRef="Refund">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:intermediateThrowEvent id="Undo"><bpmn:compensateEventDefinition />
</bpmn:intermediateThrowEvent>
<bpmn:endEvent id="End" /><bpmn:endEvent id="TimeoutEnd" />
<bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Charge" />
<bpmn:sequenceFlow id="F2" sourceRef="Charge" targetRef="Undo" />
<bpmn:sequenceFlow id="F3" sourceRef="Undo" targetRef="End" />
<bpmn:sequenceFlow id="F4" sourceRef="RefundTimeout" targetRef="TimeoutEnd" />
<bpmn:association id="A1" associationDirection="One" sourceRef="CompCharge" targetRef="Refund" />
</bpmn:process></bpmn:definitions>"""


def test_terminated_compensation_handler_lets_the_throw_complete(process):
    """A terminated handler is not re-run; the throw completes once no handler is left."""
    process.deploy(COMPENSATION)
    instance = process.start("gap-compensation-terminated")
    process.complete_job("charge")
    instance.is_waiting_at("Refund", "Undo")

    process.increase_time(dt.timedelta(minutes=1))

    instance.is_completed().has_passed("RefundTimeout").has_passed("Undo").has_passed("End")
    [refund] = instance.jobs("refund")
    assert refund.state == Job.CANCELED


def test_set_variables_on_a_finished_scope_is_not_found(process):
    """Set variables on a finished element instance → NOT_FOUND."""
    process.deploy(COMPENSATION)
    instance = process.start("gap-compensation-terminated")
    charge_key = instance.element_instance_key("Charge")
    process.complete_job("charge")

    with pytest.raises(Rejection) as info:
        service.set_variables(charge_key, {"x": 1})

    assert info.value.rejection_type == "NOT_FOUND"


MAPPINGS = f"""{HEAD}
<bpmn:process id="gap-dotted-mappings" isExecutable="true">
<bpmn:startEvent id="Start" />
{
    _task(
        "Work",
        "work",
        '<zeebe:ioMapping><zeebe:input source="=1" target="a.b" />'
        '<zeebe:input source="=2" target="a.c.d" />'
        '<zeebe:output source="=result" target="order.status" /></zeebe:ioMapping>',
    )
}
<bpmn:endEvent id="End" />
<bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Work" />
<bpmn:sequenceFlow id="F2" sourceRef="Work" targetRef="End" />
</bpmn:process></bpmn:definitions>"""


def test_dotted_input_target_builds_a_whole_object(process):
    """`a.b` builds a new local object `a`; an outer `a` is hidden, not copied."""
    process.deploy(MAPPINGS)
    instance = process.start("gap-dotted-mappings", {"a": {"outer": True}, "order": {"id": 7}})

    [job] = [process.activate_job("work")]

    assert job.variables["a"] == {"b": 1, "c": {"d": 2}}
    assert instance.local_variables("Work")["a"] == {"b": 1, "c": {"d": 2}}
    process.complete_job("work", {"result": "done"})
    # a dotted output target updates the leaf of the visible object
    instance.is_completed().has_variables(a={"outer": True}, order={"id": 7, "status": "done"})


ERROR_CODE_EXPRESSION = f"""{HEAD}
<bpmn:error id="Err" errorCode="E-1" /><bpmn:error id="Dynamic" errorCode="=code" />
<bpmn:process id="error-code-expression" isExecutable="true">
<bpmn:startEvent id="Start" />
<bpmn:subProcess id="Sub">
  <bpmn:startEvent id="SubStart" />
  <bpmn:endEvent id="Fail"><bpmn:errorEventDefinition errorRef="Dynamic" /></bpmn:endEvent>
  <bpmn:sequenceFlow id="S1" sourceRef="SubStart" targetRef="Fail" />
</bpmn:subProcess>
<bpmn:boundaryEvent id="Caught" attachedToRef="Sub">
  <bpmn:errorEventDefinition errorRef="Err" /></bpmn:boundaryEvent>
<bpmn:endEvent id="End" /><bpmn:endEvent id="CaughtEnd" />
<bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Sub" />
<bpmn:sequenceFlow id="F2" sourceRef="Sub" targetRef="End" />
<bpmn:sequenceFlow id="F3" sourceRef="Caught" targetRef="CaughtEnd" />
</bpmn:process></bpmn:definitions>"""


def test_error_end_event_whose_code_failed_is_thrown_again_on_resolve(process):
    """An error code expression that fails is an incident at the activated end event; once
    the data is fixed, resolving it evaluates the code again and throws the error."""
    process.deploy(ERROR_CODE_EXPRESSION)
    instance = process.start("error-code-expression", {"code": 7})
    instance.is_waiting_at("Fail").has_incident()

    process.set_variables(instance.key, {"code": "E-1"})
    process.resolve_incident(instance)

    instance.is_completed().has_passed("Caught").has_passed("CaughtEnd").has_no_incidents()
