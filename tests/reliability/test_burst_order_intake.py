"""A bounded burst of concurrent order intakes against PostgreSQL: every one succeeds.

20 threads place 200 orders through ``POST /api/orders`` (each thread its own connection). Before
the fix about one in ten failed with django-fsm's "Direct status modification is not allowed"
(a thread-shared protection flag flipped by ``refresh_from_db``). Then in-process handler threads
capture the payments and hold the payouts: each order is charged once, its total.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import F, Sum
from rest_framework.test import APIClient

from orders.models import Charge, Order
from processes.models import ElementInstance
from processes.workers import WorkerPool
from tests.factories import make_staff
from tests.orders import conftest as marketplace
from tests.orders.test_api_orders import URL, payload
from vendors.models import PayoutHold, StockItem, VendorSubOrder

# The marketplace fixtures (vendors, products, the deployed order process, sandbox payments).
clean_sandbox = marketplace.clean_sandbox
sandbox_payments = marketplace.sandbox_payments
market = marketplace.market
deployed = marketplace.deployed

ORDERS = 200
THREADS = 20

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_200_concurrent_intakes_from_20_threads_all_succeed(deployed, market):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    StockItem.objects.update(on_hand=10 * ORDERS)
    user = make_staff("sam")
    start = threading.Barrier(THREADS)
    local = threading.local()

    def place(index: int) -> tuple[int, str]:
        if not hasattr(local, "client"):
            local.client = APIClient()
            local.client.force_authenticate(user)
            start.wait()
        email = f"burst-{index}@example.com"
        body = payload(customer={"email": email, "name": f"Buyer {index}", "country": "DE"})
        response = local.client.post(URL, body, format="json")
        return response.status_code, response.content.decode()[:300]

    def run(indexes: range) -> list[tuple[int, str]]:
        try:
            return [place(index) for index in indexes]
        finally:
            connection.close()

    per_thread = ORDERS // THREADS
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        chunks = pool.map(
            run, [range(t * per_thread, (t + 1) * per_thread) for t in range(THREADS)]
        )
        answers = [answer for chunk in chunks for answer in chunk]

    failures = [body for status, body in answers if status != 201]
    assert Counter(status for status, _ in answers) == {201: ORDERS}, failures[:3]
    orders = Order.objects.all()
    assert orders.count() == ORDERS
    assert orders.filter(process_instance_key__isnull=True).count() == 0
    keys = list(orders.values_list("process_instance_key", flat=True))
    assert ElementInstance.objects.filter(key__in=keys, element_type="PROCESS").count() == ORDERS
    # Money: every order's sub-orders add up to its total, nothing is charged twice.
    totals = orders.aggregate(total=Sum("total_minor"))["total"]
    parts = VendorSubOrder.objects.aggregate(
        subtotal=Sum("subtotal_minor"), shipping=Sum("shipping_minor")
    )
    assert parts["subtotal"] + parts["shipping"] == totals
    assert VendorSubOrder.objects.count() == 2 * ORDERS

    # Real handler threads take the burst on: every order charged exactly once, its total.
    with WorkerPool(threads=4, interval=0.2):
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and (
            Charge.objects.count() < ORDERS or PayoutHold.objects.count() < 2 * ORDERS
        ):
            time.sleep(0.5)
    charges = Charge.objects.filter(status=Charge.S.CAPTURED)
    assert charges.count() == ORDERS
    assert charges.aggregate(total=Sum("amount_minor"))["total"] == totals
    assert not Charge.objects.exclude(amount_minor=F("order__total_minor")).exists()
    assert Order.objects.filter(status=Order.S.PAID).count() == ORDERS
    # One hold per vendor part, of its payout.
    assert PayoutHold.objects.count() == 2 * ORDERS
    assert not PayoutHold.objects.exclude(amount_minor=F("sub_order__payout_minor")).exists()
