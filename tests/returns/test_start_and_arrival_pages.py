"""Support starts a return from the order page; the warehouse records a parcel's arrival."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from returns.models import ReturnRequest

from .conftest import delivered_order
from .helpers import loyal

S = ReturnRequest.S


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def order(deployed, shop, customer):
    loyal(customer, shop)
    return delivered_order(customer=customer, items=[(shop.headphones, 2), (shop.cable, 1)])


def test_the_order_page_offers_a_return_only_to_support_and_managers(
    order, support, warehouse, manager
):
    url = reverse("orders:detail", args=[order.number])
    start = reverse("returns:start", args=[order.number])
    assert start in signed_in(support).get(url).content.decode()
    assert start in signed_in(manager).get(url).content.decode()
    assert signed_in(warehouse).get(start).status_code == 403


def test_support_starts_a_return_with_lines_reason_and_refund_method(deployed, order, support):
    line = order.lines.get(sku="AA-HP-100")
    response = signed_in(support).post(
        reverse("returns:start", args=[order.number]),
        {f"qty-{line.pk}": "1", "reason": "damaged", "refund_method": "store_credit"},
    )
    created = ReturnRequest.objects.get(order=order)
    assert response.status_code == 302
    assert response.url == reverse("returns:detail", args=[created.number])
    assert created.reason == "damaged" and created.refund_method == "store_credit"
    assert created.requested_by.username == support.username
    assert [(rl.order_line.sku, rl.quantity) for rl in created.lines.all()] == [("AA-HP-100", 1)]
    assert created.amount_minor == 12_900
    assert created.process_instance_key


def test_a_return_form_with_too_many_units_or_no_reason_is_refused(order, support):
    line = order.lines.get(sku="AA-HP-100")
    client = signed_in(support)
    url = reverse("returns:start", args=[order.number])
    page = client.post(url, {f"qty-{line.pk}": "3", "reason": "", "refund_method": "original"})
    html = page.content.decode()
    assert page.status_code == 400
    assert "between 0 and 2 can be returned" in html
    assert "Choose why the customer returns the items." in html
    assert not ReturnRequest.objects.filter(order=order).exists()


def test_nothing_returnable_means_no_return_button(deployed, shop, customer, support):
    late = delivered_order(customer=customer, items=[(shop.helmet, 1)], delivered_days_ago=90)
    body = signed_in(support).get(reverse("orders:detail", args=[late.number])).content.decode()
    assert reverse("returns:start", args=[late.number]) not in body


def awaiting_item(deployed, order, support) -> ReturnRequest:
    line = order.lines.get(sku="AA-CBL-3")
    signed_in(support).post(
        reverse("returns:start", args=[order.number]),
        {f"qty-{line.pk}": "1", "reason": "no_longer_needed", "refund_method": "original"},
    )
    deployed.run_handlers()
    return_request = ReturnRequest.objects.get(order=order)
    assert return_request.status == S.AWAITING_ITEM
    return return_request


def test_the_warehouse_records_a_parcel_by_return_number(deployed, order, support, warehouse):
    return_request = awaiting_item(deployed, order, support)
    client = signed_in(warehouse)
    listing = client.get(reverse("returns:arrivals")).content.decode()
    assert return_request.number in listing

    response = client.post(
        reverse("returns:arrivals"), {"code": return_request.number.lower()}, follow=True
    )
    deployed.run_handlers()
    return_request.refresh_from_db()
    assert return_request.item_received_at is not None
    assert return_request.status != S.AWAITING_ITEM
    assert f"{return_request.number} arrived" in response.content.decode()
    assert return_request.history.filter(actor=warehouse.username).exists()

    again = client.post(reverse("returns:arrivals"), {"code": return_request.number}, follow=True)
    assert "recorded as arrived already" in again.content.decode()


def test_an_unknown_number_at_the_parcel_desk_says_so(warehouse, support):
    client = signed_in(warehouse)
    response = client.post(reverse("returns:arrivals"), {"code": "RET-NOPE"}, follow=True)
    assert "No return has the number or tracking number" in response.content.decode()
    assert signed_in(support).get(reverse("returns:arrivals")).status_code == 403
