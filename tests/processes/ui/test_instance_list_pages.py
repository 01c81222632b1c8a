"""Operate-style instance lists: filters by state, waiting step, incident and start date, with
counts; heat-map counts on the diagram open the filtered list."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from processes.engine import service
from processes.models import UserTask
from tests.factories import signed_in_demo as signed_in

BPMN = Path(__file__).parent / "review.bpmn"
pytestmark = pytest.mark.django_db


@pytest.fixture
def instances(demo_data):
    service.deploy_file(str(BPMN))
    waiting = [
        service.create_instance(process_id="ui-review", business_key=f"REQ-{i}") for i in range(3)
    ]
    failed = service.create_instance(process_id="ui-review", business_key="REQ-FAIL")
    task = UserTask.objects.get(process_instance_key=failed.key)
    service.assign_user_task(task.key, "sam")
    service.complete_user_task(task.key, {})
    job = service.activate_jobs("ui-book", worker="t")[0].job
    service.fail_job(job.key, retries=0, error_message="booking system down")
    return waiting, failed


def listing(client, definition_key, query=""):
    url = reverse("processes:instances", args=[definition_key]) + query
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_filters_and_counts(instances):
    waiting, _failed = instances
    client = signed_in("maya")
    key = waiting[0].definition_id
    html = listing(client, key)
    assert "REQ-0" in html and "REQ-FAIL" in html
    assert "running" in html
    at_review = listing(client, key, "?waiting_at=Review")
    assert "REQ-0" in at_review and "REQ-FAIL" not in at_review
    assert "3 instances waiting at “" in at_review
    stuck = listing(client, key, "?has_incident=1")
    assert "REQ-FAIL" in stuck and "REQ-0" not in stuck
    assert "1 instance waiting at “" in listing(client, key, "?waiting_at=Book")
    assert "4 running" in html and "0 finished" in html
    assert "No instances match." in listing(client, key, "?state=COMPLETED")
    assert "No instances match." in listing(client, key, "?from=2999-01-01")


def test_heat_map_counts_link_to_the_filtered_list(instances):
    waiting, _failed = instances
    key = waiting[0].definition_id
    html = signed_in("maya").get(reverse("processes:detail", args=[key])).content.decode()
    target = reverse("processes:instances", args=[key]) + "?waiting_at=Review"
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert f'href="{target}"' in svg  # the shape with the count opens the list
    stuck = reverse("processes:instances", args=[key]) + "?waiting_at=Book&amp;has_incident=1"
    assert f'href="{stuck}"' in svg


def test_only_managers_see_instance_lists(instances):
    waiting, _ = instances
    url = reverse("processes:instances", args=[waiting[0].definition_id])
    assert signed_in("sam").get(url).status_code == 403
