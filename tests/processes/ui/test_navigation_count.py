"""The navigation shows "Tasks (n)": the user's open tasks and its groups' unassigned ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.navigation import open_task_count
from config.roles import user_roles
from processes import selectors
from processes.engine import service
from processes.models import UserTask
from tests.factories import signed_in_demo as signed_in

pytestmark = pytest.mark.django_db
BPMN = Path(__file__).parent / "review.bpmn"
TASKS_LINK = re.compile(r'<a href="/tasks/"[^>]*>(.*?)</a>', re.S)


def tasks_link_text(username: str) -> str:
    body = signed_in(username).get(reverse("home")).content.decode()
    nav = body.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    match = TASKS_LINK.search(nav)
    assert match, nav
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def user(username: str):
    return get_user_model().objects.get(username=username)


def new_task() -> UserTask:
    root = service.create_instance(process_id="ui-review")
    return UserTask.objects.get(process_instance_key=root.key)


@pytest.fixture
def tasks(demo_data) -> list[UserTask]:
    service.deploy_file(str(BPMN))
    return [new_task() for _ in range(3)]


def test_support_sees_the_unassigned_tasks_of_its_group(tasks):
    assert tasks_link_text("sam") == "Tasks (3)"


def test_a_claimed_task_counts_only_for_its_assignee(tasks):
    service.assign_user_task(tasks[0].key, "sam")
    assert tasks_link_text("sam") == "Tasks (3)"
    assert tasks_link_text("sol") == "Tasks (2)"


def test_completed_tasks_no_longer_count(tasks):
    service.assign_user_task(tasks[0].key, "sam")
    service.complete_user_task(tasks[0].key, {})
    assert tasks_link_text("sam") == "Tasks (2)"


def test_no_count_without_tasks_for_the_user(tasks):
    assert tasks_link_text("wes") == "Tasks"
    assert tasks_link_text("maya") == "Tasks"  # managers see all, but none is theirs
    service.assign_user_task(tasks[0].key, "maya")
    assert tasks_link_text("maya") == "Tasks (1)"


def test_vendor_users_have_no_tasks_link(tasks):
    body = signed_in("acme").get(reverse("vendor_portal:home")).content.decode()
    assert 'href="/tasks/"' not in body


@pytest.mark.parametrize("username", ["sam", "sol", "wes", "maya"])
def test_count_matches_the_tasklist_queues(tasks, username):
    service.assign_user_task(tasks[0].key, "sam")
    service.assign_user_task(tasks[1].key, "maya")
    someone = user(username)
    counts = selectors.queue_counts(user=someone)
    assert open_task_count(someone) == counts["mine"] + counts["unassigned"]


def test_count_is_one_query(tasks):
    sam = user("sam")
    user_roles(sam)  # the navigation reads the roles once per request anyway
    with CaptureQueriesContext(connection) as ctx:
        assert open_task_count(sam) == 3
    assert len(ctx.captured_queries) == 1
