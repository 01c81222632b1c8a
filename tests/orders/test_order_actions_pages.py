"""The order page offers only actions that will succeed; stopping a workflow without
compensation is an administrator's, says what it leaves behind and is recorded."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from orders import services
from orders.models import Order, OrderEvent
from orders.services import CustomerInput, LineInput
from tests.factories import make_user
from vendors import services as vendor_services

CUSTOMER = CustomerInput(email="lena@example.com", name="Lena Fischer", country="DE")
LINES = [LineInput("acme-audio", "AA-HP-100", 1), LineInput("bolt-bikes", "BB-HLM-M", 1)]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def placed(deployed, market):
    order = services.order_place(
        customer=CUSTOMER, currency="EUR", lines=LINES, payment_method="tok_visa"
    )
    deployed.run_handlers()
    order.refresh_from_db()
    assert order.status == Order.S.PAID
    return order


@pytest.fixture
def admin(db):
    user = make_user("root")
    user.is_superuser = user.is_staff = True
    user.save()
    return user


def page(user, order: Order) -> str:
    return signed_in(user).get(reverse("orders:detail", args=[order.number])).content.decode()


def deliver(deployed, sub_order) -> None:
    vendor_services.sub_order_accept(sub_order=sub_order, actor="vendor")
    deployed.run_handlers()
    vendor_services.sub_order_ship(sub_order=sub_order, carrier="DHL", tracking_number="TRK-1")
    deployed.run_handlers()
    vendor_services.sub_order_deliver(sub_order=sub_order, actor="carrier:dhl")
    deployed.run_handlers()


def test_a_paid_order_offers_cancel_and_summarises_what_it_waits_for(placed, staff):
    from orders.actions import cancel_refusal

    assert cancel_refusal(placed) is None
    html = page(staff, placed)
    assert reverse("orders:cancel", args=[placed.number]) in html
    assert "Where this order is" in html
    assert "Acme Audio to accept" in html and "Bolt Bikes to accept" in html


def test_a_partly_delivered_order_does_not_offer_cancel_and_refuses_it(
    deployed, placed, market, staff
):
    deliver(deployed, placed.sub_orders.get(vendor=market.acme))
    html = page(staff, placed)
    assert reverse("orders:cancel", args=[placed.number]) not in html
    assert "Part of the order was delivered already" in html
    response = signed_in(staff).post(
        reverse("orders:cancel", args=[placed.number]), {"reason": "asked"}, follow=True
    )
    assert "Part of the order was delivered already" in response.content.decode()
    assert not placed.history.filter(event=OrderEvent.CANCELLATION_REQUESTED).exists()


def test_after_a_cancellation_request_cancel_is_not_offered_again(placed, staff):
    signed_in(staff).post(reverse("orders:cancel", args=[placed.number]), {"reason": "asked"})
    assert placed.history.filter(event=OrderEvent.CANCELLATION_REQUESTED).count() == 1
    html = page(staff, placed)
    assert "Cancellation requested" in html
    assert reverse("orders:cancel", args=[placed.number]) not in html


def test_managers_are_sent_to_the_business_cancellation_not_a_raw_stop(placed):
    manager = make_user("mona", role="managers")
    url = reverse("processes:instance", args=[placed.process_instance_key])
    html = signed_in(manager).get(url).content.decode()
    assert reverse("processes:cancel", args=[placed.process_instance_key]) not in html
    assert reverse("orders:detail", args=[placed.number]) + "#cancel" in html


def test_an_administrator_stop_says_what_it_leaves_and_is_recorded(deployed, placed, admin):
    url = reverse("processes:instance", args=[placed.process_instance_key])
    html = signed_in(admin).get(url).content.decode()
    assert "stays captured (no refund)" in html
    assert "payout hold of" in html and "stays held" in html
    assert "the vendor can still act on it" in html

    response = signed_in(admin).post(
        reverse("processes:cancel", args=[placed.process_instance_key]),
        {"reason": "duplicate of another order", "next": url},
        follow=True,
    )
    assert "Left as it was" in response.content.decode()
    deployed.instance(placed.process_instance_key).is_terminated()
    [entry] = LogEntry.objects.filter(object_id=str(placed.pk))
    assert "duplicate of another order" in entry.change_message
    assert "stays captured" in entry.change_message
    assert entry.user == admin
    timeline = page(admin, placed)
    assert "Workflow stopped without compensation: duplicate of another order." in timeline
