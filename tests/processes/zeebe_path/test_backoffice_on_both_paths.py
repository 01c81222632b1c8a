"""The back-office's process pages (tasklist, incidents, instance view) on both engine paths.

On the Zeebe path the pages read and act only through the port's Zeebe adapter, that is
Camunda's REST v2 API (here served by a live server) and the gateway: the same pages, the same
clicks, the same results as on the embedded engine.
"""

from __future__ import annotations

import pytest
import requests
from django.test import Client

from config.roles import MANAGERS
from processes import port
from tests.factories import make_user
from tests.processes.api.conftest import service_process, user_task_process
from tests.processes.workers.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]


def _fail_to_zero_retries(rest: str, auth: tuple[str, str], job_type: str) -> int:
    """A worker of our own (no handler here) fails the job at its last retry: an incident."""
    for _ in range(100):
        answer = requests.post(
            f"{rest}/jobs/activation",
            json={"type": job_type, "timeout": 30_000, "maxJobsToActivate": 1, "worker": "ops"},
            auth=auth,
            timeout=10,
        )
        answer.raise_for_status()
        if answer.json()["jobs"]:
            job_key = answer.json()["jobs"][0]["jobKey"]
            break
    else:
        pytest.fail("the job was never activatable")
    failed = requests.post(
        f"{rest}/jobs/{job_key}/failure",
        json={"retries": 0, "errorMessage": "carrier address book unreachable"},
        auth=auth,
        timeout=10,
    )
    assert failed.status_code == 204, failed.text
    return int(job_key)


def test_tasklist_incidents_and_instance_pages(engine_path, live_server, django_user_model):
    django_user_model.objects.create_superuser("ops-rest", password="ops-rest-secret")
    rest, auth = f"{live_server.url}/v2", ("ops-rest", "ops-rest-secret")
    port.deploy(user_task_process("ops-approval"), "ops-approval.bpmn")
    port.deploy(service_process("ops-work", job_type="ops-unhandled", retries=1), "ops-work.bpmn")
    approval = port.start("ops-approval")
    work = port.start("ops-work")
    manager = Client()
    manager.force_login(make_user("mia", role=MANAGERS))

    # tasklist: the task is listed, opened, and completed from its page
    wait_until(lambda: bool(port.instance_user_tasks(approval)), timeout=60, what="the task")
    [task] = port.instance_user_tasks(approval)
    listing = manager.get("/tasks/?queue=unassigned")
    assert listing.status_code == 200 and f"/tasks/{task.key}/" in listing.content.decode()
    assert manager.get(f"/tasks/{task.key}/").status_code == 200
    done = manager.post(f"/tasks/{task.key}/complete/", {"approved": "on"})
    assert done.status_code == 302, done.content.decode()[:2000]
    wait_until(
        lambda: port.instance(approval).state == "COMPLETED",
        timeout=60,
        what="the approval instance to complete",
    )
    assert port.user_task(task.key).assignee == "mia"  # claimed first, then completed

    # incidents: listed with the plain explanation, opened, resolved with new retries
    job_key = _fail_to_zero_retries(rest, auth, "ops-unhandled")
    wait_until(lambda: bool(port.instance_incidents(work)), timeout=60, what="the incident")
    [incident] = port.instance_incidents(work)
    assert incident.job_key == job_key
    incidents_page = manager.get("/incidents/").content.decode()
    assert f"/incidents/{incident.key}/" in incidents_page
    assert "a step failed and has no retries left" in incidents_page  # not the error code
    detail = manager.get(f"/incidents/{incident.key}/")
    assert (
        detail.status_code == 200 and "carrier address book unreachable" in detail.content.decode()
    )
    resolved = manager.post(f"/incidents/{incident.key}/resolve/", {"retries": "1"})
    assert resolved.status_code == 302, resolved.content.decode()[:2000]
    wait_until(
        lambda: [i.state for i in port.instance_incidents(work)] == ["RESOLVED"],
        timeout=60,
        what="the resolution",
    )
    if engine_path == "embedded":  # Camunda's incident search does not say who resolved it
        assert port.instance_incidents(work)[0].resolved_by == "mia"

    # the instance view shows where the instance waits, in the model's words
    page = manager.get(f"/processes/instances/{work}/")
    assert page.status_code == 200 and "Do work" in page.content.decode()
