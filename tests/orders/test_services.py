"""Order and vendor services: placing orders with exact splits, money and stock moved once."""

from __future__ import annotations

import pytest

from core.errors import ApplicationError
from orders import services
from orders.models import Charge, Order, OrderHistory, Refund
from orders.services import CustomerInput, LineInput
from vendors import services as vendor_services
from vendors import stock as vendor_stock
from vendors.models import Payout, PayoutHold, StockItem, VendorSubOrder

CUSTOMER = CustomerInput(email="Lena@example.com", name="Lena Fischer", country="de")


def create(market, *, lines=None, shipping=0, token="tok_visa", **kwargs):  # noqa: S107
    if lines is None:
        lines = [
            LineInput("acme-audio", "AA-HP-100", 1),
            LineInput("acme-audio", "AA-CBL-3", 2),
            LineInput("bolt-bikes", "BB-HLM-M", 1),
            LineInput("cedar-home", "CH-MUG-4", 3),
        ]
    return services.order_create(
        customer=CUSTOMER,
        currency="EUR",
        lines=lines,
        payment_method=token,
        shipping_minor=shipping,
        **kwargs,
    )


def test_order_create_splits_by_vendor_with_exact_commission(market):
    order = create(market, shipping=995)

    subs = {so.vendor.handle: so for so in order.sub_orders.all()}
    assert order.subtotal_minor == 12_900 + 2 * 1_490 + 8_900 + 3 * 3_333 == 34_779
    assert order.total_minor == 34_779 + 995
    acme, bolt, cedar = subs["acme-audio"], subs["bolt-bikes"], subs["cedar-home"]
    assert acme.subtotal_minor == 15_880
    assert acme.commission_minor == 2_382  # 15% of 158.80
    assert bolt.commission_minor == 1_068  # 12% of 89.00
    assert cedar.commission_minor == 1_550  # 15.5% of 99.99 = 15.49845 -> 15.50 (half-up)
    for so in subs.values():
        assert so.payout_minor == so.subtotal_minor - so.commission_minor
    assert sum(so.subtotal_minor for so in subs.values()) == order.subtotal_minor
    assert sum(so.shipping_minor for so in subs.values()) == 995
    assert sum(so.total_minor for so in subs.values()) == order.total_minor
    assert order.lines.count() == 4
    assert order.customer.email == "lena@example.com"
    assert OrderHistory.objects.filter(order=order, event="order_placed").exists()


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([LineInput("nobody", "X", 1)], "lines[0].vendor"),
        ([LineInput("acme-audio", "NOPE", 1)], "lines[0].sku"),
        ([LineInput("acme-audio", "AA-HP-100", 0)], "lines[0].quantity"),
        ([LineInput("acme-audio", "AA-HP-100", 11)], "lines[0].quantity"),
        (
            [LineInput("acme-audio", "AA-HP-100", 6), LineInput("acme-audio", "AA-HP-100", 5)],
            "lines[1].quantity",
        ),
    ],
)
def test_order_create_refuses_bad_lines_naming_the_field(market, lines, field):
    with pytest.raises(ApplicationError) as error:
        create(market, lines=lines)

    assert error.value.field == field
    assert not Order.objects.exists()


def test_order_create_refuses_other_currency_and_wrong_total(market):
    with pytest.raises(ApplicationError) as error:
        services.order_create(
            customer=CUSTOMER,
            currency="USD",
            lines=[LineInput("acme-audio", "AA-HP-100", 1)],
            payment_method="tok_visa",
        )
    assert error.value.field == "currency"
    with pytest.raises(ApplicationError) as error:
        create(market, expected_total_minor=1)
    assert error.value.field == "total_minor"


def test_payment_capture_twice_charges_once(market):
    order = create(market)

    first = services.payment_capture(order_id=order.pk, idempotency_key="charge:1:2")
    again = services.payment_capture(order_id=order.pk, idempotency_key="charge:1:2")

    assert first.pk == again.pk
    assert Charge.objects.count() == 1
    order.refresh_from_db()
    assert order.status == Order.S.PAID
    assert first.amount_minor == order.total_minor


def test_payment_capture_records_a_decline(market):
    order = create(market, token="tok_chargeDeclined")

    charge = services.payment_capture(order_id=order.pk, idempotency_key="k")

    assert charge.status == Charge.S.DECLINED
    assert charge.decline_code == "card_declined"
    order.refresh_from_db()
    assert order.status == Order.S.PAYMENT_DECLINED


