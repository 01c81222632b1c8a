"""A manager runs the marketplace's data in the browser: a vendor's commission and SLA, its
callback secret (shown once), and a product's stock adjusted with a reason; each in history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from config.roles import MANAGERS
from tests.factories import make_user
from tests.vendors.factories import ProductFactory, VendorFactory
from vendors.models import StockAdjustment, StockItem, Vendor

from .conftest import sign_in
from .test_accessibility import page_problems, tablet_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests-1"  # test users only


@pytest.fixture
def acme(db):
    make_user("maya", role=MANAGERS)
    vendor = VendorFactory(
        handle="acme-audio", name="Acme Audio", commission_rate_bp=1500, sla_hours=24
    )
    headphones = ProductFactory(vendor=vendor, sku="AA-HP-100", name="Studio headphones")
    StockItem.objects.filter(product=headphones).update(on_hand=10, reserved=3)
    return vendor


def test_a_manager_edits_a_vendor_rotates_its_secret_and_adjusts_stock(
    browser_page, acme, screenshot
):
    page = browser_page
    old_secret = acme.callback_secret
    sign_in(page, "maya", PASSWORD)

    # Commission and SLA.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Vendors").click()
    page.get_by_role("link", name="Acme Audio").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Audio")
    expect(page.get_by_text("applies to sub-orders created from now on").first).to_be_visible()
    page.get_by_label("Commission rate (%)").fill("12.5 %")
    page.get_by_label("SLA (hours)").fill("48")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Commission rate, SLA changed")
    history = page.locator("section", has=page.get_by_role("heading", name="Changes"))
    expect(
        history.get_by_role("row", name=re.compile(r"Commission rate 15 % 12\.5 %"))
    ).to_be_visible()
    expect(history.get_by_role("row", name=re.compile(r"SLA 24 hours 48 hours"))).to_be_visible()
    expect(page.get_by_label("Commission rate (%)")).to_have_value("12.5")
    acme.refresh_from_db()
    assert (acme.commission_rate_bp, acme.sla_hours) == (1250, 48)

    # The callback secret: confirmed, shown once, then only that it is set.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("New callback secret")
    new_secret = Vendor.objects.get(pk=acme.pk).callback_secret
    assert new_secret != old_secret
    expect(page.get_by_label("Callback secret")).to_have_value(new_secret)
    screenshot(page, "staff-data-new-secret")
    page.reload()
    expect(page.get_by_role("status")).to_contain_text("shown only once")
    assert new_secret not in page.content()
    expect(history.get_by_role("row", name=re.compile(r"Callback secret rotated"))).to_be_visible()
    expect(page.get_by_text("A callback secret is set")).to_be_visible()
    expect(page.get_by_text(re.compile(r"by maya"))).to_be_visible()
    screenshot(page, "staff-data-vendor")

    # Stock: a refused adjustment, then one with a reason.
    page.get_by_role("link", name="Stock of Acme Audio's products").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stock")
    page.get_by_role("link", name="AA-HP-100").click()
    page.get_by_label("Change in units on hand").fill("-9")
    page.get_by_label("Reason").select_option(label="Damaged")
    page.get_by_role("button", name="Record adjustment").click()
    expect(page.get_by_text("3 units reserved for open orders")).to_be_visible()
    assert not StockAdjustment.objects.exists()

    page.get_by_label("Change in units on hand").fill("-2")
    page.get_by_label("Reason").select_option(label="Damaged")
    page.get_by_label("Note").fill("Dropped at the packing table")
    page.get_by_role("button", name="Record adjustment").click()
    expect(page.get_by_role("status")).to_contain_text("now 8 on hand")
    adjustments = page.locator("section", has=page.get_by_role("heading", name="Adjustments"))
    expect(
        adjustments.get_by_role(
            "row", name=re.compile(r"maya -2 Damaged Dropped at the packing table 8")
        )
    ).to_be_visible()
    expect(page.locator("#on-hand")).to_have_text("8")
    screenshot(page, "staff-data-stock")
    assert StockItem.objects.get(product__sku="AA-HP-100").on_hand == 8


def test_the_staff_data_pages_are_labelled_and_fit_a_tablet(tablet_page, acme):  # noqa: F811
    page = tablet_page
    sign_in(page, "maya", PASSWORD)
    problems = []
    for path in [
        "/catalog/vendors/",
        "/catalog/vendors/acme-audio/",
        "/catalog/stock/",
        "/catalog/stock/acme-audio/AA-HP-100/",
    ]:
        problems += page_problems(page, path)
    assert problems == []
