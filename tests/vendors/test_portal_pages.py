"""The vendor portal offers its actions in order and says what happened to the money."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from orders import services
from orders.services import CustomerInput, LineInput
from vendors import services as vendor_services

from .helpers import place_paid_order


@pytest.fixture
def portal(acme_user):
    client = Client()
    client.force_login(acme_user)
    return client


def detail(portal, sub_order) -> str:
    return portal.get(reverse("vendor_portal:sub_order", args=[sub_order.number])).content.decode()


def test_a_request_is_answered_before_it_can_be_shipped(deployed, market, portal):
    order = place_paid_order(deployed)
    acme = order.sub_orders.get(vendor=market.acme)
    html = detail(portal, acme)
    assert reverse("vendor_portal:accept", args=[acme.number]) in html
    assert reverse("vendor_portal:ship", args=[acme.number]) not in html
    assert 'class="danger"' in html and "confirm(" in html  # reject is destructive
    assert "15%" in html and " bp" not in html

    portal.post(reverse("vendor_portal:accept", args=[acme.number]))
    deployed.run_handlers()
    html = detail(portal, acme)
    assert reverse("vendor_portal:accept", args=[acme.number]) not in html
    assert reverse("vendor_portal:ship", args=[acme.number]) in html
    assert "Vendor accepted" in html and "vendor_accepted" not in html


def test_a_declined_payment_says_so_instead_of_pending(deployed, market, portal):
    order = services.order_place(
        customer=CustomerInput(email="lena@example.com", name="Lena", country="DE"),
        currency="EUR",
        lines=[LineInput("acme-audio", "AA-HP-100", 1)],
        payment_method="tok_chargeDeclined",
    )
    deployed.run_handlers()
    acme = order.sub_orders.get()
    html = detail(portal, acme)
    assert "Payment declined" in html and "will not go ahead" in html
    assert reverse("vendor_portal:accept", args=[acme.number]) not in html
    listing = portal.get(reverse("vendor_portal:sub_orders")).content.decode()
    assert "Payment declined" in listing


def test_sub_orders_and_payouts_have_totals_and_filters(deployed, market, portal):
    order = place_paid_order(deployed)
    acme = order.sub_orders.get(vendor=market.acme)
    vendor_services.sub_order_accept(sub_order=acme, actor="vendor:acme-audio")
    deployed.run_handlers()
    listing = portal.get(reverse("vendor_portal:sub_orders")).content.decode()
    assert "1 sub-order ·" in listing and "your payouts €109.65" in listing
    payouts = portal.get(reverse("vendor_portal:payouts")).content.decode()
    assert "€109.65" in payouts and "held now" in payouts
    second = place_paid_order(deployed).sub_orders.get(vendor=market.acme)
    vendor_services.sub_order_reject(sub_order=second, reason="no stock", actor="vendor:acme")
    deployed.run_handlers()
    # The "held now" figure leaves out the cancelled hold of the rejected sub-order.
    figures = (
        portal.get(reverse("vendor_portal:payouts")).content.decode().split('id="holds-title"')[0]
    )
    assert "€109.65" in figures and "€219.30" not in figures
    released = portal.get(reverse("vendor_portal:payouts") + "?hold_status=released").content
    assert "No payout holds." in released.decode()
