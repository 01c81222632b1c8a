"""One clock for business time: the return window and delivery dates follow the engine clock
(``PUT /v2/clock`` in tests and demos), as the processes' timers do."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from core import clock
from core.errors import ApplicationError
from returns import services
from vendors import services as vendor_services
from vendors.models import VendorSubOrder

from .conftest import delivered_order

ROOT = Path(__file__).resolve().parents[2]


def test_the_business_clock_is_the_engine_clock(deployed):
    at = dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC)
    deployed.set_time(at)

    assert clock.now() == at


def test_the_return_window_is_measured_on_the_engine_clock(deployed, shop, customer):
    order = delivered_order(customer=customer, items=[(shop.cable, 1)], delivered_days_ago=0)
    deployed.set_time(clock.now() + dt.timedelta(days=31))

    with pytest.raises(ApplicationError) as refused:
        services.return_request_create(
            order=order,
            lines=[services.ReturnLineInput("AA-CBL-3", 1)],
            reason="damaged",
            user=customer.user,
        )

    assert "return window has passed" in refused.value.message


def test_a_return_requested_in_the_window_is_dated_on_the_engine_clock(deployed, shop, customer):
    order = delivered_order(customer=customer, items=[(shop.cable, 1)], delivered_days_ago=20)
    at = clock.now() + dt.timedelta(days=5)
    deployed.set_time(at)

    return_request, created = services.return_request_create(
        order=order,
        lines=[services.ReturnLineInput("AA-CBL-3", 1)],
        reason="damaged",
        user=customer.user,
    )

    assert created and return_request.created_at == at
    # The process re-checks the window at the request's (business) time: still eligible.
    assert services.return_eligibility_check(return_id=return_request.pk) == (True, "")


def test_delivery_is_dated_on_the_engine_clock(deployed, shop, customer):
    order = delivered_order(customer=customer, items=[(shop.cable, 1)])
    sub_order = order.sub_orders.get()
    VendorSubOrder.objects.filter(pk=sub_order.pk).update(
        status=VendorSubOrder.S.SHIPPED, delivered_at=None, carrier="dhl", tracking_number="K1"
    )
    from orders.models import Order

    Order.objects.filter(pk=order.pk).update(status=Order.S.PAID)
    at = dt.datetime(2031, 1, 2, 3, 4, tzinfo=dt.UTC)
    deployed.set_time(at)

    vendor_services.sub_order_deliver(sub_order=sub_order)

    assert VendorSubOrder.objects.get(pk=sub_order.pk).delivered_at == at


RULE_MODULES = ("vendors/services.py", "returns/services.py", "orders/services.py")
# Wall-clock reads allowed in rule modules: reference numbers carry the calendar date.
ALLOWED = {"_new_number", "_new_order_number"}


def wall_clock_reads(source: str) -> list[str]:
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef) or function.name in ALLOWED:
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "now"
                and isinstance(node.value, ast.Name)
                and node.value.id in ("timezone", "datetime")
            ):
                found.append(f"{function.name}:{node.lineno}")
    return found


def test_the_scan_finds_a_wall_clock_read():
    assert wall_clock_reads("def rule():\n    return timezone.now()\n") == ["rule:2"]


@pytest.mark.parametrize("module", RULE_MODULES)
def test_business_rules_read_the_business_clock(module):
    assert wall_clock_reads((ROOT / module).read_text()) == [], "use core.clock.now()"
