"""Retry all incidents of one workflow and kind of problem: preview first, then a confirmed
POST that resolves each through the port as the single retry does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from processes import port
from processes.engine import service
from processes.models import Incident, Job, UserTask
from tests.factories import signed_in_demo as signed_in

pytestmark = pytest.mark.django_db
BPMN = Path(__file__).parent / "review.bpmn"
KIND = {"process": "ui-review", "error_type": "JOB_NO_RETRIES"}


def failed_booking(business_key: str) -> Incident:
    root = service.create_instance(process_id="ui-review", business_key=business_key)

    task = UserTask.objects.get(process_instance_key=root.key)
    service.assign_user_task(task.key, "sam")
    service.complete_user_task(task.key, {})
    job = service.activate_jobs("ui-book", worker="t")[0].job
    service.fail_job(job.key, retries=0, error_message=f"booking system down for {business_key}")
    return Incident.objects.get(process_instance_key=root.key)


@pytest.fixture
def three_incidents(demo_data):
    service.deploy_file(str(BPMN))
    return [failed_booking(f"REQ-{n}") for n in (1, 2, 3)]


def preview(client: Client) -> str:
    response = client.get(reverse("incidents:retry_preview"), KIND)
    assert response.status_code == 200
    return response.content.decode()


def test_incident_page_offers_retry_all_per_kind(three_incidents):
    html = signed_in("sam").get(reverse("incidents:list")).content.decode()
    assert "Retry all 3" in html
    assert (
        reverse("incidents:retry_preview") + "?process=ui-review&amp;error_type=JOB_NO_RETRIES"
        in html
    )


def test_preview_lists_what_it_touches_in_business_words_and_changes_nothing(three_incidents):
    html = preview(signed_in("sam"))
    assert "These 3 incidents will be retried" in html
    for n in (1, 2, 3):
        assert f"REQ-{n}" in html
    assert "Book it" in html  # the step's name, not its id
    assert "Retry these 3" in html
    visible = re.sub(r"<[^>]+>", " ", html.split("<main")[1])
    assert "JOB_NO_RETRIES" not in visible and "ui-review" not in visible
    assert Incident.objects.filter(state=Incident.ACTIVE).count() == 3


def test_confirmed_retry_resolves_each_and_reports_how_many(three_incidents):
    client = signed_in("sam")
    keys = [str(i.key) for i in three_incidents]
    response = client.post(
        reverse("incidents:retry_batch"), {**KIND, "incident": keys}, follow=True
    )
    html = response.content.decode()
    assert "Retried 3 incidents" in html
    assert Incident.objects.filter(state=Incident.ACTIVE).count() == 0
    for incident in three_incidents:
        job = Job.objects.get(key=incident.job_key)
        assert job.retries == 1 and job.state == Job.ACTIVATABLE
        incident.refresh_from_db()
        assert incident.resolved_by.username == "sam"


def test_retry_reports_failures_and_leaves_changed_incidents_alone(three_incidents, monkeypatch):
    first, second, third = three_incidents
    client = signed_in("sam")
    preview(client)
    # someone retries the first one between the preview and the confirmation
    port.resolve_incident(first.key, retries=1)
    real = port.resolve_incident

    def refuse_second(key, **kwargs):
        if key == second.key:
            raise port.PortError("the engine is not reachable", rejection_type="UNAVAILABLE")
        return real(key, **kwargs)

    monkeypatch.setattr(port, "resolve_incident", refuse_second)
    response = client.post(
        reverse("incidents:retry_batch"),
        {**KIND, "incident": [str(first.key), str(second.key), str(third.key)]},
        follow=True,
    )
    html = response.content.decode()
    assert "Retried 1 incident;" in html
    assert "Could not retry 1: REQ-2 (Book it): the engine is not reachable" in html
    assert "1 incident was already resolved or changed since the preview" in html
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.state == Incident.ACTIVE and third.state == Incident.RESOLVED


def test_retry_touches_only_incidents_of_the_chosen_kind(three_incidents):
    first = three_incidents[0]
    response = signed_in("sam").post(
        reverse("incidents:retry_batch"),
        {"process": "ui-review", "error_type": "IO_MAPPING_ERROR", "incident": [str(first.key)]},
        follow=True,
    )
    assert "already resolved or changed" in response.content.decode()
    first.refresh_from_db()
    assert first.state == Incident.ACTIVE


@pytest.mark.parametrize("username", ["wes", "acme"])
def test_only_support_and_managers_retry_in_batch(three_incidents, username):
    client = signed_in(username)
    assert client.get(reverse("incidents:retry_preview"), KIND).status_code == 403
    response = client.post(
        reverse("incidents:retry_batch"), {**KIND, "incident": [str(three_incidents[0].key)]}
    )
    assert response.status_code == 403
    assert Incident.objects.filter(state=Incident.ACTIVE).count() == 3


def test_preview_needs_a_kind_and_confirm_needs_incidents(three_incidents):
    client = signed_in("maya")
    response = client.get(reverse("incidents:retry_preview"), follow=True)
    assert "Choose a workflow and a kind of problem" in response.content.decode()
    response = client.post(reverse("incidents:retry_batch"), KIND, follow=True)
    assert "nothing was retried" in response.content.decode()
    assert client.get(reverse("incidents:retry_batch")).status_code == 405
