"""Back-office pages of the process layer: permissions, content, actions, query counts."""

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from processes.engine import service
from processes.models import Incident, Job, UserTask
from tests.factories import signed_in_demo as signed_in

pytestmark = pytest.mark.django_db
BPMN = Path(__file__).parent / "review.bpmn"


@pytest.fixture
def review(demo_data):
    service.deploy_file(str(BPMN))
    root = service.create_instance(process_id="ui-review", business_key="REQ-1", variables={"n": 1})
    task = UserTask.objects.get(process_instance_key=root.key)
    return root, task


@pytest.mark.parametrize("url_name", ["tasks:list", "incidents:list", "processes:list"])
def test_vendor_users_are_refused(demo_data, url_name):
    assert signed_in("acme").get(reverse(url_name)).status_code == 403


def test_anonymous_goes_to_sign_in(client):
    response = client.get(reverse("tasks:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_support_sees_the_task_in_its_group_queue(review):
    _root, _task = review
    client = signed_in("sam")
    body = client.get(reverse("tasks:list") + "?queue=unassigned").content.decode()
    assert "Review request" in body
    assert (
        "Review request" not in client.get(reverse("tasks:list") + "?queue=mine").content.decode()
    )


def test_warehouse_cannot_see_a_support_task(review):
    _root, task = review
    client = signed_in("wes")
    assert (
        "Review request"
        not in client.get(reverse("tasks:list") + "?queue=unassigned").content.decode()
    )
    assert client.get(reverse("tasks:detail", args=[task.key])).status_code == 404
    assert client.post(reverse("tasks:complete", args=[task.key])).status_code == 404


def test_claim_then_complete_moves_the_process_on(review):
    root, task = review
    client = signed_in("sam")
    client.post(reverse("tasks:claim", args=[task.key]))
    task.refresh_from_db()
    assert task.assignee == "sam"
    assert "Review request" in client.get(reverse("tasks:list") + "?queue=mine").content.decode()
    response = client.post(reverse("tasks:complete", args=[task.key]), {"note": "looks fine"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == UserTask.COMPLETED and task.completed_by == "sam"
    assert Job.objects.filter(process_instance_key=root.key, type="ui-book").exists()


def test_someone_else_cannot_complete_a_claimed_task(review):
    _root, task = review
    signed_in("sam").post(reverse("tasks:claim", args=[task.key]))
    response = signed_in("sol").post(reverse("tasks:complete", args=[task.key]), {})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.state == UserTask.CREATED


def test_only_managers_assign(review):
    _root, task = review
    assert (
        signed_in("sam")
        .post(reverse("tasks:assign", args=[task.key]), {"assignee": "sol"})
        .status_code
        == 403
    )
    signed_in("maya").post(reverse("tasks:assign", args=[task.key]), {"assignee": "sol"})
    task.refresh_from_db()
    assert task.assignee == "sol"


def test_managers_see_all_open_tasks(review):
    body = signed_in("maya").get(reverse("tasks:list") + "?queue=all").content.decode()
    assert "Review request" in body


def failed_instance(review):
    root, task = review
    service.assign_user_task(task.key, "sam")
    service.complete_user_task(task.key, {})
    job = service.activate_jobs("ui-book", worker="t")[0].job
    service.fail_job(job.key, retries=0, error_message="booking system down")
    return root, Incident.objects.get(process_instance_key=root.key)


def test_incident_list_detail_and_resolve(review):
    root, incident = failed_instance(review)
    client = signed_in("sam")
    assert "booking system down" in client.get(reverse("incidents:list")).content.decode()
    assert (
        "booking system down"
        in client.get(reverse("incidents:detail", args=[incident.key])).content.decode()
    )
    response = client.post(
        reverse("incidents:resolve", args=[incident.key]), {"retries": "2", "variables": '{"n": 5}'}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == Incident.RESOLVED
    job = Job.objects.get(key=incident.job_key)
    assert job.retries == 2 and job.state == Job.ACTIVATABLE
    from processes.models import Variable

    assert Variable.objects.get(process_instance_key=root.key, name="n").value == 5


def test_bad_variables_json_is_refused_with_a_message(review):
    _root, incident = failed_instance(review)
    client = signed_in("sam")
    response = client.post(
        reverse("incidents:resolve", args=[incident.key]), {"variables": "{oops"}, follow=True
    )
    assert "must be a JSON object" in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == Incident.ACTIVE


def test_warehouse_cannot_resolve_incidents(review):
    _root, incident = failed_instance(review)
    assert (
        signed_in("wes").post(reverse("incidents:resolve", args=[incident.key])).status_code == 403
    )


def test_process_pages_show_versions_counts_and_heat_map(review):
    root, _task = review
    client = signed_in("maya")
    body = client.get(reverse("processes:list")).content.decode()
    assert "UI review" in body and "version 1" in body  # names, not process ids
    definition_key = root.definition_id
    body = client.get(reverse("processes:detail", args=[definition_key])).content.decode()
    assert 'data-element-id="Review"' in body and 'class="heat"' in body
    assert signed_in("sam").get(reverse("processes:list")).status_code == 403


def test_instance_page_diagram_and_htmx_partial(review):
    root, _task = review
    client = signed_in("sam")
    body = client.get(reverse("processes:instance", args=[root.key])).content.decode()
    assert "<svg" in body and "task: Review request" in body
    assert 'hx-trigger="every 3s"' in body
    partial = client.get(
        reverse("processes:instance", args=[root.key]), headers={"HX-Request": "true"}
    ).content.decode()
    assert partial.lstrip().startswith('<div id="workflow"') and "<html" not in partial


def test_stopping_a_workflow_needs_an_administrator(review):
    root, _task = review
    url = reverse("processes:cancel", args=[root.key])
    assert signed_in("sam").post(url, {"reason": "x"}).status_code == 403
    assert signed_in("maya").post(url, {"reason": "x"}).status_code == 403
    signed_in("admin").post(url, {"reason": "test run"})
    root.refresh_from_db()
    assert root.state == "TERMINATED"


def test_task_list_queries_do_not_grow_with_rows(demo_data):
    service.deploy_file(str(BPMN))
    client = signed_in("maya")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("tasks:list") + "?queue=all").status_code == 200
        return len(ctx.captured_queries)

    service.create_instance(process_id="ui-review")
    few = count()
    for _ in range(10):
        service.create_instance(process_id="ui-review")
    assert count() == few
