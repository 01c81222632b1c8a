"""Core conformance: deployment, versions, bad input, none events, simple tasks, cancel."""

from __future__ import annotations

import pytest

from processes.engine import service
from processes.engine.runtime import Rejection
from processes.models import Job, ProcessDefinition, UserTask

pytestmark = pytest.mark.django_db


def test_none_start_to_none_end_completes_at_once(process):
    # given
    process.deploy("core-none-events.bpmn")

    # when
    instance = process.start("core-none-events", {"orderId": "A-1"}, business_key="A-1")

    # then
    instance.is_completed().has_passed("Start").has_passed("End").has_no_incidents()
    instance.has_variables(orderId="A-1")
    assert instance.root.business_key == "A-1"


def test_manual_task_and_plain_task_pass_straight_through(process):
    process.deploy("core-manual-task.bpmn")

    instance = process.start("core-manual-task")

    instance.is_completed().has_passed("PackBox").has_passed("Note").has_passed("End")


def test_unknown_process_id_is_rejected_not_found(process):
    with pytest.raises(Rejection) as info:
        process.start("no-such-process")

    assert info.value.rejection_type == "NOT_FOUND"
    assert "no-such-process" in info.value.message


# ------------------------------------------------------------------ versions
def _xml(pid: str, end_name: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" '
        'targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:process id="{pid}" isExecutable="true"><bpmn:startEvent id="Start" />'
        '<bpmn:serviceTask id="Work"><bpmn:extensionElements>'
        '<zeebe:taskDefinition type="work" /></bpmn:extensionElements></bpmn:serviceTask>'
        f'<bpmn:endEvent id="End" name="{end_name}" />'
        '<bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Work" />'
        '<bpmn:sequenceFlow id="F2" sourceRef="Work" targetRef="End" />'
        "</bpmn:process></bpmn:definitions>"
    )


def test_identical_redeploy_keeps_the_version(process):
    # given
    [first] = process.deploy(_xml("versioned", "Done"))

    # when
    [again] = process.deploy(_xml("versioned", "Done"))

    # then
    assert (again.key, again.version) == (first.key, 1)
    assert ProcessDefinition.objects.filter(bpmn_process_id="versioned").count() == 1


def test_changed_deploy_gets_a_new_version_and_running_instances_stay_on_theirs(process):
    # given
    [v1] = process.deploy(_xml("versioned", "Done"))
    old = process.start("versioned")

    # when
    [v2] = process.deploy(_xml("versioned", "Finished"))
    new = process.start("versioned")

    # then
    assert (v1.version, v2.version) == (1, 2)
    assert old.root.definition_id == v1.key
    assert new.root.definition_id == v2.key
    process.complete_job("work", instance=old)
    old.is_completed()
    new.is_active().is_waiting_at("Work")


def test_start_by_explicit_version(process):
    [v1] = process.deploy(_xml("versioned", "Done"))
    process.deploy(_xml("versioned", "Finished"))

    instance = process.start("versioned", version=1)

    assert instance.root.definition_id == v1.key


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("malformed.bpmn", "malformed.bpmn"),
        ("unknown-element.bpmn", "Gateway_complex"),
        ("missing-job-type.bpmn", "ServiceTask_1"),
    ],
)
def test_invalid_deployment_is_refused_naming_the_problem(process, fixture, expected):
    with pytest.raises(Rejection) as info:
        process.deploy(fixture)

    assert info.value.rejection_type == "INVALID_ARGUMENT"
    assert expected in info.value.message
    assert not ProcessDefinition.objects.exists()


def test_missing_job_type_names_both_tasks(process):
    with pytest.raises(Rejection) as info:
        process.deploy("missing-job-type.bpmn")

    assert "ServiceTask_1" in info.value.message
    assert "ServiceTask_2" in info.value.message


def test_feel_syntax_error_refuses_deployment_naming_element(process):
    with pytest.raises(Rejection) as info:
        process.deploy("feel-syntax-error.bpmn")

    message = info.value.message
    assert "ServiceTask_1" in message or "Flow_3" in message
    assert not ProcessDefinition.objects.exists()


# ------------------------------------------------------------------ jobs completed twice
def test_job_completed_twice_is_rejected_and_changes_nothing(process):
    # given
    process.deploy(_xml("versioned", "Done"))
    instance = process.start("versioned")
    job_key = process.complete_job("work")
    instance.is_completed()
    before = list(Job.objects.values_list("key", "state").order_by("key"))

    # when
    with pytest.raises(Rejection) as info:
        service.complete_job(job_key, {"late": True})

    # then
    assert info.value.rejection_type == "NOT_FOUND"
    assert list(Job.objects.values_list("key", "state").order_by("key")) == before
    instance.has_no_variable("late").has_passed("Work", times=1)


# ------------------------------------------------------------------ cancel
def test_cancel_instance_cancels_jobs_tasks_and_timers(process):
    # given
    process.deploy("core-cancel.bpmn")
    instance = process.start("core-cancel")
    instance.is_waiting_at("Ship", "Confirm", "Wait")
    job = instance.jobs("ship")[0]
    task = instance.user_tasks("Confirm")[0]

    # when
    process.cancel(instance)

    # then
    instance.is_terminated().has_no_active_elements()
    job.refresh_from_db()
    task.refresh_from_db()
    assert job.state == Job.CANCELED
    assert task.state == UserTask.CANCELED
    assert not service.Timer.objects.filter(process_instance_key=instance.key).exists()
    with pytest.raises(Rejection) as info:
        service.complete_job(job.key)
    assert info.value.rejection_type == "NOT_FOUND"
    with pytest.raises(Rejection):
        service.complete_user_task(task.key)


def test_cancel_twice_is_rejected(process):
    process.deploy("core-cancel.bpmn")
    instance = process.start("core-cancel")
    process.cancel(instance)

    with pytest.raises(Rejection) as info:
        process.cancel(instance)

    assert info.value.rejection_type == "NOT_FOUND"


# ------------------------------------------------------------------ harness failure text
def test_failed_assertion_describes_what_the_instance_does(process):
    process.deploy("core-parallel.bpmn")
    instance = process.start("core-parallel", {"orderId": "A-1"})

    with pytest.raises(AssertionError) as info:
        instance.is_completed()

    text = str(info.value)
    assert "is ACTIVE" in text
    assert "Pack [SERVICE_TASK, ACTIVATED]" in text
    assert "pack at Pack [ACTIVATABLE, retries 3" in text
    assert "'orderId': 'A-1'" in text


def test_is_waiting_at_is_exact_unless_told_otherwise(process):
    process.deploy("core-parallel.bpmn")
    instance = process.start("core-parallel")

    instance.is_waiting_at("Pack", "Invoice").is_waiting_at("Pack", exactly=False)
    with pytest.raises(AssertionError):
        instance.is_waiting_at("Pack")
