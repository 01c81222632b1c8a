"""Call activities: https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from processes.engine import clock, service
from processes.engine.store import get_store
from processes.models import ElementInstance, Incident, Job, Variable

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


def job(job_type: str) -> Job:
    jobs = service.activate_jobs(job_type, worker="t", max_jobs=1)
    assert jobs, f"no job of type {job_type}"
    return jobs[0].job


def root_vars(pi: int) -> dict[str, Any]:
    return {v.name: v.value for v in Variable.objects.filter(scope_key=pi)}


def children(pi: int) -> list[ElementInstance]:
    return list(
        ElementInstance.objects.filter(
            element_type="PROCESS", parent_process_instance_key=pi
        ).order_by("key")
    )


def state(pi: int) -> str:
    return ElementInstance.objects.get(key=pi).state


def _deploy_fixtures() -> None:
    service.deploy(
        [
            (name, (BPMN / name).read_bytes())
            for name in ("call-activity-parent.bpmn", "call-activity-child.bpmn")
        ]
    )


def test_variables_in_and_out_with_both_flags() -> None:
    _deploy_fixtures()
    pi = service.create_instance(
        process_id="call-activity-parent",
        variables={"orderId": "o-1", "childProcessId": "call-activity-child", "other": 1},
    ).key
    first = children(pi)[0]
    call = ElementInstance.objects.get(key=first.parent_element_instance_key)
    assert call.element_id == "Call_child" and call.element_type == "CALL_ACTIVITY"
    # propagateAllParentVariables (default true): everything visible is copied
    assert root_vars(first.key) == {
        "orderId": "o-1",
        "childProcessId": "call-activity-child",
        "other": 1,
    }
    service.complete_job(job("child-work").key, {"extra": True})
    assert state(first.key) == ElementInstance.COMPLETED
    # propagateAllChildVariables=false with an output mapping: only the mapping returns
    parent_vars = root_vars(pi)
    assert parent_vars["result"] == 42
    assert "childResult" not in parent_vars and "extra" not in parent_vars
    second = children(pi)[1]
    # propagateAllParentVariables=false without input mappings: nothing is copied
    assert root_vars(second.key) == {}
    service.set_variables(second.key, {"fromChild": "yes"})
    service.complete_job(job("child-work").key)
    # propagateAllChildVariables (default true): all child root variables come back
    parent_vars = root_vars(pi)
    assert parent_vars["childResult"] == 42 and parent_vars["fromChild"] == "yes"
    assert state(pi) == ElementInstance.COMPLETED


def _parent(called: str, extra: str = "", boundary: str = "") -> str:
    return f"""{HEAD}
  <bpmn:process id="parent" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="Call">
      <bpmn:extensionElements><zeebe:calledElement processId="{called}" {extra} />
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:callActivity>
    {boundary}
    <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Call" />
    <bpmn:sequenceFlow id="f2" sourceRef="Call" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>"""


ERROR_BOUNDARY = """
    <bpmn:boundaryEvent id="Caught" attachedToRef="Call">
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:errorEventDefinition errorRef="Err" />
      <bpmn:extensionElements><zeebe:ioMapping>
        <zeebe:output source="=reason" target="reason" /></zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="EC"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="Caught" targetRef="EC" />
"""

CHILD_TASK = f"""{HEAD}
  <bpmn:process id="child" isExecutable="true">
    <bpmn:startEvent id="CS"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="CT">
      <bpmn:extensionElements><zeebe:taskDefinition type="child-task" /></bpmn:extensionElements>
      <bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="CE"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="CS" targetRef="CT" />
    <bpmn:sequenceFlow id="c2" sourceRef="CT" targetRef="CE" />
  </bpmn:process>
</bpmn:definitions>"""

CHILD_INSTANT = f"""{HEAD}
  <bpmn:process id="child" isExecutable="true">
    <bpmn:startEvent id="CS"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="CE"><bpmn:incoming>c1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="CS" targetRef="CE" />
  </bpmn:process>
