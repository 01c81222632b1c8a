"""The customs-update and international carrier webhooks: signature, body, sender, duplicates."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from core.models import WebhookEvent

from .conftest import BROKER_SECRET, customs_update, place, post_signed, tracking_event

pytestmark = pytest.mark.django_db
URL = "webhook-customs"


@pytest.fixture
def shipment(deployed, shop):
    _order, shipment = place(deployed, shop, country="US")
    return shipment


def body(shipment, **extra):
    return {"id": "e1", "type": "customs-update", "shipment": shipment.number,
            "status": "cleared"} | extra  # fmt: skip


def test_unknown_broker_is_404(shipment):
    response = post_signed(Client(), reverse(URL, args=["nobody"]), body(shipment), "x")
    assert response.status_code == 404


@pytest.mark.parametrize("problem", ["wrong secret", "expired", "missing"])
def test_bad_signature_is_401_and_nothing_is_stored(shipment, problem):
    url = reverse(URL, args=["sandbox"])
    if problem == "missing":
        response = Client().post(url, body(shipment), content_type="application/json")
    elif problem == "expired":
        old = int(time.time()) - 3600
        response = post_signed(Client(), url, body(shipment), BROKER_SECRET, timestamp=old)
    else:
        response = post_signed(Client(), url, body(shipment), "not-the-secret")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"status": "held", "reason": ""}, "reason"),
        ({"shipment": "SHP-NOPE"}, "shipment"),
        ({"id": ""}, "id"),
    ],
)
def test_malformed_body_is_400_naming_the_field(shipment, change, field):
    response = post_signed(
        Client(), reverse(URL, args=["sandbox"]), body(shipment) | change, BROKER_SECRET
    )
    assert response.status_code == 400 and field in response.json()


def test_not_json_is_400(shipment):
    from core.webhooks import sign

    raw = b"not json"
    response = Client().post(
        reverse(URL, args=["sandbox"]), raw, content_type="application/json",
        headers={"X-Orderly-Signature": sign(raw, BROKER_SECRET)},
    )  # fmt: skip
    assert response.status_code == 400 and "body" in response.json()


def test_duplicate_is_answered_and_not_acted_on_twice(deployed, shipment):
    client = Client()
    assert customs_update(client, shipment, "held", event_id="d1").json()["status"] == "processed"
    assert customs_update(client, shipment, "held", event_id="d1").json()["status"] == "duplicate"
    assert WebhookEvent.objects.filter(source="customs:sandbox").count() == 1
    assert shipment.events.filter(event="customs_held").count() == 1


def test_engine_failure_keeps_the_event_for_the_retry_sweep(deployed, shipment, monkeypatch):
    from core.webhooks import retry_webhook_events
    from orders.customs import services

    def down(*args, **kwargs):
        raise RuntimeError("engine down")

    monkeypatch.setattr(services, "publish_once", down)
    response = customs_update(Client(), shipment, "cleared", event_id="f1")
    assert response.status_code == 202
    event = WebhookEvent.objects.get(event_id="f1")
    assert event.status == WebhookEvent.S.FAILED
    shipment.refresh_from_db()
    assert shipment.status == "submitted"  # rolled back with the failed publish
    monkeypatch.undo()

    assert retry_webhook_events(older_than_seconds=0)["processed"] == 1
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == "shipped"


def test_carrier_webhook_errors(deployed, shipment):
    client = Client()
    assert (
        post_signed(
            client, reverse("webhook-shipment-tracking", args=["nobody"]), {}, "x"
        ).status_code
        == 404
    )
    shipment.carrier, shipment.tracking_number = "sandbox", "TRK-X"
    response = tracking_event(client, shipment, "delivered", event_id="t1")
    assert response.status_code == 400 and "tracking_number" in response.json()
