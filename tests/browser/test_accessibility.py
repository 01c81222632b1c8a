"""Accessibility basics of the main pages in Chromium: labelled controls, one h1, keyboard use,
empty states, and no horizontal scrolling at tablet width."""

from __future__ import annotations

import pytest

from processes.engine import service
from processes.models import Incident, ProcessDefinition, UserTask

from .conftest import sign_in
from .test_orders_ui import REVIEW_BPMN, late_order, open_incident  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TABLET = {"width": 768, "height": 1024}

UNLABELLED_CONTROLS = """
() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => el.type !== "hidden")
  .filter((el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return false;
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (ids.some((id) => (document.getElementById(id)?.textContent || "").trim())) return false;
    if (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) return false;
    return true;
  })
  .map((el) => `${el.tagName.toLowerCase()}[name=${el.getAttribute("name")}]`)
"""

OVERFLOW = """
() => {
  const width = document.scrollingElement.scrollWidth;
  if (width <= window.innerWidth + 1) return null;
  const wide = Array.from(document.querySelectorAll("main *"))
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 3)
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  return `${width}px > ${window.innerWidth}px (${wide.join(", ")})`;
}
"""


@pytest.fixture
def tablet_page(chromium, live_server):
    context = chromium.new_context(viewport=TABLET, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base_url = live_server.url
    yield page
    context.close()


def page_problems(page, path: str) -> list[str]:
    response = page.goto(page.base_url + path)
    page.wait_for_load_state("networkidle")
    problems = []
    if response.status != 200:
        problems.append(f"{path}: status {response.status}")
    unlabelled = page.evaluate(UNLABELLED_CONTROLS)
    if unlabelled:
        problems.append(f"{path}: controls without a label: {', '.join(unlabelled)}")
    headings = page.locator("h1").count()
    if headings != 1:
        problems.append(f"{path}: {headings} h1 elements")
    overflow = page.evaluate(OVERFLOW)
    if overflow:
        problems.append(f"{path}: scrolls sideways at {TABLET['width']} px: {overflow}")
    return problems


def test_staff_pages_are_labelled_have_one_h1_and_fit_a_tablet(tablet_page, late_order):  # noqa: F811
    open_incident()
    incident = Incident.objects.get(state=Incident.ACTIVE)
    marketplace = ProcessDefinition.objects.get(bpmn_process_id="marketplace-order")
    page = tablet_page
    problems = page_problems(page, "/accounts/login/")
    sign_in(page, "maya", "demo-manager-pass")
    for path in [
        "/",
        "/orders/",
        "/orders/?waiting_at=UserTask_chase_vendor&has_incident=1",
        f"/orders/{late_order.order.number}/",
        "/tasks/?queue=all",
        f"/tasks/{late_order.task.key}/",
        "/incidents/",
        f"/incidents/{incident.key}/",
        "/processes/",
        f"/processes/{marketplace.key}/",
        f"/processes/instances/{late_order.order.process_instance_key}/",
        f"/processes/{marketplace.key}/instances/?waiting_at=UserTask_chase_vendor",
        "/returns/",
        "/returns/arrivals/",
        f"/returns/new/{late_order.order.number}/",
        "/catalog/",
    ]:
        problems += page_problems(page, path)
    assert problems == []


def test_vendor_portal_pages_are_labelled_have_one_h1_and_fit_a_tablet(tablet_page, late_order):  # noqa: F811
    page = tablet_page
    sign_in(page, "cedar", "demo-vendor-pass")
    problems = []
    for path in [
        "/vendor/",
        "/vendor/sub-orders/",
        f"/vendor/sub-orders/{late_order.cedar_sub_order.number}/",
        "/vendor/payouts/",
    ]:
        problems += page_problems(page, path)
    assert problems == []


def test_a_task_is_claimed_with_the_keyboard(browser_page, demo_data):
    service.deploy_file(str(REVIEW_BPMN))
    root = service.create_instance(process_id="ui-review", business_key="REQ-8")
    task = UserTask.objects.get(process_instance_key=root.key)
    page = browser_page
    sign_in(page, "sam", "demo-support-pass")
    page.goto(page.base_url + f"/tasks/{task.key}/")
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        if focused == "Claim":
            break
    else:
        pytest.fail("the Claim button cannot be reached with Tab")
    page.keyboard.press("Enter")
    # The page after the claim (waiting for it: "networkidle" can come before the form posts).
    page.get_by_role("button", name="Unclaim").wait_for()
    task.refresh_from_db()
    assert task.assignee == "sam"


def test_skip_link_is_the_first_stop_and_leads_to_the_content(browser_page, demo_data):
    page = browser_page
    sign_in(page, "sam", "demo-support-pass")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    # Following an in-page link is asynchronous in the browser: wait for the fragment (it fails
    # after the default timeout if the link never leads there).
    page.wait_for_function("location.hash === '#main'")
    assert page.url.endswith("#main")


def test_empty_states_say_so(browser_page, demo_data):
    page = browser_page
    sign_in(page, "sam", "demo-support-pass")
    page.goto(page.base_url + "/tasks/")
    assert page.get_by_text("Nothing assigned to you.").is_visible()
    page.get_by_role("link", name="Unassigned in my groups").click()
    assert page.get_by_text("No unassigned tasks for your groups.").is_visible()
    page.goto(page.base_url + "/orders/")
    assert page.get_by_text("No orders match these filters.").is_visible()
    page.goto(page.base_url + "/incidents/")
    assert page.get_by_text("No open incidents.").is_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "dune", "demo-vendor-pass")
    assert page.get_by_text("Nothing is waiting for you.").is_visible()
    page.goto(page.base_url + "/vendor/sub-orders/")
    assert page.get_by_text("No sub-orders.").is_visible()
