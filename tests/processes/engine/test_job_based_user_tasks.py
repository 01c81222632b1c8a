"""Gaps closed against Zeebe 8.8: job-based user tasks (§8.5) and FEEL dates (§8.2)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from processes.engine.runtime import USER_TASK_JOB_TYPE
from processes.models import Job, UserTask
from tests.processes.engine.conftest import requires_feel

pytestmark = pytest.mark.django_db


@requires_feel
def test_user_task_without_zeebe_user_task_is_a_job(process):
    """§8.5: no `zeebe:userTask` → a job of type io.camunda.zeebe:userTask, no user task row."""
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


@requires_feel
def test_job_based_user_task_is_cancelled_with_the_instance(process):
    """§2.9: terminating the element cancels its job."""
    process.deploy("gap-job-user-task.bpmn")
    instance = process.start("gap-job-user-task", {"reviewer": "anna"})

    process.cancel(instance)

    instance.is_terminated()
    [job] = instance.jobs(USER_TASK_JOB_TYPE)
    assert job.state == Job.CANCELED
