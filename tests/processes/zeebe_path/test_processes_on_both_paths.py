"""The marketplace order and the return request end to end on both engine paths (``engine_path``):
the embedded engine with the in-process worker pool, and the Zeebe path (pyzeebe through the
gateway, the bridge, and the real job handlers in a Celery worker on Redis).

The same domain calls and checks as the embedded harness tests
(``tests/orders/test_marketplace_process`` and ``tests/returns/test_return_process``), with the
instance's state read only through the port (Camunda's REST API on Zeebe).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from orders import services
from orders.models import Charge, Order, Refund
from processes import port
from processes.bridge import BRIDGE_WORKER
from processes.models import Job as JobRow
from returns import services as return_services
from returns.models import FraudAssessment, ReturnRefund, ReturnRequest
from tests.orders.conftest import Market
from tests.orders.test_marketplace_process import CUSTOMER, LINES
from tests.processes.workers.conftest import wait_until
from tests.returns.conftest import delivered_order
from tests.returns.helpers import loyal
from vendors import services as vendor_services
from vendors.models import Payout, PayoutHold, StockItem, VendorSubOrder

pytestmark = [pytest.mark.django_db(transaction=True)]

S = VendorSubOrder.S
TIMEOUT = 90


def fresh(predicate: Callable[[], bool]) -> Callable[[], bool]:
    """Read what the worker processes committed (SQLite: no stale read snapshot)."""

    def check() -> bool:
        connection.close()
        return predicate()

    return check


def test_marketplace_order_runs_to_completion(engine_path: str, market: Market):
    assert port.adapter_module().__name__ == f"processes.adapters.{engine_path}"
    order = services.order_place(
        customer=CUSTOMER,
        currency="EUR",
        lines=LINES,
        payment_method="tok_visa",
        shipping_minor=995,
    )
    key = order.process_instance_key
    assert key and port.instance(key).state == "ACTIVE"  # read through REST v2

    def all_requested() -> bool:
        return set(order.sub_orders.values_list("status", flat=True)) == {S.REQUESTED}

    wait_until(fresh(all_requested), timeout=TIMEOUT, what="vendors to be asked")
    assert PayoutHold.objects.filter(sub_order__order=order, status="held").count() == 3
    assert Charge.objects.get(order=order).amount_minor == 34_779 + 995
    assert key in port.instances_waiting_at("Receive_vendor_answer")

    for vendor in (market.acme, market.bolt, market.cedar):
        sub_order = order.sub_orders.get(vendor=vendor)
        vendor_services.sub_order_accept(sub_order=sub_order, actor="vendor")
        wait_until(
            fresh(lambda so=sub_order: _status(so) == S.ACCEPTED),
            timeout=TIMEOUT,
            what="the acceptance",
        )
        vendor_services.sub_order_ship(
            sub_order=order.sub_orders.get(pk=sub_order.pk),
            carrier="DHL",
            tracking_number=f"TRK-{sub_order.pk}",
        )
        vendor_services.sub_order_deliver(
            sub_order=order.sub_orders.get(pk=sub_order.pk), actor="carrier:dhl"
        )

    def completed() -> bool:
        return Order.objects.get(pk=order.pk).status == Order.S.COMPLETED

    wait_until(fresh(completed), timeout=TIMEOUT, what="the order to complete")
    wait_until(
        fresh(lambda: port.instance(key).state == "COMPLETED"),
        timeout=TIMEOUT,
        what="the instance to complete",
    )
    holds = PayoutHold.objects.filter(sub_order__order=order)
    assert {h.status for h in holds} == {PayoutHold.S.RELEASED}
    for so in order.sub_orders.all():
        assert so.status == S.COMPLETED
        assert so.payout.amount_minor == so.subtotal_minor - so.commission_minor
    assert Payout.objects.filter(sub_order__order=order).count() == 3  # once each
    assert not Refund.objects.exists()
    assert StockItem.objects.get(product=market.cable).reserved == 0
    assert order.history.filter(event="customer_notified").count() == 1
    # every job was completed once, by the path's own workers: on Zeebe the bridge's pyzeebe
    # worker through the gateway, embedded the in-process pool
    jobs = JobRow.objects.filter(process_instance_key=key)
    assert jobs.count() >= 10
    assert set(jobs.values_list("state", flat=True)) == {JobRow.COMPLETED}
    workers = set(jobs.values_list("worker", flat=True))
    if engine_path == "zeebe":
        assert workers == {BRIDGE_WORKER}
    else:
        assert all(worker.startswith("inprocess@") for worker in workers), workers


def _status(sub_order: VendorSubOrder) -> str:
    return VendorSubOrder.objects.get(pk=sub_order.pk).status


def test_low_risk_return_is_refunded(engine_path: str, shop, customer):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 1), (shop.cable, 2)])
    return_request, _ = return_services.return_request_create(
        order=order,
        lines=[return_services.ReturnLineInput("AA-HP-100", 1)],
        reason="no_longer_needed",
        user=order.customer.user,
        refund_method="original",
    )

    def status_is(status: str) -> Callable[[], bool]:
        return fresh(lambda: ReturnRequest.objects.get(pk=return_request.pk).status == status)

    wait_until(status_is(ReturnRequest.S.AWAITING_ITEM), timeout=TIMEOUT, what="approval")
    assessment = FraudAssessment.objects.get(return_request=return_request)
    assert assessment.score == 0 and assessment.route == "auto"
    return_services.return_item_receive(
        return_request=ReturnRequest.objects.get(pk=return_request.pk), actor="carrier:dhl"
    )
    wait_until(status_is(ReturnRequest.S.COMPLETED), timeout=TIMEOUT, what="the refund")
    refund = ReturnRefund.objects.get(return_request=return_request)
    assert (refund.amount_minor, refund.status) == (12_900, "issued")
    [order_refund] = Refund.objects.filter(order=order)
    assert order_refund.amount_minor == 12_900
    key = ReturnRequest.objects.get(pk=return_request.pk).process_instance_key
    wait_until(
        fresh(lambda: port.instance(key).state == "COMPLETED"),
        timeout=TIMEOUT,
        what="the instance to complete",
    )
