"""Orders in the browser: support works a late vendor's escalation from the order list; vendors
stay in their portal; screenshots of the main pages at desktop and tablet width."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from orders import services
from orders.models import Order
from orders.payments import sandbox
from orders.services import CustomerInput, LineInput
from processes.engine import service
from processes.models import ProcessDefinition, UserTask
from vendors import services as vendor_services
from vendors.models import Vendor, VendorSubOrder

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
MARKETPLACE_BPMN = ROOT / "processes" / "bpmn" / "marketplace-order.bpmn"
REVIEW_BPMN = ROOT / "tests" / "processes" / "ui" / "review.bpmn"
WIDTHS = {"desktop": 1280, "tablet": 768}


@dataclass
class LateOrder:
    order: Order
    task: UserTask
    cedar_sub_order: VendorSubOrder


def place_late_cedar_order(harness) -> LateOrder:
    """A demo order for Acme and Cedar; Acme delivers, Cedar lets its SLA pass."""
    harness.deploy(MARKETPLACE_BPMN)
    order = services.order_place(
        customer=CustomerInput(email="lena@example.com", name="Lena Fischer", country="DE"),
        currency="EUR",
        lines=[LineInput("acme-audio", "AA-HP-100", 1), LineInput("cedar-home", "CH-MUG-4", 2)],
        payment_method="tok_visa",
        shipping_minor=995,
    )
    harness.run_handlers()
    instance = harness.instance(order.process_instance_key)
    acme = order.sub_orders.get(vendor__handle="acme-audio")
    vendor_services.sub_order_accept(sub_order=acme, actor="vendor")
    harness.run_handlers()
    vendor_services.sub_order_ship(sub_order=acme, carrier="DHL", tracking_number="TRK-1")
    harness.run_handlers()
    vendor_services.sub_order_deliver(sub_order=acme, actor="carrier:dhl")
    harness.run_handlers()
    cedar = Vendor.objects.get(handle="cedar-home")
    harness.increase_time(dt.timedelta(hours=cedar.sla_hours + 1))
    task = harness.user_task("UserTask_chase_vendor", instance)
    return LateOrder(order=order, task=task, cedar_sub_order=order.sub_orders.get(vendor=cedar))


@pytest.fixture
def late_order(demo_data, process, settings) -> LateOrder:
    settings.PAYMENT_PROVIDER = "sandbox"
    sandbox.reset()
    yield place_late_cedar_order(process)
    sandbox.reset()


def open_incident() -> None:
    """A small process whose booking step failed with no retries left."""
    service.deploy_file(str(REVIEW_BPMN))
    root = service.create_instance(process_id="ui-review", business_key="REQ-9")
    task = UserTask.objects.get(process_instance_key=root.key)
    service.assign_user_task(task.key, "sam")
    service.complete_user_task(task.key, {})
    job = service.activate_jobs("ui-book", worker="browser-test")[0].job
    service.fail_job(job.key, retries=0, error_message="booking system down")


def element_classes(page, element_id: str) -> list[str]:
    link = page.locator(f'svg.bpmn a[data-element-id="{element_id}"]').first
    return (link.get_attribute("class") or "").split()


def test_support_extends_a_late_vendors_deadline_from_the_orders_page(
    browser_page, late_order, process, screenshot
):
    page = browser_page
    number = late_order.order.number
    sign_in(page, "sam", "demo-support-pass")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    page.get_by_label("Waiting at").select_option(label="Chase late vendor")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("networkidle")
    assert "waiting_at=UserTask_chase_vendor" in page.url
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number))
    assert "Chase late vendor" in row.get_by_role("cell").nth(3).inner_text()
    row.get_by_role("link", name=number).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", level=1).inner_text().startswith(number)
    assert "active" in element_classes(page, "UserTask_chase_vendor")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    page.get_by_role("link", name="Unassigned in my groups").click()
    page.get_by_role("link", name="Chase late vendor").click()
    page.wait_for_load_state("networkidle")
    assert "Cedar Home" in page.content()
    page.get_by_role("button", name="Claim").click()
    page.wait_for_load_state("networkidle")
    late_order.task.refresh_from_db()
    assert late_order.task.assignee == "sam"

    page.get_by_label("Extend the deadline").check()
    page.get_by_label("Extend by (hours)").fill("6")
    page.get_by_label("Note for the history").fill("Cy promised to ship tomorrow")
    page.get_by_role("button", name="Complete task").click()
    page.wait_for_load_state("networkidle")
    late_order.task.refresh_from_db()
    assert late_order.task.state == UserTask.COMPLETED
    assert late_order.task.completed_by == "sam"

    process.run_handlers()
    page.goto(f"{page.base_url}/orders/{number}/")
    assert "active" not in element_classes(page, "UserTask_chase_vendor")
    assert "completed" in element_classes(page, "UserTask_chase_vendor")
    assert "active" in element_classes(page, "Timer_extended_deadline")
    screenshot(page, "order-detail-after-extension")


def test_vendor_user_stays_in_its_portal(browser_page, late_order):
    page = browser_page
    sign_in(page, "acme", "demo-vendor-pass")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Vendor portal")
    assert page.goto(page.base_url + "/tasks/").status == 403
    assert page.goto(page.base_url + "/orders/").status == 403
    assert page.goto(page.base_url + f"/orders/{late_order.order.number}/").status == 403
    other = late_order.cedar_sub_order.number
    assert page.goto(page.base_url + f"/vendor/sub-orders/{other}/").status == 404
    own = late_order.order.sub_orders.get(vendor__handle="acme-audio").number
    assert page.goto(page.base_url + f"/vendor/sub-orders/{own}/").status == 200


@pytest.mark.parametrize("size", WIDTHS)
def test_screenshots_of_the_main_pages(chromium, live_server, late_order, screenshot, size):
    open_incident()
    marketplace = ProcessDefinition.objects.get(bpmn_process_id="marketplace-order")
    context = chromium.new_context(
        viewport={"width": WIDTHS[size], "height": 900}, timezone_id="Europe/Berlin"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base_url = live_server.url
    pages = {
        "dashboard": "/",
        "orders-list": "/orders/",
        "order-detail": f"/orders/{late_order.order.number}/",
        "tasklist": "/tasks/?queue=all",
        "task-escalation-form": f"/tasks/{late_order.task.key}/",
        "incidents": "/incidents/",
        "process-heat-map": f"/processes/{marketplace.key}/",
        "processes": "/processes/",
        "returns": "/returns/",
        "return-start": f"/returns/new/{late_order.order.number}/",
        "parcel-arrivals": "/returns/arrivals/",
        "workflow": f"/processes/instances/{late_order.order.process_instance_key}/",
    }
    try:
        sign_in(page, "maya", "demo-manager-pass")
        for name, path in pages.items():
            response = page.goto(page.base_url + path)
            assert response.status == 200, path
            page.wait_for_load_state("networkidle")
            screenshot(page, f"{name}-{size}")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, "cedar", "demo-vendor-pass")
        screenshot(page, f"vendor-portal-{size}")
        page.goto(page.base_url + f"/vendor/sub-orders/{late_order.cedar_sub_order.number}/")
        screenshot(page, f"vendor-sub-order-{size}")
        page.goto(page.base_url + "/vendor/payouts/")
        screenshot(page, f"vendor-payouts-{size}")
    finally:
        context.close()
