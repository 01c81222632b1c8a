"""A return moves money and stock only through the services that own those rows."""

from __future__ import annotations

import pytest

from orders.models import Charge, OrderHistory
from orders.payments import refunds
from returns import services
from vendors import services as vendor_services
from vendors import stock as vendor_stock
from vendors.models import Payout, PayoutHold

from .conftest import delivered_order
from .helpers import loyal, receive, request_return


def spy(monkeypatch, owner, name, calls, where=None):
    """Wrap ``owner.name`` (looked up by callers as ``where.name``) to record its calls."""
    real = getattr(owner, name)

    def wrapper(**kwargs):
        calls.append((name, kwargs))
        return real(**kwargs)

    monkeypatch.setattr(where or owner, name, wrapper)


@pytest.fixture
def calls(monkeypatch):
    found: list[tuple[str, dict]] = []
    spy(monkeypatch, refunds, "charge_refund", found, where=services)
    spy(monkeypatch, vendor_services, "vendor_share_take_back", found)
    spy(monkeypatch, vendor_stock, "stock_restock", found)
    return found


def test_a_paid_out_return_goes_through_the_refund_payout_and_stock_owners(
    deployed, shop, customer, calls
):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 1)], paid_out=True)
    acme = order.sub_orders.get(vendor=shop.acme)

    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])
    receive(deployed, return_request)
    instance.is_completed()

    assert [name for name, _ in calls] == [
        "charge_refund",
        "vendor_share_take_back",
        "stock_restock",
    ]
    assert calls[0][1]["idempotency_key"] == f"return-refund:{return_request.number}"
    # the charge's state machine moved (all of it went back: one item, no shipping)
    charge = Charge.objects.get(order=order)
    assert charge.status == Charge.S.REFUNDED and charge.refunded_minor == charge.amount_minor
    refunded = OrderHistory.objects.get(order=order, event="refund_issued")
    assert refunded.detail["return"] == return_request.number
    assert refunded.detail["provider_refund_id"]
    # the payout went back (all of it: the vendor's whole part) through the payout's owner,
    # which wrote its own history row
    payout = Payout.objects.get(sub_order=acme)
    assert payout.status == Payout.S.REVERSED and payout.reversed_minor == payout.amount_minor
    reversed_row = OrderHistory.objects.get(sub_order=acme, event="payout_reversed")
    assert reversed_row.detail["amount_minor"] == payout.reversed_minor


def test_a_return_before_payout_shrinks_the_hold_through_its_owner(deployed, shop, customer, calls):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 2)], paid_out=False)
    acme = order.sub_orders.get(vendor=shop.acme)

    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])
    receive(deployed, return_request)
    instance.is_completed()

    hold = PayoutHold.objects.get(sub_order=acme)
    assert hold.status == PayoutHold.S.HELD
    reduced = OrderHistory.objects.get(sub_order=acme, event="payout_hold_reduced")
    assert reduced.detail["left_minor"] == hold.amount_minor
    assert "vendor_share_take_back" in [name for name, _ in calls]


def test_a_repeated_card_refund_is_found_by_its_key_not_made_twice(shop, customer, db):
    order = delivered_order(customer=customer, items=[(shop.headphones, 1)])
    first = refunds.charge_refund(
        order_id=order.pk, amount_minor=500, reason="test", idempotency_key="k-1"
    )
    again = refunds.charge_refund(
        order_id=order.pk, amount_minor=500, reason="test", idempotency_key="k-1"
    )

    assert again == first
    assert Charge.objects.get(order=order).refunded_minor == 500
