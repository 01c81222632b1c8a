"""Staff run the marketplace's data: managers edit vendors' settings and rotate callback secrets
(support reads them), managers and warehouse adjust stock through the one stock service."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from config.roles import MANAGERS, SUPPORT, WAREHOUSE
from core.errors import ApplicationError
from tests.factories import make_user
from vendors.models import (
    StockAdjustment,
    StockItem,
    StockReason,
    Vendor,
    VendorEvent,
    VendorHistory,
)
from vendors.services import percent_from_bp
from vendors.stock import stock_adjust

from .factories import ProductFactory, VendorFactory
from .helpers import place_paid_order, post_signed

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(db):
    return client_for(make_user("maya", role=MANAGERS))


@pytest.fixture
def support(db):
    return client_for(make_user("sam", role=SUPPORT))


@pytest.fixture
def warehouse(db):
    return client_for(make_user("wes", role=WAREHOUSE))


def settings_form(vendor: Vendor, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "commission": percent_from_bp(vendor.commission_rate_bp).removesuffix(" %"),
        "sla_hours": vendor.sla_hours,
        "api_endpoint": vendor.api_endpoint,
        "contact_email": vendor.contact_email,
        "payout_account_id": vendor.payout_account_id,
    }
    if vendor.is_active:
        data["is_active"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def vendor_url(vendor: Vendor, name: str = "staff-vendor") -> str:
    return reverse(f"vendors:{name}", args=[vendor.handle])


def stock_url(product) -> str:
    return reverse("vendors:stock-product", args=[product.vendor.handle, product.sku])


# ------------------------------------------------------------------------------ permissions
def test_vendor_users_open_none_of_these_pages(market, acme_user):
    vendor = client_for(acme_user)
    product = market.headphones
    for url in (
        reverse("vendors:staff-vendors"),
        vendor_url(market.acme),
        vendor_url(market.acme, "staff-vendor-secret"),
        reverse("vendors:stock"),
        stock_url(product),
    ):
        assert vendor.get(url).status_code == 403, url
    assert vendor.post(vendor_url(market.acme, "staff-vendor-rotate")).status_code == 403
    assert vendor.post(stock_url(product), {"delta": 5, "reason": "received"}).status_code == 403
    assert StockAdjustment.objects.count() == 0


def test_support_reads_vendor_settings_but_changes_nothing(market, support):
    before = market.acme.callback_secret
    listing = support.get(reverse("vendors:staff-vendors"))
    assert listing.status_code == 200 and "Acme Audio" in listing.content.decode()
    page = support.get(vendor_url(market.acme)).content.decode()
    assert "15 %" in page and "Managers change these settings" in page
    assert "Save settings" not in page and "Rotate secret" not in page
    assert before not in page

    edit = support.post(vendor_url(market.acme), settings_form(market.acme, commission="1"))
    assert edit.status_code == 403
    assert support.post(vendor_url(market.acme, "staff-vendor-rotate")).status_code == 403
    assert support.get(vendor_url(market.acme, "staff-vendor-secret")).status_code == 403
    market.acme.refresh_from_db()
    assert market.acme.commission_rate_bp == 1500 and market.acme.callback_secret == before
    assert not VendorHistory.objects.exists()


def test_stock_is_for_managers_and_warehouse_not_support(market, support, warehouse, manager):
    assert support.get(reverse("vendors:stock")).status_code == 403
    assert support.get(stock_url(market.headphones)).status_code == 403
    refused = support.post(stock_url(market.headphones), {"delta": 5, "reason": "received"})
    assert refused.status_code == 403
    assert warehouse.get(reverse("vendors:staff-vendors")).status_code == 403
    assert warehouse.get(reverse("vendors:stock")).status_code == 200
    assert manager.get(reverse("vendors:stock")).status_code == 200
    assert StockItem.objects.get(product=market.headphones).on_hand == 10


def test_anonymous_is_sent_to_sign_in(market):
    response = Client().get(reverse("vendors:stock"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (MANAGERS, ["Stock", "Vendors"], []),
        (SUPPORT, ["Vendors"], ["Stock"]),
        (WAREHOUSE, ["Stock"], ["Vendors"]),
    ],
)
def test_navigation_links_follow_the_role(db, role, shown, hidden):
    client = client_for(make_user("someone", role=role))
    page = client.get(reverse("vendors:catalog")).content.decode()
    nav = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for label in shown:
        assert f">{label}<" in nav
    for label in hidden:
        assert f">{label}<" not in nav


def test_only_the_deepest_navigation_entry_is_current(manager, market):
    page = manager.get(reverse("vendors:stock")).content.decode()
    nav = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert nav.count('aria-current="page"') == 1
    assert 'aria-current="page">Stock<' in nav


# ------------------------------------------------------------------------------ vendor settings
def test_manager_changes_commission_and_sla_with_a_history_row_each(market, manager):
    response = manager.post(
        vendor_url(market.acme), settings_form(market.acme, commission="12.5 %", sla_hours=48)
    )
    assert response.status_code == 302
    market.acme.refresh_from_db()
    assert market.acme.commission_rate_bp == 1250 and market.acme.sla_hours == 48

    rows = {row.field: row for row in VendorHistory.objects.filter(vendor=market.acme)}
    assert set(rows) == {"commission_rate_bp", "sla_hours"}
    assert (rows["commission_rate_bp"].old_value, rows["commission_rate_bp"].new_value) == (
        "15 %",
        "12.5 %",
    )
    assert (rows["sla_hours"].old_value, rows["sla_hours"].new_value) == ("24 hours", "48 hours")
    assert {row.actor for row in rows.values()} == {"maya"}
    assert {row.event for row in rows.values()} == {VendorEvent.SETTING_CHANGED}

    page = manager.get(vendor_url(market.acme)).content.decode()
    assert "Commission rate, SLA changed" in page
    assert "15 %" in page and "12.5 %" in page and "48 hours" in page and "maya" in page
    assert "new sub-orders" in page or "created from now on" in page
    assert "commission_rate_bp" not in page  # the setting's name, not its column


def test_saving_unchanged_settings_writes_no_history(market, manager):
    response = manager.post(vendor_url(market.acme), settings_form(market.acme), follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert not VendorHistory.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"commission": "12.345"}, "at most two decimals"),
        ({"commission": "120"}, "from 0 to 100"),
        ({"commission": "a lot"}, "such as 12.5"),
        ({"sla_hours": "0"}, "greater than or equal to 1"),
        ({"api_endpoint": "not a url"}, "valid URL"),
        ({"api_endpoint": "ftp://acme.example/orders"}, "valid URL"),
        ({"contact_email": "orders-at-acme"}, "valid email"),
    ],
)
def test_invalid_settings_are_refused_with_a_form_error(market, manager, changes, message):
    response = manager.post(vendor_url(market.acme), settings_form(market.acme, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    market.acme.refresh_from_db()
    assert market.acme.commission_rate_bp == 1500 and market.acme.sla_hours == 24
    assert not VendorHistory.objects.exists()


def test_endpoint_contact_payout_account_and_active_flag_are_recorded(market, manager):
    data = settings_form(
        market.acme,
        api_endpoint="https://acme.example/orderly",
        contact_email="orders@acme.example",
        payout_account_id="acct_new",
    )
    del data["is_active"]
    assert manager.post(vendor_url(market.acme), data).status_code == 302
    market.acme.refresh_from_db()
    assert market.acme.api_endpoint == "https://acme.example/orderly"
    assert not market.acme.is_active
    changes = dict(
        VendorHistory.objects.filter(vendor=market.acme).values_list("field", "new_value")
    )
    assert changes == {
        "api_endpoint": "https://acme.example/orderly",
        "contact_email": "orders@acme.example",
        "payout_account_id": "acct_new",
        "is_active": "no",
    }


def test_a_new_commission_applies_to_new_sub_orders_only(deployed, market, manager):
    earlier = place_paid_order(deployed).sub_orders.get(vendor=market.acme)
    assert earlier.commission_rate_bp == 1500
    manager.post(vendor_url(market.acme), settings_form(market.acme, commission="10"))
    later = place_paid_order(deployed).sub_orders.get(vendor=market.acme)
    earlier.refresh_from_db()
    assert earlier.commission_rate_bp == 1500
    assert later.commission_rate_bp == 1000
    assert later.commission_minor == 1290  # 10 % of 129.00 EUR, in cents


# ------------------------------------------------------------------------------ secret rotation
def test_a_rotated_secret_is_shown_once_and_never_recorded(market, manager):
    old = market.acme.callback_secret
    response = manager.post(vendor_url(market.acme, "staff-vendor-rotate"))
    assert response.status_code == 302
    assert response["Location"] == vendor_url(market.acme, "staff-vendor-secret")
    market.acme.refresh_from_db()
    new = market.acme.callback_secret
    assert new != old and len(new) == 64

    shown = manager.get(response["Location"])
    assert shown.status_code == 200
    assert new in shown.content.decode() and "shown only this once" in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]

    again = manager.get(response["Location"], follow=True)
    assert new not in again.content.decode()
    assert "shown only once" in again.content.decode()
    page = manager.get(vendor_url(market.acme)).content.decode()
    assert new not in page and old not in page
    assert "A callback secret is set" in page and "Last rotated" in page and "by maya" in page

    row = VendorHistory.objects.get(vendor=market.acme)
    assert row.event == VendorEvent.SECRET_ROTATED and row.actor == "maya"
    assert row.new_value == "rotated" and row.old_value == ""
    assert new not in str(row.detail) and old not in str(row.detail)
    assert "rotated" in page


def test_rotation_needs_a_post(market, manager):
    assert manager.get(vendor_url(market.acme, "staff-vendor-rotate")).status_code == 405
    old = market.acme.callback_secret
    market.acme.refresh_from_db()
    assert market.acme.callback_secret == old


def test_callbacks_signed_with_the_old_secret_are_refused_after_rotation(deployed, market, manager):
    sub_order = place_paid_order(deployed).sub_orders.get(vendor=market.acme)
    old = market.acme.callback_secret
    manager.post(vendor_url(market.acme, "staff-vendor-rotate"))
    market.acme.refresh_from_db()
    url = f"/api/webhooks/vendors/{market.acme.handle}/"
    body = {"id": "evt-1", "type": "accepted", "sub_order": sub_order.number}
    refused = post_signed(APIClient(), url, body, old)
    assert refused.status_code in (401, 403)
    accepted = post_signed(APIClient(), url, body, market.acme.callback_secret)
    assert accepted.status_code == 200
    sub_order.refresh_from_db()
    assert sub_order.status == sub_order.S.ACCEPTED


# ------------------------------------------------------------------------------ stock
def test_stock_list_filters_by_vendor_searches_and_pages(market, warehouse):
    other = VendorFactory(handle="zen-tea", name="Zen Tea")
    for n in range(55):
        ProductFactory(vendor=other, sku=f"ZT-{n:03d}", name=f"Green tea {n}")
    first = warehouse.get(reverse("vendors:stock"), {"vendor": "zen-tea"}).content.decode()
    assert "ZT-000" in first and "AA-HP-100" not in first
    assert "Page 1 of 2" in first and "vendor=zen-tea&amp;page=2" in first
    second = warehouse.get(reverse("vendors:stock"), {"vendor": "zen-tea", "page": 2})
    assert "ZT-054" in second.content.decode()
    found = warehouse.get(reverse("vendors:stock"), {"q": "hp-1"}).content.decode()
    assert "AA-HP-100" in found and "ZT-0" not in found
    by_name = warehouse.get(reverse("vendors:stock"), {"q": "green tea 7"}).content.decode()
    assert "ZT-007" in by_name and "ZT-008" not in by_name


def test_stock_shows_on_hand_reserved_and_available(market, warehouse):
    StockItem.objects.filter(product=market.headphones).update(on_hand=10, reserved=4)
    page = warehouse.get(stock_url(market.headphones)).content.decode()
    assert "Reserved for open orders</dt><dd>4" in page and "Available</dt><dd>6" in page


def test_an_adjustment_records_who_why_and_the_result(market, warehouse):
    response = warehouse.post(
        stock_url(market.headphones),
        {"delta": "5", "reason": "received", "note": "Delivery note DN-77"},
        follow=True,
    )
    assert response.status_code == 200
    assert StockItem.objects.get(product=market.headphones).on_hand == 15
    row = StockAdjustment.objects.get(product=market.headphones)
    assert (row.delta, row.reason, row.note, row.on_hand_after, row.actor) == (
        5,
        StockReason.RECEIVED,
        "Delivery note DN-77",
        15,
        "wes",
    )
    page = response.content.decode()
    assert "Received" in page and "Delivery note DN-77" in page and "+5" in page and "wes" in page


def test_an_adjustment_below_zero_is_refused_with_a_form_error(market, warehouse):
    response = warehouse.post(stock_url(market.headphones), {"delta": "-11", "reason": "lost"})
    assert response.status_code == 400
    assert "cannot go below zero" in response.content.decode()
    assert StockItem.objects.get(product=market.headphones).on_hand == 10
    assert not StockAdjustment.objects.exists()


def test_an_adjustment_below_the_reserved_units_is_refused(market, manager):
    StockItem.objects.filter(product=market.headphones).update(on_hand=10, reserved=8)
    response = manager.post(stock_url(market.headphones), {"delta": "-3", "reason": "damaged"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "8 units reserved for open orders" in page and "at most 2 units" in page
    ok = manager.post(stock_url(market.headphones), {"delta": "-2", "reason": "damaged"})
    assert ok.status_code == 302
    stock = StockItem.objects.get(product=market.headphones)
    assert (stock.on_hand, stock.reserved) == (8, 8)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"delta": "3", "reason": "damaged"}, "enter a negative number"),
        ({"delta": "-3", "reason": "received"}, "enter a positive number"),
        ({"delta": "0", "reason": "count_correction"}, "number of units to add or take off"),
        ({"delta": "2", "reason": ""}, "This field is required"),
        ({"delta": "2", "reason": "stolen"}, "Select a valid choice"),
    ],
)
def test_an_adjustment_needs_a_reason_and_a_fitting_sign(market, manager, data, message):
    response = manager.post(stock_url(market.headphones), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not StockAdjustment.objects.exists()


def test_the_stock_service_refuses_what_the_form_would(market):
    with pytest.raises(ApplicationError, match="below zero") as refused:
        stock_adjust(product_id=market.cable.pk, delta=-11, reason="lost", actor="wes")
    assert refused.value.field == "delta"
    with pytest.raises(ApplicationError, match="reason"):
        stock_adjust(product_id=market.cable.pk, delta=1, reason="found", actor="wes")
    row = stock_adjust(product_id=market.cable.pk, delta=-10, reason="count_correction")
    assert row.on_hand_after == 0
    assert StockItem.objects.get(product=market.cable).on_hand == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_adjustment_waits_for_the_stock_row_and_checks_what_was_committed(market):
    """A reservation committed while the adjustment waited is counted: the row is locked and
    read after the lock is granted, not before."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    outcome: dict[str, str] = {}
    finished = threading.Event()

    def adjust() -> None:
        try:
            stock_adjust(product_id=market.headphones.pk, delta=-8, reason="lost", actor="wes")
            outcome["result"] = "adjusted"
        except ApplicationError as error:
            outcome["result"] = error.message
        except Exception as error:  # reported by the assertion below
            outcome["result"] = repr(error)
        finally:
            connection.close()
            finished.set()

    with transaction.atomic():
        stock = StockItem.objects.select_for_update().get(product=market.headphones)
        worker = threading.Thread(target=adjust)
        worker.start()
        assert not finished.wait(0.5)  # waiting for the row
        stock.reserved = 5
        stock.save(update_fields=["reserved"])
    worker.join(10)
    assert "5 units reserved for open orders" in outcome["result"]
    assert StockItem.objects.get(product=market.headphones).on_hand == 10
    assert not StockAdjustment.objects.exists()


@pytest.mark.parametrize(
    ("rate_bp", "shown"), [(1500, "15 %"), (1250, "12.5 %"), (1234, "12.34 %"), (5, "0.05 %")]
)
def test_commission_is_shown_as_a_percentage(rate_bp, shown):
    assert percent_from_bp(rate_bp) == shown
