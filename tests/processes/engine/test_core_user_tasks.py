"""Core conformance: Camunda user tasks. https://docs.camunda.io/docs/components/modeler/bpmn/user-tasks/"""

from __future__ import annotations

import datetime as dt

import pytest

from processes.engine import service
from processes.engine.runtime import Rejection
from processes.models import UserTask

pytestmark = pytest.mark.django_db


def test_user_task_properties_from_static_values(process):
    process.deploy("core-user-task.bpmn")

    instance = process.start("core-user-task")

    instance.is_waiting_at("Review").has_user_task(
        "Review",
        assignee="anna",
        candidate_groups=["sales", "support"],
        priority=80,
        form_key="orders:review",
        due_date=dt.datetime(2030, 1, 2, 10, 0, tzinfo=dt.UTC),
    )
    assert process.user_task("Review").name == "Review order"


def test_complete_user_task_with_variables(process):
    process.deploy("core-user-task.bpmn")
    instance = process.start("core-user-task")

    task_key = process.complete_user_task("Review", {"approved": True}, user="anna")

    instance.is_completed().has_variables(approved=True)
    task = UserTask.objects.get(key=task_key)
    assert (task.state, task.completed_by) == (UserTask.COMPLETED, "anna")


def test_completing_a_user_task_twice_is_rejected(process):
    process.deploy("core-user-task.bpmn")
    instance = process.start("core-user-task")
    task_key = process.complete_user_task("Review")

    with pytest.raises(Rejection) as info:
        service.complete_user_task(task_key, {"again": True})

    assert info.value.rejection_type == "INVALID_STATE"
    instance.has_passed("Review", times=1).has_no_variable("again")


def test_assign_and_unassign(process):
    process.deploy("core-user-task.bpmn")
    instance = process.start("core-user-task")
    task = process.user_task("Review")

    service.assign_user_task(task.key, "ben")
    instance.has_user_task("Review", assignee="ben")
    with pytest.raises(Rejection):
        service.assign_user_task(task.key, "carl", allow_override=False)
    service.unassign_user_task(task.key)

    instance.has_user_task("Review", assignee="")


def test_user_task_assignee_and_candidate_groups_from_feel(process):
    process.deploy("core-user-task-feel.bpmn")

    instance = process.start(
        "core-user-task-feel", {"owner": "dora", "groups": ["finance", "audit"]}
    )

    instance.has_user_task(
        "Approve", assignee="dora", candidate_groups=["finance", "audit"], priority=50
    )


def test_user_task_candidate_groups_not_strings_is_an_incident(process):
    process.deploy("core-user-task-feel.bpmn")

    instance = process.start("core-user-task-feel", {"owner": "dora", "groups": [1, 2]})

    instance.has_incident("EXTRACT_VALUE_ERROR", "Approve")
    assert not instance.user_tasks()