def test_stock_reserve_and_release_move_stock_once(market):
    order = create(market)
    acme = order.sub_orders.get(vendor=market.acme)

    assert vendor_stock.stock_reserve(sub_order_id=acme.pk)
    assert vendor_stock.stock_reserve(sub_order_id=acme.pk)
    assert StockItem.objects.get(product=market.cable).reserved == 2
    assert vendor_stock.stock_release(sub_order_id=acme.pk)
    assert not vendor_stock.stock_release(sub_order_id=acme.pk)
    assert StockItem.objects.get(product=market.cable).reserved == 0


def test_stock_reserve_when_short_fails_only_that_sub_order(market):
    order = create(market)
    StockItem.objects.filter(product=market.helmet).update(on_hand=0)
    bolt = order.sub_orders.get(vendor=market.bolt)

    assert not vendor_stock.stock_reserve(sub_order_id=bolt.pk)

    bolt.refresh_from_db()
    assert bolt.status == VendorSubOrder.S.FAILED
    assert StockItem.objects.get(product=market.helmet).reserved == 0


def test_refund_sub_order_refunds_its_share_once(market):
    order = create(market, shipping=995)
    services.payment_capture(order_id=order.pk, idempotency_key="c")
    bolt = order.sub_orders.get(vendor=market.bolt)

    first = services.refund_sub_order(sub_order_id=bolt.pk, idempotency_key="r1", reason="x")
    again = services.refund_sub_order(sub_order_id=bolt.pk, idempotency_key="r2", reason="x")

    assert first.pk == again.pk
    assert first.amount_minor == bolt.subtotal_minor + bolt.shipping_minor
    charge = Charge.objects.get(order=order)
    assert charge.refunded_minor == first.amount_minor
    assert charge.status == Charge.S.PARTIALLY_REFUNDED
    rest = services.refund_order_remaining(order_id=order.pk, idempotency_key="r3", reason="y")
    charge.refresh_from_db()
    assert rest.amount_minor + first.amount_minor == order.total_minor
    assert charge.status == Charge.S.REFUNDED
    assert (
        services.refund_order_remaining(order_id=order.pk, idempotency_key="r4", reason="y") is None
    )
    assert sum(Refund.objects.values_list("amount_minor", flat=True)) == order.total_minor


def test_payout_hold_release_and_payout(market):
    order = create(market)
    services.payment_capture(order_id=order.pk, idempotency_key="c")
    acme = order.sub_orders.get(vendor=market.acme)
    vendor_stock.stock_reserve(sub_order_id=acme.pk)

    hold = vendor_services.payout_hold_create(sub_order_id=acme.pk, idempotency_key="h")
    assert vendor_services.payout_hold_create(sub_order_id=acme.pk, idempotency_key="h2") == hold
    with pytest.raises(ApplicationError):
        vendor_services.payout_hold_release(sub_order_id=acme.pk)  # not delivered yet
    vendor_services.sub_order_ship(sub_order=acme, carrier="DHL", tracking_number="T1")
    vendor_services.sub_order_deliver(sub_order=acme)
    vendor_services.payout_hold_release(sub_order_id=acme.pk)
    payout = vendor_services.payout_create(sub_order_id=acme.pk, idempotency_key="p")
    again = vendor_services.payout_create(sub_order_id=acme.pk, idempotency_key="p2")

    assert payout.pk == again.pk
    assert payout.amount_minor == acme.subtotal_minor - acme.commission_minor
    assert PayoutHold.objects.get(sub_order=acme).status == PayoutHold.S.RELEASED
    acme.refresh_from_db()
    assert acme.status == VendorSubOrder.S.COMPLETED
    stock = StockItem.objects.get(product=market.cable)
    assert (stock.on_hand, stock.reserved) == (8, 0)
    assert Payout.objects.count() == 1


def test_vendor_answers_are_idempotent_and_tolerate_order(market):
    order = create(market)
    services.payment_capture(order_id=order.pk, idempotency_key="c")
    acme = order.sub_orders.get(vendor=market.acme)

    vendor_services.sub_order_ship(sub_order=acme, carrier="UPS", tracking_number="1Z")
    vendor_services.sub_order_accept(sub_order=acme)  # late acceptance: nothing changes
    vendor_services.sub_order_ship(sub_order=acme, carrier="UPS", tracking_number="1Z")

    acme.refresh_from_db()
    assert acme.status == VendorSubOrder.S.SHIPPED
    assert acme.history.filter(event="vendor_shipped").count() == 1
    with pytest.raises(ApplicationError):
        vendor_services.sub_order_reject(sub_order=acme, reason="too late")
    with pytest.raises(ApplicationError) as error:
        vendor_services.sub_order_reject(sub_order=acme, reason=" ")
    assert error.value.field == "reason"
