"""The marketplace-order process, one test per path, with the real job handlers.

The harness runs the registered handlers (sandbox payments, no vendor API endpoints) until the
engine waits; vendors and carriers answer through the same services the webhooks call.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import ApplicationError
from orders import services
from orders.models import Charge, Order, OrderHistory, Refund
from orders.services import CustomerInput, LineInput
from processes.jobs import registry
from processes.models import Job, UserTask
from vendors import services as vendor_services
from vendors.models import Payout, PayoutHold, StockItem, VendorSubOrder

S = VendorSubOrder.S
CUSTOMER = CustomerInput(email="lena@example.com", name="Lena Fischer", country="DE")
LINES = [
    LineInput("acme-audio", "AA-HP-100", 1),
    LineInput("acme-audio", "AA-CBL-3", 2),
    LineInput("bolt-bikes", "BB-HLM-M", 1),
    LineInput("cedar-home", "CH-MUG-4", 3),
]


def place(deployed, *, token: str = "tok_visa", lines=None, shipping: int = 995):  # noqa: S107
    order = services.order_place(
        customer=CUSTOMER,
        currency="EUR",
        lines=lines or LINES,
        payment_method=token,
        shipping_minor=shipping,
    )
    deployed.run_handlers()
    return order, deployed.instance(order.process_instance_key)


def sub(order: Order, vendor) -> VendorSubOrder:
    return order.sub_orders.get(vendor=vendor)


def deliver(deployed, sub_order: VendorSubOrder, *, accept_first: bool = True) -> None:
    if accept_first:
        vendor_services.sub_order_accept(sub_order=sub_order, actor="vendor")
        deployed.run_handlers()
    vendor_services.sub_order_ship(
        sub_order=sub_order, carrier="DHL", tracking_number=f"TRK-{sub_order.pk}"
    )
    deployed.run_handlers()
    vendor_services.sub_order_deliver(sub_order=sub_order, actor="carrier:dhl")
    deployed.run_handlers()


def stock(product) -> tuple[int, int]:
    item = StockItem.objects.get(product=product)
    return item.on_hand, item.reserved


def test_every_service_task_has_a_handler():
    from processes.engine.bpmn import parse_bpmn

    from .conftest import BPMN

    [model] = parse_bpmn(BPMN.read_text(), BPMN.name)
    types = {el.task.type_expr for el in model.elements.values() if el.task is not None}
    assert types
    assert types <= set(registry()), types - set(registry())


def test_all_vendors_deliver_every_hold_released_and_payouts_exact(deployed, market):
    order, instance = place(deployed)
    instance.is_waiting_at("Receive_vendor_answer", exactly=False)
    assert PayoutHold.objects.filter(sub_order__order=order, status="held").count() == 3
    assert stock(market.cable) == (10, 2)

    for vendor in (market.acme, market.bolt, market.cedar):
        deliver(deployed, sub(order, vendor))

    instance.is_completed()
    instance.has_passed("Task_pay_out", times=3).has_passed("Task_notify_customer")
    order.refresh_from_db()
    assert order.status == Order.S.COMPLETED
    holds = PayoutHold.objects.filter(sub_order__order=order)
    assert {h.status for h in holds} == {PayoutHold.S.RELEASED}
    for so in order.sub_orders.all():
        assert so.status == S.COMPLETED
        assert so.payout.amount_minor == so.subtotal_minor - so.commission_minor
        assert so.payout.provider_transfer_id.startswith("tr_sandbox_")
    payouts = sum(
        Payout.objects.filter(sub_order__order=order).values_list("amount_minor", flat=True)
    )
    commissions = sum(order.sub_orders.values_list("commission_minor", flat=True))
    assert payouts + commissions == order.subtotal_minor
    charge = Charge.objects.get(order=order)
    assert charge.amount_minor == order.total_minor == 34_779 + 995
    assert not Refund.objects.exists()
    assert stock(market.cable) == (8, 0)
    assert order.history.filter(event="customer_notified").count() == 1


def test_vendor_sla_expires_support_task_then_vendor_answers_and_order_completes(deployed, market):
    order, instance = place(deployed)
    cedar = sub(order, market.cedar)  # 12 h SLA, the others 24 h
    for vendor in (market.acme, market.bolt):
        deliver(deployed, sub(order, vendor))

    deployed.increase_time(dt.timedelta(hours=13))

    task = deployed.user_task("UserTask_chase_vendor", instance)
    assert task.candidate_groups == ["support"] or "support" in str(task.candidate_groups)
    assert task.form_key == "vendor-sla-escalation"
    assert UserTask.objects.filter(element_id="UserTask_chase_vendor").count() == 1
    instance.is_waiting_at("Receive_vendor_answer", "UserTask_chase_vendor", exactly=False)

    deliver(deployed, cedar)

    instance.is_completed()
    task.refresh_from_db()
    assert task.state != UserTask.CREATED  # the late answer closed the escalation
    order.refresh_from_db()
    assert order.status == Order.S.COMPLETED
    assert Payout.objects.filter(sub_order__order=order).count() == 3


def test_one_vendor_rejects_only_its_share_refunded_and_stock_released(deployed, market):
    order, instance = place(deployed)
    bolt = sub(order, market.bolt)
    assert stock(market.helmet) == (10, 1)

    vendor_services.sub_order_reject(sub_order=bolt, reason="Discontinued", actor="bea")
    deployed.run_handlers()
    for vendor in (market.acme, market.cedar):
        deliver(deployed, sub(order, vendor))

    instance.is_completed().has_passed("Task_refund_vendor_share", times=1)
    bolt.refresh_from_db()
    assert bolt.status == S.REJECTED
    assert stock(market.helmet) == (10, 0)
    [refund] = Refund.objects.filter(order=order)
    assert refund.sub_order == bolt
    assert refund.amount_minor == bolt.subtotal_minor + bolt.shipping_minor
    assert PayoutHold.objects.get(sub_order=bolt).status == PayoutHold.S.CANCELLED
    assert not Payout.objects.filter(sub_order=bolt).exists()
    paid = Payout.objects.filter(sub_order__order=order)
    assert paid.count() == 2
    charge = Charge.objects.get(order=order)
    assert charge.status == Charge.S.PARTIALLY_REFUNDED
    assert charge.refunded_minor == refund.amount_minor
    order.refresh_from_db()
    assert order.status == Order.S.COMPLETED


def test_vendor_cancels_after_accepting_undoes_its_part(deployed, market):
    order, instance = place(deployed)
    acme = sub(order, market.acme)
    vendor_services.sub_order_accept(sub_order=acme)
    deployed.run_handlers()

    vendor_services.sub_order_reject(sub_order=acme, reason="Warehouse flooded")
    deployed.run_handlers()

    instance.has_passed("Catch_vendor_cancelled").has_passed("Task_cancel_hold")
    assert Refund.objects.get(sub_order=acme).amount_minor == acme.total_minor
    assert stock(market.headphones) == (10, 0)


def test_out_of_stock_at_reservation_undoes_that_vendor_only(deployed, market):
    order = services.order_create(
        customer=CUSTOMER, currency="EUR", lines=LINES, payment_method="tok_visa"
    )
    StockItem.objects.filter(product=market.mug).update(on_hand=1)  # sold elsewhere meanwhile
    instance = deployed.instance(services.order_process_start(order=order))
    deployed.run_handlers()

    instance.has_passed("Boundary_out_of_stock").has_passed("Task_refund_vendor_share", times=1)
    cedar = sub(order, market.cedar)
    assert cedar.status == S.FAILED
    assert Refund.objects.get(order=order).sub_order == cedar
    instance.is_waiting_at("Receive_vendor_answer", exactly=False)


def test_whole_order_cancellation_after_two_vendors_shipped_undoes_everything_once(
    deployed, market
):
    order, instance = place(deployed)
    acme, bolt = (sub(order, v) for v in (market.acme, market.bolt))
    for so in (acme, bolt):
        vendor_services.sub_order_ship(sub_order=so, carrier="UPS", tracking_number=f"1Z{so.pk}")
    deployed.run_handlers()

    services.order_cancel_request(order=order, reason="Customer changed their mind", user=None)
    deployed.run_handlers()

    instance.is_completed().has_passed("End_order_cancelled")
    instance.has_not_passed("Task_refund_vendor_share", "Task_pay_out")
    order.refresh_from_db()
    assert order.status == Order.S.CANCELLED
    assert set(order.sub_orders.values_list("status", flat=True)) == {S.CANCELLED}
    assert {h.status for h in PayoutHold.objects.filter(sub_order__order=order)} == {
        PayoutHold.S.CANCELLED
    }
    [refund] = Refund.objects.filter(order=order)
    assert refund.amount_minor == order.total_minor
    assert Charge.objects.get(order=order).status == Charge.S.REFUNDED
    for product in (market.headphones, market.cable, market.helmet, market.mug):
        assert stock(product)[1] == 0
    events = list(order.history.values_list("event", flat=True))
    # Explicit order of undoing: shipments are cancelled before any money goes back.
    last_cancel = max(i for i, e in enumerate(events) if e == "sub_order_cancelled")
    assert last_cancel < events.index("refund_issued")
    assert events.count("refund_issued") == 1
    assert events.count("stock_released") == 3
    assert not Job.objects.filter(
        process_instance_key=instance.key, state__in=["ACTIVATABLE", "ACTIVATED"]
    ).exists()

    # A second cancellation message changes nothing.
    with pytest.raises(ApplicationError):
        services.order_cancel_request(order=order, reason="again", user=None)


def test_payment_declined_ends_the_order_cleanly(deployed, market):
    order, instance = place(deployed, token="tok_chargeDeclined")

    instance.is_completed().has_passed("Boundary_payment_declined")
    instance.has_passed("End_payment_declined").has_not_passed("Sub_vendor")
    order.refresh_from_db()
    assert order.status == Order.S.PAYMENT_DECLINED
    assert Charge.objects.get(order=order).status == Charge.S.DECLINED
    assert not PayoutHold.objects.exists()
    assert stock(market.cable) == (10, 0)
    assert order.history.filter(event="customer_notified").count() == 1


def test_retryable_card_error_retries_and_captures_once(deployed, market):
    order, instance = place(deployed, token="tok_retry")

    instance.has_passed("Task_capture_payment")
    assert Charge.objects.get(order=order).status == Charge.S.CAPTURED
    assert Job.objects.get(process_instance_key=instance.key, type="payment-capture").retries == 2


def test_out_of_order_shipped_before_accepted_and_duplicates(deployed, market):
    order, instance = place(deployed)
    acme = sub(order, market.acme)

    # Shipped and delivered before the process even asked... and before "accepted".
    vendor_services.sub_order_ship(sub_order=acme, carrier="DHL", tracking_number="T-1")
    vendor_services.sub_order_ship(sub_order=acme, carrier="DHL", tracking_number="T-1")
    vendor_services.sub_order_accept(sub_order=acme)
    vendor_services.sub_order_deliver(sub_order=acme)
    vendor_services.sub_order_deliver(sub_order=acme)
    deployed.run_handlers()

    acme.refresh_from_db()
    assert acme.status == S.COMPLETED
    assert Payout.objects.filter(sub_order=acme).count() == 1
    instance.has_passed("Task_pay_out", times=1)


def test_a_handler_run_twice_changes_nothing_the_second_time(deployed, market):
    from processes.jobs import run_job, to_job

    order = services.order_place(
        customer=CUSTOMER, currency="EUR", lines=LINES, payment_method="tok_visa"
    )
    activated = deployed.activate_job("payment-capture")
    handler = registry()["payment-capture"]
    job = to_job(activated)

    first = handler(job)
    second = handler(job)

    assert first == second
    assert Charge.objects.filter(order=order).count() == 1
    run_job(activated)
    hold_job = to_job(deployed.activate_job("payout-hold-create"))
    registry()["payout-hold-create"](hold_job)
    registry()["payout-hold-create"](hold_job)
    assert PayoutHold.objects.count() == 1
    deployed.run_handlers()
    assert PayoutHold.objects.count() == 3
    assert OrderHistory.objects.filter(order=order, event="payment_captured").count() == 1
