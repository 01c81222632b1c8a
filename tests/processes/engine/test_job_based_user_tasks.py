"""Job-based user tasks (no ``zeebe:userTask``) and FEEL dates of user tasks.

https://docs.camunda.io/docs/components/modeler/bpmn/user-tasks/
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from processes.engine.runtime import USER_TASK_JOB_TYPE
from processes.models import Job, UserTask

pytestmark = pytest.mark.django_db


def test_user_task_without_zeebe_user_task_is_a_job(process):
    """No `zeebe:userTask` → a job of type io.camunda.zeebe:userTask, no user task row."""
    process.deploy("gap-job-user-task.bpmn")

    instance = process.start("gap-job-user-task", {"reviewer": "anna"})

    instance.is_waiting_at("Approve")
    assert not UserTask.objects.filter(process_instance_key=instance.key).exists()
    [job] = instance.jobs(USER_TASK_JOB_TYPE)
    assert job.state == Job.ACTIVATABLE and job.retries == 3
    headers = job.custom_headers
    assert headers["queue"] == "returns"
    assert headers["io.camunda.zeebe:assignee"] == "anna"
    assert json.loads(headers["io.camunda.zeebe:candidateGroups"]) == ["sales", "support"]
    assert headers["io.camunda.zeebe:formKey"] == "camunda-forms:bpmn:Form_1"
    due = dt.datetime.fromisoformat(headers["io.camunda.zeebe:dueDate"])
    assert due == dt.datetime(2030, 1, 2, 10, tzinfo=dt.UTC)

    process.complete_job(USER_TASK_JOB_TYPE, {"approved": True})

    instance.is_completed().has_variables(approved=True)


def test_job_based_user_task_is_cancelled_with_the_instance(process):
    """Terminating the element cancels its job."""
    process.deploy("gap-job-user-task.bpmn")
    instance = process.start("gap-job-user-task", {"reviewer": "anna"})

    process.cancel(instance)

    instance.is_terminated()
    [job] = instance.jobs(USER_TASK_JOB_TYPE)
    assert job.state == Job.CANCELED
