"""Back-office details in the browser: the four-eyes rule shown before submitting, retrying all
incidents of a kind (preview, then confirm), and zooming and panning a process diagram."""

from __future__ import annotations

from pathlib import Path

import pytest

from processes.engine import service
from processes.models import Incident, UserTask
from returns import services
from returns.models import ReturnRequest

from .conftest import sign_in
from .test_returns import PASSWORD, flagged_return, open_task, run_jobs  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REVIEW_BPMN = Path(__file__).parents[1] / "processes" / "ui" / "review.bpmn"
FOUR_EYES = (
    "You recorded the fraud review of this return, so another manager must approve the refund."
)


def view_box(page) -> list[float]:
    return [float(n) for n in page.locator("svg.bpmn").get_attribute("viewBox").split()]


def test_manager_who_reviewed_sees_the_four_eyes_rule_before_submitting(
    browser_page,
    flagged_return,  # noqa: F811 (the fixture of test_returns, imported above)
    screenshot,
):
    page = browser_page
    ret = flagged_return
    # the manager records the fraud review (managers see every task)
    sign_in(page, "mona", PASSWORD)
    page.goto(page.base_url + f"/tasks/{open_task(ret, 'UserTask_review').key}/")
    page.get_by_label("Approve the return", exact=True).check()
    page.get_by_role("button", name="Complete task").click()
    page.wait_for_load_state("networkidle")
    run_jobs()
    ret.refresh_from_db()
    assert ret.reviewed_by.username == "mona"
    services.return_item_receive(return_request=ret, actor="carrier:dhl")
    run_jobs()

    approval = open_task(ret, "UserTask_refund_approval")
    page.goto(page.base_url + f"/tasks/{approval.key}/")
    notice = page.get_by_text(FOUR_EYES)
    assert notice.is_visible()
    submit = page.get_by_role("button", name="Complete task")
    assert submit.is_disabled()
    # the notice comes before the form and describes the disabled button
    assert notice.bounding_box()["y"] < page.get_by_label("Approve the refund").bounding_box()["y"]
    assert submit.get_attribute("aria-describedby") == "completion-refused"
    screenshot(page, "four-eyes-notice")
    approval.refresh_from_db()
    assert approval.state == UserTask.CREATED
    assert ret.status != ReturnRequest.S.COMPLETED


@pytest.fixture
def three_incidents(demo_data):
    service.deploy_file(str(REVIEW_BPMN))
    incidents = []
    for n in (1, 2, 3):
        root = service.create_instance(process_id="ui-review", business_key=f"REQ-{n}")
        task = UserTask.objects.get(process_instance_key=root.key)
        service.assign_user_task(task.key, "sam")
        service.complete_user_task(task.key, {})
        job = service.activate_jobs("ui-book", worker="t")[0].job
        service.fail_job(job.key, retries=0, error_message="booking system down")
        incidents.append(Incident.objects.get(process_instance_key=root.key))
    return incidents


def test_retry_all_incidents_of_a_kind_previews_then_confirms(
    browser_page, three_incidents, screenshot
):
    page = browser_page
    sign_in(page, "sam", "demo-support-pass")
    page.goto(page.base_url + "/incidents/")
    page.get_by_role("link", name="Retry all 3").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="These 3 incidents will be retried").is_visible()
    for n in (1, 2, 3):
        assert page.get_by_role("cell", name=f"REQ-{n}", exact=True).is_visible()
    assert page.get_by_role("cell", name="Book it").first.is_visible()
    screenshot(page, "incidents-retry-preview")
    # nothing is touched by the preview
    assert Incident.objects.filter(state=Incident.ACTIVE).count() == 3
    page.get_by_role("button", name="Retry these 3").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Retried 3 incidents; the steps run again.").is_visible()
    assert Incident.objects.filter(state=Incident.ACTIVE).count() == 0
    screenshot(page, "incidents-retried")


def test_diagram_zoom_buttons_change_the_view_and_links_still_work(
    browser_page, demo_data, screenshot
):
    service.deploy_file(str(REVIEW_BPMN))
    root = service.create_instance(process_id="ui-review", business_key="REQ-5")
    page = browser_page
    sign_in(page, "maya", "demo-manager-pass")
    page.goto(page.base_url + f"/processes/{root.definition_id}/")
    home = view_box(page)

    page.get_by_role("button", name="Zoom in").click()
    zoomed = view_box(page)
    assert zoomed[2] < home[2] and zoomed[3] < home[3]
    # the zoom keeps the centre of the view
    assert abs((zoomed[0] + zoomed[2] / 2) - (home[0] + home[2] / 2)) < 1

    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    assert view_box(page)[2] > home[2]

    page.get_by_role("button", name="Reset zoom").click()
    assert view_box(page) == home

    # keyboard: the buttons take focus and Enter / Space press them
    page.get_by_role("button", name="Zoom in").focus()
    page.keyboard.press("Enter")
    page.keyboard.press(" ")
    assert view_box(page)[2] < zoomed[2]

    # drag to pan: the view moves with the pointer
    before = view_box(page)
    box = page.locator("svg.bpmn").bounding_box()
    x, y = box["x"] + 20, box["y"] + 20
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 30, steps=5)
    page.mouse.up()
    after = view_box(page)
    assert after[0] < before[0] and after[1] < before[1] and after[2] == before[2]
    screenshot(page, "diagram-zoomed")

    # the heat-map link of the waiting step still opens the instances waiting there
    page.get_by_role("button", name="Reset zoom").click()
    page.locator('svg.bpmn a[data-element-id="Review"]').click()
    page.wait_for_load_state("networkidle")
    assert "waiting_at=Review" in page.url
    assert page.get_by_role("link", name="REQ-5").is_visible()


def test_instance_diagram_keeps_its_zoom_when_the_panel_refreshes(browser_page, demo_data):
    service.deploy_file(str(REVIEW_BPMN))
    root = service.create_instance(process_id="ui-review", business_key="REQ-6")
    page = browser_page
    sign_in(page, "sam", "demo-support-pass")
    page.goto(page.base_url + f"/processes/instances/{root.key}/")
    home = view_box(page)
    page.get_by_role("button", name="Zoom in").click()
    zoomed = view_box(page)
    assert zoomed[2] < home[2]
    # the running workflow's panel is swapped by htmx every 3 seconds
    page.evaluate(
        "() => new Promise(done => document.body.addEventListener("
        "'htmx:afterSettle', () => done(), {once: true}))"
    )
    assert view_box(page) == zoomed
    assert page.get_by_role("button", name="Zoom in").count() == 1
    page.get_by_role("button", name="Reset zoom").click()
    assert view_box(page) == home
