"""The tasklist and the order list render with a fixed number of queries, whatever the filters
and however many rows the page shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Customer, Order
from processes.engine import service
from processes.models import UserTask
from tests.factories import signed_in_demo as signed_in

pytestmark = pytest.mark.django_db
BPMN = Path(__file__).parent / "review.bpmn"


def queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def add_tasks(count: int) -> None:
    """Per round: an unassigned task, one assigned to sam and one sam completed."""
    for _ in range(count):
        open_task = UserTask.objects.get(
            process_instance_key=service.create_instance(process_id="ui-review").key
        )
        assert open_task.assignee == ""
        mine = UserTask.objects.get(
            process_instance_key=service.create_instance(process_id="ui-review").key
        )
        service.assign_user_task(mine.key, "sam")
        done = UserTask.objects.get(
            process_instance_key=service.create_instance(process_id="ui-review").key
        )
        service.assign_user_task(done.key, "sam")
        service.complete_user_task(done.key, {"note": "ok"})


TASK_VIEWS = [
    ("sam", "?queue=mine"),
    ("sam", "?queue=unassigned"),
    ("sam", "?queue=completed"),
    ("sam", "?queue=unassigned&process=ui-review&name=review&min_priority=0&sort=priority"),
    ("sam", "?queue=mine&sort=due"),
    ("maya", "?queue=all"),
    ("maya", "?queue=all&process=ui-review&sort=created&page=1"),
    ("wes", "?queue=unassigned"),
]


@pytest.mark.parametrize(("username", "query"), TASK_VIEWS)
def test_tasklist_queries_are_fixed_for_every_queue_and_filter(demo_data, username, query):
    service.deploy_file(str(BPMN))
    client = signed_in(username)
    url = reverse("tasks:list") + query
    add_tasks(1)
    few, _ = queries(client, url)
    add_tasks(8)
    many, body = queries(client, url)
    assert many == few
    if username != "wes":
        assert "Review request" in body


def make_order(number: str, *, failed: bool) -> Order:
    """An order whose workflow waits at the review, or at a failed booking (an incident)."""
    root = service.create_instance(process_id="ui-review", business_key=number)
    if failed:
        task = UserTask.objects.get(process_instance_key=root.key)
        service.assign_user_task(task.key, "sam")
        service.complete_user_task(task.key, {})
        job = service.activate_jobs("ui-book", worker="t")[0].job
        service.fail_job(job.key, retries=0, error_message="booking system down")
    return Order.objects.create(
        number=number,
        customer=Customer.objects.get(email="lena@example.com"),
        currency="EUR",
        subtotal_minor=12_900,
        total_minor=12_900,
        payment_method="tok_visa",
        process_instance_key=root.key,
    )


def add_orders(start: int, count: int) -> None:
    for i in range(start, start + count):
        make_order(f"ORD-20261125-{i:04d}", failed=i % 2 == 1)


ORDER_FILTERS = [
    ("", True),
    ("?status=received", True),
    ("?waiting_at=Review", True),
    ("?waiting_at=Book", True),
    ("?has_incident=1", True),
    ("?q=ORD-20261125", True),
    ("?q=lena", True),
    ("?from=2000-01-01&to=2099-12-31&sort=oldest", True),
    ("?sort=total", True),
    ("?sort=number&page=1", True),
    ("?vendor=acme-audio", False),
    ("?status=completed&has_incident=1", False),
]


@pytest.mark.parametrize(("query", "matches"), ORDER_FILTERS)
def test_order_list_queries_are_fixed_for_every_filter(demo_data, query, matches):
    service.deploy_file(str(BPMN))
    client = signed_in("sam")
    url = reverse("orders:list") + query
    add_orders(0, 2)
    few, _ = queries(client, url)
    add_orders(2, 14)
    many, body = queries(client, url)
    assert many == few
    assert ("ORD-20261125-" in body) is matches
