"""Returns in the browser: support reviews a flagged return, the warehouse inspects the item,
a manager approves the refund; a support user cannot approve refunds."""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from config.roles import MANAGERS, SUPPORT, WAREHOUSE
from orders.models import Customer
from orders.payments import sandbox
from processes.engine import service
from processes.models import UserTask
from processes.testing.context import ProcessTestContext
from returns import services
from returns.models import ReturnRefund, ReturnRequest
from tests.factories import make_user
from tests.returns.conftest import BPMN, delivered_order
from tests.vendors.factories import ProductFactory, VendorFactory

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests-1"  # test users only
# "Returns (1)": the badge's parentheses are visually hidden, read out by screen readers.
RETURNS_ONE = re.compile(r"^Returns\W*1\W*$")


@pytest.fixture
def flagged_return(settings):
    """A new account returning 8 speakers 26 days after delivery: fraud score 80, review."""
    settings.PAYMENT_PROVIDER = "sandbox"
    sandbox.reset()
    # Transactional tests flush the tables, the seeded policy and indicators with them.
    seed = importlib.import_module("returns.migrations.0002_seed_policy_and_indicators").seed
    seed(django_apps, None)
    service.deploy_file(str(BPMN))
    for name, role in (("sue", SUPPORT), ("walt", WAREHOUSE), ("mona", MANAGERS)):
        make_user(name, role=role)
    acme = VendorFactory(handle="acme-audio", name="Acme Audio")
    speaker = ProductFactory(vendor=acme, sku="AA-SPK-9", name="Studio speaker", price_minor=64_999)
    user = make_user("carla")
    customer = Customer.objects.create(
        email="carla@example.com", name="Carla Customer", country="DE", user=user
    )
    yesterday = timezone.now() - dt.timedelta(days=1)
    get_user_model().objects.filter(pk=user.pk).update(date_joined=yesterday)
    Customer.objects.filter(pk=customer.pk).update(created_at=yesterday)
    order = delivered_order(customer=customer, items=[(speaker, 8)], delivered_days_ago=26)
    return_request, _ = services.return_request_create(
        order=order,
        lines=[services.ReturnLineInput("AA-SPK-9", 8)],
        reason="not_as_described",
        comment="Sound is not what the page promised",
        user=user,
    )
    run_jobs()
    return_request.refresh_from_db()
    assert return_request.status == ReturnRequest.S.IN_REVIEW
    return return_request


def run_jobs() -> None:
    """Stand in for the job workers: run the registered handlers until the engine waits."""
    ProcessTestContext().run_handlers()


def open_task(return_request: ReturnRequest, element_id: str) -> UserTask:
    return UserTask.objects.get(
        process_instance_key=return_request.process_instance_key,
        element_id=element_id,
        state=UserTask.CREATED,
    )


def complete(page) -> None:
    page.get_by_role("button", name="Complete task").click()
    page.wait_for_load_state("networkidle")
    run_jobs()


def test_review_inspect_and_approve_a_flagged_return(browser_page, flagged_return, screenshot):
    page = browser_page
    ret = flagged_return

    # support: the navigation counts the open review; the form explains the score
    sign_in(page, "sue", PASSWORD)
    returns_link = page.get_by_role("link", name=RETURNS_ONE)
    assert returns_link.is_visible()
    returns_link.click()
    page.get_by_role("link", name="Review flagged return").click()
    assert page.get_by_text("80 / 100 (review above 75)").is_visible()
    assert page.get_by_role("cell", name="Returned value over 5,000 in 90 days").is_visible()
    page.get_by_label("Approve, but have the warehouse inspect the item").check()
    screenshot(page, "return-review-form")
    complete(page)
    ret.refresh_from_db()
    assert ret.status == ReturnRequest.S.AWAITING_ITEM and ret.reviewed_by.username == "sue"

    # the item arrives (carrier scan)
    services.return_item_receive(return_request=ret, actor="carrier:dhl")
    run_jobs()

    # warehouse: records the inspection
    page.context.clear_cookies()
    sign_in(page, "walt", PASSWORD)
    page.goto(page.base_url + f"/tasks/{open_task(ret, 'UserTask_inspection').key}/")
    page.get_by_label("Condition").select_option("opened")
    page.get_by_label("The item matches the order (product, serial, quantity)").check()
    page.get_by_label("It can be sold again").check()
    page.get_by_label("Notes").fill("Opened, all accessories present")
    screenshot(page, "return-inspection-form")
    complete(page)
    approval = open_task(ret, "UserTask_refund_approval")

    # support cannot see, let alone approve, the refund
    page.context.clear_cookies()
    sign_in(page, "sue", PASSWORD)
    response = page.goto(page.base_url + f"/tasks/{approval.key}/")
    assert response.status == 404
    screenshot(page, "return-refund-approval-support-refused")

    # manager: sees the approvals count, the amount and the order's refund history; approves
    page.context.clear_cookies()
    sign_in(page, "mona", PASSWORD)
    assert page.get_by_role("link", name=RETURNS_ONE).is_visible()
    page.goto(page.base_url + f"/tasks/{approval.key}/")
    assert page.get_by_text("€5,199.92").first.is_visible()
    assert page.get_by_role("columnheader", name="Refund history of the order").is_visible()
    page.get_by_label("Approve the refund").check()
    screenshot(page, "return-refund-approval-form")
    complete(page)

    ret.refresh_from_db()
    assert ret.status == ReturnRequest.S.COMPLETED
    refund = ReturnRefund.objects.get(return_request=ret)
    assert refund.status == "issued" and refund.approved_by.username == "mona"

    page.goto(page.base_url + f"/returns/{ret.number}/")
    assert page.get_by_role("heading", name="Fraud check").is_visible()
    assert page.locator("svg.bpmn").first.is_visible()
    screenshot(page, "return-detail")