</bpmn:definitions>"""


def _with_error(xml: str) -> str:
    return xml.replace("<bpmn:process", '<bpmn:error id="Err" errorCode="E-1" />\n  <bpmn:process')


def test_child_error_caught_by_parent_boundary() -> None:
    service.deploy(
        [
            ("p.bpmn", _with_error(_parent("child", boundary=ERROR_BOUNDARY))),
            ("c.bpmn", CHILD_TASK),
        ]
    )
    pi = service.create_instance(process_id="parent").key
    child = children(pi)[0]
    service.throw_job_error(job("child-task").key, error_code="E-1", variables={"reason": "r"})
    assert state(child.key) == ElementInstance.TERMINATED
    assert ElementInstance.objects.get(process_instance_key=pi, element_id="Call").state == (
        ElementInstance.TERMINATED
    )
    assert state(pi) == ElementInstance.COMPLETED
    assert ElementInstance.objects.get(process_instance_key=pi, element_id="EC").state == (
        ElementInstance.COMPLETED
    )
    assert root_vars(pi)["reason"] == "r"
    assert not Incident.objects.exists()


def test_child_error_not_caught_anywhere_is_an_incident_in_the_child() -> None:
    service.deploy([("p.bpmn", _parent("child")), ("c.bpmn", CHILD_TASK)])
    pi = service.create_instance(process_id="parent").key
    child = children(pi)[0]
    service.throw_job_error(job("child-task").key, error_code="E-9")
    incident = Incident.objects.get()
    assert incident.process_instance_key == child.key
    assert incident.error_type == "UNHANDLED_ERROR_EVENT"
    assert state(child.key) == ElementInstance.ACTIVE


def test_cancel_parent_cancels_child() -> None:
    service.deploy([("p.bpmn", _parent("child")), ("c.bpmn", CHILD_TASK)])
    pi = service.create_instance(process_id="parent").key
    child = children(pi)[0]
    with pytest.raises(service.Rejection):
        service.cancel_instance(child.key)
    service.cancel_instance(pi)
    assert state(pi) == ElementInstance.TERMINATED
    assert state(child.key) == ElementInstance.TERMINATED
    assert Job.objects.get().state == Job.CANCELED


def test_missing_called_process_is_an_incident() -> None:
    service.deploy([("p.bpmn", _parent("nowhere"))])
    pi = service.create_instance(process_id="parent").key
    incident = Incident.objects.get(process_instance_key=pi)
    assert incident.error_type == "CALLED_ELEMENT_ERROR"
    assert incident.element_id == "Call"
    # deploying it and resolving the incident re-runs the activation
    service.deploy([("c.bpmn", CHILD_INSTANT.replace('id="child"', 'id="nowhere"'))])
    service.resolve_incident(incident.key)
    assert state(pi) == ElementInstance.COMPLETED


def test_instantly_completing_child_continues_parent_in_same_command() -> None:
    service.deploy([("p.bpmn", _parent("child")), ("c.bpmn", CHILD_INSTANT)])
    pi = service.create_instance(process_id="parent", variables={"x": 1}).key
    child = children(pi)[0]
    assert state(child.key) == ElementInstance.COMPLETED
    assert state(pi) == ElementInstance.COMPLETED


def test_feel_process_id_and_binding_deployment() -> None:
    service.deploy([("p.bpmn", _parent("=target", 'bindingType="deployment"'))])
    service.deploy([("c.bpmn", CHILD_INSTANT)])
    pi = service.create_instance(process_id="parent", variables={"target": "child"}).key
    # the child is not part of the parent's deployment
    assert Incident.objects.get(process_instance_key=pi).error_type == "CALLED_ELEMENT_ERROR"


def test_busy_parent_is_continued_by_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    service.deploy([("p.bpmn", _parent("child")), ("c.bpmn", CHILD_TASK)])
    pi = service.create_instance(process_id="parent").key
    child = children(pi)[0]
    store = get_store()
    real_lock = store.try_lock_root
    # the parent row is held by another transaction: the child never waits for it
    monkeypatch.setattr(
        store, "try_lock_root", lambda key, *, wait: real_lock(key, wait=wait) if wait else None
    )
    service.complete_job(job("child-task").key, {"done": 1})
    assert state(child.key) == ElementInstance.COMPLETED
    assert "to_parent" in ElementInstance.objects.get(key=child.key).data
    assert state(pi) == ElementInstance.ACTIVE
    assert service.resume_completed_children() == 1
    assert state(pi) == ElementInstance.COMPLETED
    assert root_vars(pi)["done"] == 1
    assert "to_parent" not in ElementInstance.objects.get(key=child.key).data
    assert service.resume_completed_children() == 0
