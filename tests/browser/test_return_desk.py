"""Support starts a return from the order page; the warehouse records the parcel's arrival at
the parcel desk by typing (or scanning) the return number."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from config.roles import SUPPORT, WAREHOUSE
from orders.models import Customer
from orders.payments import sandbox
from processes.engine import service
from processes.testing.context import ProcessTestContext
from returns.models import ReturnRequest
from tests.factories import make_user
from tests.returns.conftest import BPMN, delivered_order
from tests.vendors.factories import ProductFactory, VendorFactory

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests-1"  # test users only


@pytest.fixture
def delivered(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    sandbox.reset()
    seed = importlib.import_module("returns.migrations.0002_seed_policy_and_indicators").seed
    seed(django_apps, None)
    service.deploy_file(str(BPMN))
    make_user("sue", role=SUPPORT)
    make_user("walt", role=WAREHOUSE)
    acme = VendorFactory(handle="acme-audio", name="Acme Audio")
    headphones = ProductFactory(
        vendor=acme, sku="AA-HP-100", name="Studio headphones", price_minor=12_900
    )
    cable = ProductFactory(vendor=acme, sku="AA-CBL-3", name="Speaker cable", price_minor=1_490)
    customer = Customer.objects.create(email="ken@example.com", name="Ken Sato", country="JP")
    # An earlier large purchase keeps the return-to-purchase ratio ordinary.
    delivered_order(customer=customer, items=[(headphones, 10)], delivered_days_ago=60)
    order = delivered_order(customer=customer, items=[(headphones, 2), (cable, 1)])
    yield order
    sandbox.reset()


def test_support_starts_a_return_and_the_warehouse_records_its_parcel(
    browser_page, delivered, screenshot
):
    page = browser_page
    order = delivered

    sign_in(page, "sue", PASSWORD)
    page.goto(page.base_url + f"/orders/{order.number}/")
    page.get_by_role("link", name="Start a return").click()
    page.get_by_label("Studio headphones").fill("1")
    page.get_by_label("Why the customer returns them").select_option("damaged")
    page.get_by_label("Store credit").check()
    screenshot(page, "return-start-form")
    page.get_by_role("button", name="Start return").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("started for Ken Sato").is_visible()
    ProcessTestContext().run_handlers()
    ret = ReturnRequest.objects.get(order=order)
    assert ret.status == ReturnRequest.S.AWAITING_ITEM
    assert ret.refund_method == "store_credit" and ret.requested_by.username == "sue"

    page.context.clear_cookies()
    sign_in(page, "walt", PASSWORD)
    page.get_by_role("link", name="Parcel arrivals").click()
    assert page.get_by_role("cell", name=ret.number).is_visible()
    page.get_by_label("Return number or tracking number").fill(ret.number)
    screenshot(page, "parcel-arrivals")
    page.get_by_label("Return number or tracking number").press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.get_by_text(f"{ret.number} arrived").is_visible()
    ProcessTestContext().run_handlers()
    ret.refresh_from_db()
    assert ret.item_received_at is not None
    assert ret.status != ReturnRequest.S.AWAITING_ITEM
