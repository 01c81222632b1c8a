"""Events of one shipment arrive in any order and are never lost.

- A carrier's ``delivered`` before the vendor's ``shipped`` is kept (202 waiting) and applied
  when the shipment is recorded (at once, and by the sweep).
- A resend of an event that waited for its precondition is acted on again.
- An event arriving while an earlier event of the same shipment is still FAILED waits for it,
  and the sweep applies both in arrival order.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.models import WebhookEvent
from core.webhooks import retry_webhook_events
from tests.orders import conftest as marketplace
from tests.vendors.helpers import place_paid_order, post_signed
from vendors import services, webhooks
from vendors.models import SubOrderEvent, VendorSubOrder

# The marketplace fixtures (vendors, products, the deployed order process, sandbox payments).
clean_sandbox = marketplace.clean_sandbox
sandbox_payments = marketplace.sandbox_payments
market = marketplace.market
deployed = marketplace.deployed
process = marketplace.process

S = VendorSubOrder.S
CARRIER_URL = "/api/webhooks/carriers/dhl/"


@pytest.fixture(autouse=True)
def carrier_secrets(settings):
    settings.CARRIER_WEBHOOK_SECRETS = {"dhl": "dhl-secret"}


@pytest.fixture
def acme(deployed, market):
    order = place_paid_order(deployed)
    return order.sub_orders.get(vendor=market.acme)


def carrier(event_id: str, type_: str, tracking: str = "T-1"):
    body = {"id": event_id, "type": type_, "tracking_number": tracking}
    return post_signed(APIClient(), CARRIER_URL, body, "dhl-secret")


def vendor_shipped(acme, market, event_id: str = "v-1", tracking: str = "T-1"):
    body = {"id": event_id, "type": "shipped", "sub_order": acme.number}
    body |= {"carrier": "DHL", "tracking_number": tracking}
    url = f"/api/webhooks/vendors/{market.acme.handle}/"
    return post_signed(APIClient(), url, body, market.acme.callback_secret)


def status_of(sub_order) -> str:
    return VendorSubOrder.objects.get(pk=sub_order.pk).status


def test_delivered_before_shipped_waits_and_is_applied_when_the_shipment_arrives(
    acme, market, django_capture_on_commit_callbacks
):
    early = carrier("c-1", "delivered")

    assert early.status_code == 202 and early.data["status"] == "waiting"
    stored = WebhookEvent.objects.get(event_id="c-1")
    assert stored.status == WebhookEvent.S.FAILED and "T-1" in stored.last_error
    with django_capture_on_commit_callbacks(execute=True):
        assert vendor_shipped(acme, market).status_code == 200

    assert status_of(acme) == S.DELIVERED
    assert WebhookEvent.objects.get(event_id="c-1").status == WebhookEvent.S.PROCESSED


def test_the_sweep_applies_a_waiting_delivery_once_the_shipment_is_known(acme, market):
    carrier("c-1", "delivered")
    # Shipped through the portal or API (no act-on-arrival callback run in this test).
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="T-1")

    counts = retry_webhook_events(older_than_seconds=0)

    assert counts["processed"] == 1 and status_of(acme) == S.DELIVERED


def test_a_resend_of_a_waiting_event_is_acted_on_again(acme, market):
    assert carrier("c-1", "delivered").status_code == 202
    assert carrier("c-1", "delivered").status_code == 202  # still nothing shipped
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="T-1")

    resend = carrier("c-1", "delivered")

    assert resend.status_code == 200 and resend.data["status"] == "processed"
    assert status_of(acme) == S.DELIVERED


def test_an_event_waits_while_an_earlier_event_of_its_shipment_is_failed(acme, market, monkeypatch):
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="T-1")
    real_record = webhooks.order_side

    class Down:
        def record(self, **kwargs):
            raise ConnectionError("database went away")

    monkeypatch.setattr(webhooks, "order_side", lambda: Down())
    assert carrier("c-1", "in_transit").status_code == 202
    monkeypatch.setattr(webhooks, "order_side", real_record)

    later = carrier("c-2", "delivered")

    assert later.status_code == 202 and later.data["status"] == "waiting"
    assert "c-1" in later.data["detail"]
    assert status_of(acme) == S.SHIPPED
    waiting = WebhookEvent.objects.get(event_id="c-2")
    assert waiting.status == WebhookEvent.S.FAILED and waiting.attempts == 0

    counts = retry_webhook_events(older_than_seconds=0)

    assert counts["processed"] == 2 and status_of(acme) == S.DELIVERED
    events = list(
        acme.history.filter(
            event__in=[SubOrderEvent.CARRIER_IN_TRANSIT, SubOrderEvent.PACKAGE_DELIVERED]
        ).values_list("event", flat=True)
    )
    assert events == [SubOrderEvent.CARRIER_IN_TRANSIT, SubOrderEvent.PACKAGE_DELIVERED]


def test_events_of_other_shipments_do_not_wait(acme, market, monkeypatch):
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="T-1")
    real = webhooks.order_side

    class Down:
        def record(self, **kwargs):
            raise ConnectionError("database went away")

    monkeypatch.setattr(webhooks, "order_side", lambda: Down())
    carrier("c-1", "in_transit", tracking="OTHER")
    monkeypatch.setattr(webhooks, "order_side", real)

    assert carrier("c-2", "delivered").status_code == 200
    assert status_of(acme) == S.DELIVERED
