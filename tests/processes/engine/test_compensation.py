"""Compensation: https://docs.camunda.io/docs/components/modeler/bpmn/compensation-handler/"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from processes.engine import clock, service
from processes.models import ElementInstance, Job

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


def open_job_types(pi: int) -> list[str]:
    return sorted(
        Job.objects.filter(
            process_instance_key=pi, state__in=[Job.ACTIVATABLE, Job.ACTIVATED]
        ).values_list("type", flat=True)
    )


def el_state(pi: int, element_id: str) -> str:
    return (
        ElementInstance.objects.filter(process_instance_key=pi, element_id=element_id)
        .order_by("-key")
        .first()
        .state
    )


def state(pi: int) -> str:
    return ElementInstance.objects.get(key=pi).state


def task(task_id: str, job_type: str, flows: str = "", mi: str = "") -> str:
    return f"""<bpmn:serviceTask id="{task_id}">
      <bpmn:extensionElements><zeebe:taskDefinition type="{job_type}" /></bpmn:extensionElements>
      {flows}{mi}
    </bpmn:serviceTask>"""


def compensable(task_id: str, job_type: str, flows: str, mi: str = "") -> str:
    """A task with a compensation boundary and handler ``undo-<job_type>``."""
    return f"""{task(task_id, job_type, flows, mi)}
    <bpmn:boundaryEvent id="B_{task_id}" attachedToRef="{task_id}">
      <bpmn:compensateEventDefinition /></bpmn:boundaryEvent>
    {
        task("H_" + task_id, "undo-" + job_type).replace(
            "<bpmn:serviceTask ", '<bpmn:serviceTask isForCompensation="true" '
        )
    }
    <bpmn:association id="A_{task_id}" sourceRef="B_{task_id}" targetRef="H_{task_id}" />"""


def flows(incoming: str = "", outgoing: str = "") -> str:
    text = f"<bpmn:incoming>{incoming}</bpmn:incoming>" if incoming else ""
    return text + (f"<bpmn:outgoing>{outgoing}</bpmn:outgoing>" if outgoing else "")


def seq(fid: str, src: str, tgt: str) -> str:
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{tgt}" />'


def process(body: str) -> str:
    return f'{HEAD}<bpmn:process id="comp" isExecutable="true">{body}</bpmn:process>' + (
        "</bpmn:definitions>"
    )


def test_fixture_activity_ref_then_all_remaining() -> None:
    service.deploy_file(str(BPMN / "compensation.bpmn"))
    pi = service.create_instance(process_id="compensation").key
    service.complete_job(job("charge-card").key)
    service.complete_job(job("reserve-stock").key)
    # activityRef: only Task_charge's handler; the throw waits for it
    assert open_job_types(pi) == ["refund-card"]
    assert el_state(pi, "Throw_undo_charge") == ElementInstance.ACTIVE
    service.complete_job(job("refund-card").key)
    assert el_state(pi, "Throw_undo_charge") == ElementInstance.COMPLETED
    # the end event compensates what is left; charge was already compensated
    assert open_job_types(pi) == ["release-stock"]
    assert el_state(pi, "End_compensate") == ElementInstance.ACTIVE
    assert state(pi) == ElementInstance.ACTIVE
    service.complete_job(job("release-stock").key)
    assert el_state(pi, "End_compensate") == ElementInstance.COMPLETED
    assert state(pi) == ElementInstance.COMPLETED
    assert Job.objects.filter(type="refund-card").count() == 1


def test_two_completed_are_compensated_but_not_an_active_one() -> None:
    body = f"""
    <bpmn:startEvent id="S">{flows(outgoing="f0")}</bpmn:startEvent>
    <bpmn:parallelGateway id="Fork">{flows("f0")}<bpmn:outgoing>fa</bpmn:outgoing>
      <bpmn:outgoing>fc</bpmn:outgoing></bpmn:parallelGateway>
    {compensable("A", "a", flows("fa", "fab"))}
    {compensable("B", "b", flows("fab", "fbt"))}
    {compensable("C", "c", flows("fc", "fce"))}
    <bpmn:intermediateThrowEvent id="Throw">{flows("fbt", "fte")}
      <bpmn:compensateEventDefinition /></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="E1">{flows("fte")}</bpmn:endEvent>
    <bpmn:endEvent id="E2">{flows("fce")}</bpmn:endEvent>
    {seq("f0", "S", "Fork")}{seq("fa", "Fork", "A")}{seq("fc", "Fork", "C")}
    {seq("fab", "A", "B")}{seq("fbt", "B", "Throw")}{seq("fte", "Throw", "E1")}
    {seq("fce", "C", "E2")}"""
    service.deploy([("comp.bpmn", process(body))])
    pi = service.create_instance(process_id="comp").key
    service.complete_job(job("a").key)
    service.complete_job(job("b").key)
    assert open_job_types(pi) == ["c", "undo-a", "undo-b"]
    service.complete_job(job("undo-a").key)
    assert el_state(pi, "Throw") == ElementInstance.ACTIVE
    service.complete_job(job("undo-b").key)
    assert el_state(pi, "Throw") == ElementInstance.COMPLETED
    assert state(pi) == ElementInstance.ACTIVE
    service.complete_job(job("c").key)
    assert state(pi) == ElementInstance.COMPLETED
    assert not Job.objects.filter(type="undo-c").exists()


def test_compensation_runs_once_and_empty_throw_completes_at_once() -> None:
    body = f"""
    <bpmn:startEvent id="S">{flows(outgoing="f0")}</bpmn:startEvent>
    <bpmn:intermediateThrowEvent id="Empty">{flows("f0", "f1")}
      <bpmn:compensateEventDefinition /></bpmn:intermediateThrowEvent>
    {compensable("A", "a", flows("f1", "f2"))}
    <bpmn:intermediateThrowEvent id="T1">{flows("f2", "f3")}
      <bpmn:compensateEventDefinition /></bpmn:intermediateThrowEvent>
    <bpmn:intermediateThrowEvent id="T2">{flows("f3", "f4")}
      <bpmn:compensateEventDefinition /></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="E">{flows("f4")}</bpmn:endEvent>
    {seq("f0", "S", "Empty")}{seq("f1", "Empty", "A")}{seq("f2", "A", "T1")}
    {seq("f3", "T1", "T2")}{seq("f4", "T2", "E")}"""
    service.deploy([("comp.bpmn", process(body))])
    pi = service.create_instance(process_id="comp").key
    assert el_state(pi, "Empty") == ElementInstance.COMPLETED
    service.complete_job(job("a").key)
    service.complete_job(job("undo-a").key)
    assert el_state(pi, "T2") == ElementInstance.COMPLETED
    assert state(pi) == ElementInstance.COMPLETED
    assert Job.objects.filter(type="undo-a").count() == 1


def test_completed_subprocess_and_multi_instance_handler_once() -> None:
    mi = """<bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1,2,3]"
          inputElement="item" /></bpmn:extensionElements>
      </bpmn:multiInstanceLoopCharacteristics>"""
    body = f"""
    <bpmn:startEvent id="S">{flows(outgoing="f0")}</bpmn:startEvent>
    <bpmn:subProcess id="Sub">{flows("f0", "f1")}
      <bpmn:startEvent id="SS">{flows(outgoing="s1")}</bpmn:startEvent>
      {compensable("Inner", "inner", flows("s1"))}
      {seq("s1", "SS", "Inner")}
    </bpmn:subProcess>
    {compensable("Many", "many", flows("f1", "f2"), mi)}
    <bpmn:endEvent id="End">{flows("f2")}<bpmn:compensateEventDefinition /></bpmn:endEvent>
    {seq("f0", "S", "Sub")}{seq("f1", "Sub", "Many")}{seq("f2", "Many", "End")}"""
    service.deploy([("comp.bpmn", process(body))])
    pi = service.create_instance(process_id="comp").key
    service.complete_job(job("inner").key)
    assert el_state(pi, "Sub") == ElementInstance.COMPLETED
    for _ in range(3):
        service.complete_job(job("many").key)
    # the inner task of the completed sub-process, and the MI activity once
    assert open_job_types(pi) == ["undo-inner", "undo-many"]
    service.complete_job(job("undo-inner").key)
    service.complete_job(job("undo-many").key)
    assert state(pi) == ElementInstance.COMPLETED


def test_throw_in_error_event_subprocess_compensates_enclosing_scope() -> None:
    body = f"""
    <bpmn:startEvent id="S">{flows(outgoing="f0")}</bpmn:startEvent>
    {compensable("A", "a", flows("f0", "f1"))}
    {task("Fail", "fail", flows("f1", "f2"))}
    <bpmn:endEvent id="E">{flows("f2")}</bpmn:endEvent>
    {seq("f0", "S", "A")}{seq("f1", "A", "Fail")}{seq("f2", "Fail", "E")}
    <bpmn:subProcess id="OnError" triggeredByEvent="true">
      <bpmn:startEvent id="ES">{flows(outgoing="e1")}<bpmn:errorEventDefinition />
      </bpmn:startEvent>
      <bpmn:endEvent id="EE">{flows("e1")}<bpmn:compensateEventDefinition /></bpmn:endEvent>
      {seq("e1", "ES", "EE")}
    </bpmn:subProcess>"""
    service.deploy([("comp.bpmn", process(body))])
    pi = service.create_instance(process_id="comp").key
    service.complete_job(job("a").key)
    service.throw_job_error(job("fail").key, error_code="X")
    assert open_job_types(pi) == ["undo-a"]
    assert el_state(pi, "OnError") == ElementInstance.ACTIVE
    service.complete_job(job("undo-a").key)
    assert el_state(pi, "OnError") == ElementInstance.COMPLETED
    assert state(pi) == ElementInstance.COMPLETED
