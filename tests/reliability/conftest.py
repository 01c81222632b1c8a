"""Fault-injection fixtures: the marketplace, money invariants, no stuck instance, a driver
that plays vendors and carriers until every order is final."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from orders.models import Charge, Order, Refund
from processes.models import ElementInstance, Incident, Job
from tests.orders.conftest import clean_sandbox, market, sandbox_payments  # noqa: F401
from vendors import services as vendor_services
from vendors.models import Payout, VendorSubOrder

S = VendorSubOrder.S
FINAL_ORDER = {Order.S.COMPLETED, Order.S.CANCELLED}


def assert_money_invariants(orders: list[Order]) -> None:
    """Per order: captured = payouts + commission + shipping kept + refunds, each sub-order
    paid out at most once and refunded at most once."""
    for order in orders:
        order.refresh_from_db()
        charge = Charge.objects.filter(order=order).first()
        captured = charge.amount_minor if charge is not None else 0
        refunds = Refund.objects.filter(order=order)
        refunded = sum(refunds.values_list("amount_minor", flat=True))
        paid = kept = 0
        for sub_order in order.sub_orders.all():
            assert Payout.objects.filter(sub_order=sub_order).count() <= 1, sub_order
            assert refunds.filter(sub_order=sub_order).count() <= 1, sub_order
            payout = Payout.objects.filter(sub_order=sub_order).first()
            if payout is not None:
                paid += payout.amount_minor
                kept += sub_order.commission_minor + sub_order.shipping_minor
        assert captured == paid + kept + refunded, (order.number, captured, paid, kept, refunded)


def assert_nothing_stuck(orders: list[Order]) -> None:
    """Every order final, its process instance ended, no incident, no job left behind."""
    keys = [order.process_instance_key for order in orders]
    for order in orders:
        order.refresh_from_db()
        assert order.status in FINAL_ORDER, (order.number, order.status)
    active = ElementInstance.objects.filter(key__in=keys, state=ElementInstance.ACTIVE)
    assert not active.exists(), list(active.values_list("key", flat=True))
    assert not Incident.objects.filter(process_instance_key__in=keys).exists()
    assert not Job.objects.filter(
        process_instance_key__in=keys, state__in=[Job.ACTIVATABLE, Job.ACTIVATED]
    ).exists()


def play_vendors_and_carriers(orders: list[Order]) -> int:
    """One pass: accept pending sub-orders, ship accepted ones, deliver shipped ones.

    Returns how many actions were taken; refusals (a step the process is not ready for yet) and
    lost connections are left for the next pass.
    """
    from django.db import connection

    done = 0
    for sub_order in VendorSubOrder.objects.filter(order__in=orders).order_by("pk"):
        try:
            if sub_order.status in (S.PENDING, S.REQUESTED):
                vendor_services.sub_order_accept(sub_order=sub_order, actor="vendor")
            elif sub_order.status == S.ACCEPTED:
                vendor_services.sub_order_ship(
                    sub_order=sub_order, carrier="DHL", tracking_number=f"TRK-{sub_order.pk}"
                )
            elif sub_order.status == S.SHIPPED:
                vendor_services.sub_order_deliver(sub_order=sub_order, actor="carrier:dhl")
            else:
                continue
            done += 1
        except Exception:  # the process was not ready, or the connection was cut: next pass
            connection.close()
    return done


def drive_until_final(
    orders: list[Order],
    *,
    timeout: float,
    tick: Callable[[], object] | None = None,
    tolerate_timeout: bool = False,
) -> None:
    """Play vendors and carriers (and ``tick``) until every order is final.

    With ``tolerate_timeout`` (while faults are injected) lost connections and an unfinished
    run at the deadline are not failures.
    """
    from django.db import DatabaseError, connection

    deadline = time.monotonic() + timeout
    statuses: set[str] = set()
    while time.monotonic() < deadline:
        try:
            if tick is not None:
                tick()
            play_vendors_and_carriers(orders)
            pks = [o.pk for o in orders]
            statuses = set(Order.objects.filter(pk__in=pks).values_list("status", flat=True))
        except DatabaseError:
            if not tolerate_timeout:
                raise
            connection.close()
            continue
        if statuses <= FINAL_ORDER:
            return
        time.sleep(0.2)
    if not tolerate_timeout:
        keys = [o.process_instance_key for o in orders]
        open_jobs = list(
            Job.objects.filter(
                process_instance_key__in=keys, state__in=[Job.ACTIVATABLE, Job.ACTIVATED]
            ).values_list("type", "state", "retries", "deadline")
        )
        incidents = list(
            Incident.objects.filter(process_instance_key__in=keys).values_list("error_message")
        )
        sub_orders = list(
            VendorSubOrder.objects.filter(order__in=orders).values_list("status", flat=True)
        )
        waiting = list(
            ElementInstance.objects.filter(
                process_instance_key__in=keys, state=ElementInstance.ACTIVE
            )
            .exclude(element_type="PROCESS")
            .values_list("element_id", "element_type")
        )
        pytest.fail(
            f"orders not final after {timeout} s: {statuses}; jobs {open_jobs}; "
            f"incidents {incidents}; sub-orders {sub_orders}; waiting at {waiting}"
        )
