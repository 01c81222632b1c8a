"""Every back-office page and action for every role: the status code, and what a page shows.

Rows are (page, expected per role); "login" is the sign-in redirect, "done" a redirect after an
action that was carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from orders.demo import DEMO_USERS
from orders.models import Customer, Order
from processes.engine import service
from processes.models import ElementInstance, Incident, UserTask

pytestmark = pytest.mark.django_db
BPMN = Path(__file__).parent / "review.bpmn"
ROLES = {
    "support": "sam",
    "warehouse": "wes",
    "managers": "maya",
    "vendor": "acme",
    "anonymous": "",
}


@dataclass
class World:
    task: UserTask
    claimed: UserTask
    incident: Incident
    root_key: int
    definition_key: int
    order: Order


@pytest.fixture
def world(demo_data) -> World:
    service.deploy_file(str(BPMN))
    open_root = service.create_instance(process_id="ui-review", business_key="ORD-20261125-0001")
    task = UserTask.objects.get(process_instance_key=open_root.key)
    claimed_root = service.create_instance(process_id="ui-review", business_key="REQ-2")
    claimed = UserTask.objects.get(process_instance_key=claimed_root.key)
    service.assign_user_task(claimed.key, "sam")
    failed_root = service.create_instance(process_id="ui-review", business_key="REQ-3")
    failed_task = UserTask.objects.get(process_instance_key=failed_root.key)
    service.assign_user_task(failed_task.key, "sam")
    service.complete_user_task(failed_task.key, {})
    job = service.activate_jobs("ui-book", worker="t")[0].job
    service.fail_job(job.key, retries=0, error_message="booking system down")
    order = Order.objects.create(
        number="ORD-20261125-0001",
        customer=Customer.objects.get(email="lena@example.com"),
        currency="EUR",
        subtotal_minor=12_900,
        total_minor=12_900,
        payment_method="tok_visa",
        process_instance_key=open_root.key,
    )
    return World(
        task=task,
        claimed=claimed,
        incident=Incident.objects.get(process_instance_key=failed_root.key),
        root_key=open_root.key,
        definition_key=open_root.definition_id,
        order=order,
    )


def client_for(role: str) -> Client:
    client = Client()
    if ROLES[role]:
        demo = next(d for d in DEMO_USERS if d.username == ROLES[role])
        assert client.login(username=demo.username, password=demo.password)
    return client


def expected(support, warehouse, managers, vendor="403", anonymous="login"):
    return {
        "support": support,
        "warehouse": warehouse,
        "managers": managers,
        "vendor": vendor,
        "anonymous": anonymous,
    }


# name: (method, url name, argument of the world, POST data, expected per role, text on 200)
PAGES = {
    "task list": ("get", "tasks:list", None, {}, expected("200", "200", "200"), "Tasks"),
    "task detail": (
        "get",
        "tasks:detail",
        "task",
        {},
        expected("200", "404", "200"),
        "Review request",
    ),
    "task claim": ("post", "tasks:claim", "task", {}, expected("done", "404", "done"), None),
    "task unclaim": ("post", "tasks:unclaim", "claimed", {}, expected("done", "404", "done"), None),
    "task assign": (
        "post",
        "tasks:assign",
        "task",
        {"assignee": "sol"},
        expected("403", "403", "done"),
        None,
    ),
    "task complete": (
        "post",
        "tasks:complete",
        "task",
        {"note": "fine"},
        expected("done", "404", "done"),
        None,
    ),
    "incident list": (
        "get",
        "incidents:list",
        None,
        {},
        expected("200", "403", "200"),
        "booking system down",
    ),
    "incident detail": (
        "get",
        "incidents:detail",
        "incident",
        {},
        expected("200", "403", "200"),
        "booking system down",
    ),
    "incident resolve": (
        "post",
        "incidents:resolve",
        "incident",
        {"retries": "1"},
        expected("done", "403", "done"),
        None,
    ),
    "incident retry preview": (
        "get",
        "incidents:retry_preview",
        None,
        {"process": "ui-review", "error_type": "JOB_NO_RETRIES"},
        expected("200", "403", "200"),
        "booking system down",
    ),
    "incident retry batch": (
        "post",
        "incidents:retry_batch",
        None,
        {"process": "ui-review", "error_type": "JOB_NO_RETRIES"},
        expected("done", "403", "done"),
        None,
    ),
    "process list": (
        "get",
        "processes:list",
        None,
        {},
        expected("403", "403", "200"),
        "UI review",  # the process's name, not its id
    ),
    "process detail": (
        "get",
        "processes:detail",
        "definition",
        {},
        expected("403", "403", "200"),
        'class="heat"',
    ),
    "instance detail": (
        "get",
        "processes:instance",
        "root",
        {},
        expected("200", "200", "200"),
        "task: Review request",
    ),
    "instance cancel": (
        "post",
        "processes:cancel",
        "root",
        {"reason": "stuck"},
        # Stopping a workflow without compensation is for administrators only.
        expected("403", "403", "403"),
        None,
    ),
    "order list": (
        "get",
        "orders:list",
        None,
        {},
        expected("200", "403", "200"),
        "ORD-20261125-0001",
    ),
    "order detail": (
        "get",
        "orders:detail",
        "order",
        {},
        expected("200", "403", "200"),
        "Lena Fischer",
    ),
    "order cancel": (
        "post",
        "orders:cancel",
        "order",
        {"reason": "customer asked"},
        expected("done", "403", "done"),
        None,
    ),
}


def url_of(world: World, url_name: str, argument: str | None) -> str:
    args = {
        None: [],
        "task": [world.task.key],
        "claimed": [world.claimed.key],
        "incident": [world.incident.key],
        "definition": [world.definition_key],
        "root": [world.root_key],
        "order": [world.order.number],
    }[argument]
    return reverse(url_name, args=args)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_page_answers_each_role(world, page, role):
    method, url_name, argument, data, outcomes, text = PAGES[page]
    url = url_of(world, url_name, argument)
    response = getattr(client_for(role), method)(url, data)
    outcome = outcomes[role]
    if outcome == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif outcome == "done":
        assert response.status_code == 302
        assert not response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == int(outcome)
    if outcome == "200" and text:
        assert text in response.content.decode()


@pytest.mark.parametrize("role", ["support", "warehouse", "managers", "vendor"])
def test_only_managers_change_the_assignee(world, role):
    client_for(role).post(reverse("tasks:assign", args=[world.task.key]), {"assignee": "sol"})
    world.task.refresh_from_db()
    assert world.task.state == UserTask.CREATED
    assert world.task.assignee == ("sol" if role == "managers" else "")


def test_claim_as_support_takes_the_task(world):
    client_for("support").post(reverse("tasks:claim", args=[world.task.key]))
    world.task.refresh_from_db()
    assert world.task.assignee == "sam"


def test_unclaim_gives_the_task_back(world):
    client_for("support").post(reverse("tasks:unclaim", args=[world.claimed.key]))
    world.claimed.refresh_from_db()
    assert world.claimed.assignee == ""


def test_someone_else_cannot_unclaim(world):
    sol = Client()
    assert sol.login(username="sol", password="demo-support-pass")
    response = sol.post(reverse("tasks:unclaim", args=[world.claimed.key]))
    assert response.status_code == 403
    world.claimed.refresh_from_db()
    assert world.claimed.assignee == "sam"


def test_claiming_a_claimed_task_says_who_has_it(world):
    sol = Client()
    assert sol.login(username="sol", password="demo-support-pass")
    response = sol.post(reverse("tasks:claim", args=[world.claimed.key]), follow=True)
    world.claimed.refresh_from_db()
    assert world.claimed.assignee == "sam"
    assert response.status_code == 200
    assert "Assigned to sam: only they can complete it." in response.content.decode()


def test_only_an_administrator_stops_a_workflow_and_it_needs_a_reason(world):
    url = reverse("processes:cancel", args=[world.root_key])
    assert client_for("managers").post(url, {"reason": "stuck"}).status_code == 403
    admin = Client()
    assert admin.login(username="admin", password="demo-admin-pass")
    admin.post(url, {"reason": " "})
    assert ElementInstance.objects.get(key=world.root_key).state == ElementInstance.ACTIVE
    admin.post(url, {"reason": "duplicate test order"})
    root = ElementInstance.objects.get(key=world.root_key)
    assert root.state == ElementInstance.TERMINATED


def test_task_detail_shows_the_assign_control_only_to_managers(world):
    url = reverse("tasks:detail", args=[world.task.key])
    assert 'name="assignee"' in client_for("managers").get(url).content.decode()
    assert 'name="assignee"' not in client_for("support").get(url).content.decode()


def test_order_cancel_without_a_reason_is_refused(world):
    response = client_for("support").post(
        reverse("orders:cancel", args=[world.order.number]), {"reason": " "}, follow=True
    )
    assert "Say why the order is cancelled." in response.content.decode()


@pytest.mark.parametrize(
    ("url_name", "args"),
    [
        ("tasks:detail", [999]),
        ("incidents:detail", [999]),
        ("processes:detail", [999]),
        ("processes:instance", [999]),
        ("orders:detail", ["ORD-NONE"]),
    ],
)
def test_unknown_objects_are_404_for_managers(demo_data, url_name, args):
    assert client_for("managers").get(reverse(url_name, args=args)).status_code == 404
