"""A marketplace simulator: places orders now and then and plays the vendors and carriers.

Vendors and carriers answer through the same signed webhooks real ones use (in-process with
Django's test client, or over HTTP to a running server when ``SIMULATOR_BASE_URL`` is set):
most vendors accept and ship, some answer late (after their SLA, so support gets a task), some
reject; now and then a customer asks to return a delivered item. It does not record return
parcels arriving (the warehouse does that at the parcel desk), review, inspect or approve: the
staff queues are left to people. It is off when ``SIMULATOR=off`` (setting or environment) and
only runs when started: ``start_simulator()`` (called by the dev server) or ``manage.py
simulate``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from core import clock
from core.errors import ApplicationError
from core.webhooks import SIGNATURE_HEADER, retry_webhook_events, sign
from vendors.models import Product, SubOrderStatus, Vendor, VendorSubOrder
from vendors.webhooks import carrier_secret

from . import services
from .models import Customer

logger = logging.getLogger(__name__)

CARRIERS = ("dhl", "ups", "dpd")
TOKENS = ["tok_visa"] * 8 + ["tok_retry", "tok_chargeDeclined"]


def simulator_enabled() -> bool:
    value = getattr(settings, "SIMULATOR", None) or os.environ.get("SIMULATOR", "on")
    return str(value).strip().lower() not in {"off", "0", "false", "no"}


@dataclass
class SimulatorConfig:
    """How busy and how well-behaved the simulated marketplace is."""

    order_probability: float = 0.3  # per tick
    reject_probability: float = 0.1
    late_probability: float = 0.1  # answers only after the vendor's SLA
    return_probability: float = 0.08  # per tick: a customer asks to return a delivered item
    answer_delay_seconds: tuple[int, int] = (5, 60)
    ship_delay_seconds: tuple[int, int] = (10, 120)
    deliver_delay_seconds: tuple[int, int] = (20, 240)
    seed: int | None = None
    base_url: str = ""


@dataclass
class Simulator:
    """One step at a time (``tick``); ``run`` loops until stopped."""

    config: SimulatorConfig = field(default_factory=SimulatorConfig)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.random = random.Random(self.config.seed)
        self._event_counter = 0
        self._client: Any = None

    # ------------------------------------------------------------------ transport
    def _post(self, path: str, body: dict[str, Any], secret: str) -> int:
        raw = json.dumps(body).encode()
        return self._post_raw(path, raw, sign(raw, secret))

    def _post_raw(self, path: str, raw: bytes, signature: str) -> int:
        headers = {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
        if self.config.base_url:
            import requests

            response = requests.post(
                self.config.base_url.rstrip("/") + path, data=raw, headers=headers, timeout=10
            )
            return int(response.status_code)
        if self._client is None:
            from django.test import Client

            self._client = Client()
        response = self._client.generic(
            "POST", path, raw, content_type="application/json", headers=headers
        )
        return int(response.status_code)

    def _event_id(self, prefix: str) -> str:
        self._event_counter += 1
        return f"sim-{prefix}-{int(time.time() * 1000)}-{self._event_counter}"

    def _due(self, since: Any, bounds: tuple[int, int], key: str) -> bool:
        # A per-sub-order delay that stays the same across ticks (seeded by the sub-order).
        low, high = bounds
        delay = random.Random(f"{self.config.seed}:{key}").randint(low, high)
        return since is not None and timezone.now() >= since + dt.timedelta(seconds=delay)

    def _fate(self, sub_order: VendorSubOrder) -> str:
        roll = random.Random(f"{self.config.seed}:fate:{sub_order.number}").random()
        if roll < self.config.reject_probability:
            return "reject"
        if roll < self.config.reject_probability + self.config.late_probability:
            return "late"
        return "accept"

    # ------------------------------------------------------------------ actors
    def place_order(self) -> Any:
        """A random order over one to three vendors (staff-entered, as the API would)."""
        vendors = list(Vendor.objects.filter(is_active=True))
        customers = list(Customer.objects.all())
        if not vendors or not customers:
            return None
        lines = []
        for vendor in self.random.sample(vendors, k=min(len(vendors), self.random.randint(1, 3))):
            products = list(
                Product.objects.filter(vendor=vendor, is_active=True, stock__on_hand__gt=5)
            )
            if products:
                product = self.random.choice(products)
                lines.append(services.LineInput(vendor.handle, product.sku, 1))
        if not lines:
            return None
        customer = self.random.choice(customers)
        currency = Product.objects.get(vendor__handle=lines[0].vendor_handle, sku=lines[0].sku)
        try:
            return services.order_place(
                customer=services.CustomerInput(customer.email, customer.name, customer.country),
                currency=currency.currency,
                lines=lines,
                payment_method=self.random.choice(TOKENS),
                shipping_minor=self.random.choice([0, 495, 995]),
            )
        except ApplicationError as error:
            logger.info("Simulator order refused: %s", error.message)
            return None

    def play_vendors(self) -> int:
        """Answer, ship: each sub-order at its own pace; returns how many webhooks were sent."""
        sent = 0
        waiting = VendorSubOrder.objects.filter(
            status__in=[SubOrderStatus.REQUESTED, SubOrderStatus.ACCEPTED]
        ).select_related("vendor")
        for sub_order in waiting[:100]:
            if sub_order.status == SubOrderStatus.ACCEPTED and hasattr(
                sub_order, "international_shipment"
            ):
                continue  # a cross-border part ships once customs clears it

            path = f"/api/webhooks/vendors/{sub_order.vendor.handle}/"
            secret = sub_order.vendor.callback_secret
            if sub_order.status == SubOrderStatus.REQUESTED:
                fate = self._fate(sub_order)
                if fate == "late":
                    due = sub_order.sla_due_at and clock.now() >= sub_order.sla_due_at
                    if not due:
                        continue
                elif not self._due(
                    sub_order.requested_at, self.config.answer_delay_seconds, sub_order.number
                ):
                    continue
                body = {"id": self._event_id("answer"), "sub_order": sub_order.number}
                if fate == "reject":
                    body.update(type="rejected", reason="Out of stock at the vendor")
                else:
                    body["type"] = "accepted"
                self._post(path, body, secret)
                sent += 1
            elif self._due(
                sub_order.accepted_at, self.config.ship_delay_seconds, f"ship:{sub_order.number}"
            ):
                carrier = self.random.choice(CARRIERS)
                body = {
                    "id": self._event_id("ship"),
                    "type": "shipped",
                    "sub_order": sub_order.number,
                    "carrier": carrier,
                    "tracking_number": f"{carrier.upper()}{self.random.randint(10**9, 10**10)}",
                }
                self._post(path, body, secret)
                sent += 1
        return sent

    def play_carriers(self) -> int:
        sent = 0
        shipped = VendorSubOrder.objects.filter(
            status=SubOrderStatus.SHIPPED, international_shipment__isnull=True
        )
        for sub_order in shipped[:100]:
            if not self._due(
                sub_order.shipped_at,
                self.config.deliver_delay_seconds,
                f"deliver:{sub_order.number}",
            ):
                continue
            secret = carrier_secret(sub_order.carrier)
            if secret is None:
                continue
            body = {
                "id": self._event_id("delivered"),
                "type": "delivered",
                "tracking_number": sub_order.tracking_number,
            }
            self._post(f"/api/webhooks/carriers/{sub_order.carrier.lower()}/", body, secret)
            sent += 1
        return sent

    def file_return(self) -> Any:
        """A customer returns one unit of a delivered item (the parcel itself is left for the
        warehouse to record at the parcel desk)."""
        from returns.actions import returnable_lines
        from returns.models import ReturnReason
        from returns.services import ReturnLineInput, return_request_create

        from .models import Order

        candidates = list(
            Order.objects.filter(
                sub_orders__status__in=[SubOrderStatus.DELIVERED, SubOrderStatus.COMPLETED],
                returns__isnull=True,
            )
            .distinct()
            .order_by("-created_at")[:20]
        )
        self.random.shuffle(candidates)
        for order in candidates:
            lines = returnable_lines(order)
            if not lines:
                continue
            item = self.random.choice(lines)
            try:
                created, _ = return_request_create(
                    order=order,
                    lines=[ReturnLineInput(item.line.sku, 1)],
                    reason=self.random.choice(ReturnReason.values),
                    user=None,
                    comment="Filed by the demo simulator.",
                )
            except ApplicationError as error:
                logger.info("Simulator return refused: %s", error.message)
                continue
            return created
        return None

    # ------------------------------------------------------------------ loop
    def tick(self) -> dict[str, int]:
        placed = 0
        if self.random.random() < self.config.order_probability and self.place_order():
            placed = 1
        filed = 0
        if self.random.random() < self.config.return_probability and self.file_return():
            filed = 1
        counts = {
            "orders": placed,
            "returns": filed,
            "vendor_webhooks": self.play_vendors(),
            "carrier_webhooks": self.play_carriers(),
        }
        from .customs import simulator as customs_simulator

        def post_raw(path: str, raw: bytes, signature: str) -> int:
            return self._post_raw(path, raw, signature)

        counts["customs_webhooks"] = customs_simulator.play_broker(post_raw)
        counts["customs_webhooks"] += customs_simulator.play_carriers(post_raw)
        counts["retried"] = retry_webhook_events()["processed"]
        return counts

    def run(self, *, interval_seconds: float = 5.0, ticks: int | None = None) -> None:
        done = 0
        while not self.stop_event.is_set() and (ticks is None or done < ticks):
            try:
                self.tick()
            except Exception:  # keep playing: one bad tick must not stop the simulation
                logger.exception("Simulator tick failed")
            finally:
                from django.db import close_old_connections

                close_old_connections()
            done += 1
            self.stop_event.wait(interval_seconds)


_running: Simulator | None = None
_lock = threading.Lock()


def start_simulator(
    config: SimulatorConfig | None = None, *, interval_seconds: float = 5.0
) -> Simulator | None:
    """Start the simulator in a daemon thread (once); None when ``SIMULATOR=off``."""
    global _running
    if not simulator_enabled():
        logger.info("Simulator is off (SIMULATOR=off)")
        return None
    with _lock:
        if _running is not None:
            return _running
        config = config or SimulatorConfig(base_url=os.environ.get("SIMULATOR_BASE_URL", ""))
        _running = Simulator(config)
        thread = threading.Thread(
            target=_running.run,
            kwargs={"interval_seconds": interval_seconds},
            name="marketplace-simulator",
            daemon=True,
        )
        thread.start()
        return _running


def stop_simulator() -> None:
    global _running
    with _lock:
        if _running is not None:
            _running.stop_event.set()
            _running = None
