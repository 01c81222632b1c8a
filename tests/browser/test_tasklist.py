"""A support user works a task in the browser and sees the workflow move on."""

from pathlib import Path

import pytest

from processes.engine import service
from processes.models import UserTask

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REVIEW_BPMN = Path(__file__).parents[1] / "processes" / "ui" / "review.bpmn"


@pytest.fixture
def review_instance(demo_data):
    service.deploy_file(str(REVIEW_BPMN))
    return service.create_instance(process_id="ui-review", business_key="REQ-7")


def test_support_claims_and_completes_a_task(browser_page, review_instance, screenshot):
    page = browser_page
    sign_in(page, "sam", "demo-support-pass")
    page.get_by_role("link", name="Tasks").click()
    page.get_by_role("link", name="Unassigned in my groups").click()
    screenshot(page, "tasklist-unassigned")
    page.get_by_role("link", name="Review request").click()
    page.get_by_role("button", name="Claim").click()
    page.wait_for_load_state("networkidle")
    assert UserTask.objects.get(process_instance_key=review_instance.key).assignee == "sam"
    page.get_by_label("Note (optional)").fill("Checked with the customer")
    screenshot(page, "task-form")
    page.get_by_role("button", name="Complete task").click()
    page.wait_for_load_state("networkidle")
    assert UserTask.objects.get(process_instance_key=review_instance.key).state == "COMPLETED"
    # The instance page shows the token moved from the review task to the booking step.
    page.goto(page.base_url + f"/processes/instances/{review_instance.key}/")
    review = page.locator('svg.bpmn a[data-element-id="Review"]')
    book = page.locator('svg.bpmn a[data-element-id="Book"]')
    assert "completed" in review.get_attribute("class")
    assert "active" in book.get_attribute("class")
    screenshot(page, "instance-diagram")


def test_vendor_user_cannot_open_the_tasklist(browser_page, demo_data):
    page = browser_page
    sign_in(page, "acme", "demo-vendor-pass")
    response = page.goto(page.base_url + "/tasks/")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
