"""Vendor and carrier webhooks: signatures, storage first, duplicates, retries, order."""

from __future__ import annotations

import json
import time

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.models import WebhookEvent
from core.webhooks import SIGNATURE_HEADER, retry_webhook_events, sign, signature_valid
from processes import port
from vendors.models import PayoutHold, VendorSubOrder

from .helpers import place_paid_order, post_signed

S = VendorSubOrder.S


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def order(deployed, market):
    return place_paid_order(deployed)


@pytest.fixture(autouse=True)
def carrier_secrets(settings):
    settings.CARRIER_WEBHOOK_SECRETS = {"dhl": "dhl-secret", "ups": "ups-secret"}


def vendor_url(vendor):
    return f"/api/webhooks/vendors/{vendor.handle}/"


def acme_sub(order, market):
    return order.sub_orders.get(vendor=market.acme)


def event(sub_order, type_, event_id="evt-1", **extra):
    return {"id": event_id, "type": type_, "sub_order": sub_order.number, **extra}


def test_signature_roundtrip_tolerance_and_rotation():
    body = b'{"a": 1}'
    header = sign(body, "s3cret")

    assert signature_valid(header, body, "s3cret")
    assert not signature_valid(header, body + b" ", "s3cret")
    assert not signature_valid(header, body, "other")
    old = sign(body, "s3cret", int(time.time()) - 301)
    assert not signature_valid(old, body, "s3cret")
    rotated = header + ",v1=" + "0" * 64
    assert signature_valid(rotated, body, "s3cret")
    assert not signature_valid("garbage", body, "s3cret")


def test_vendor_accepted_is_stored_and_acted_on(client, order, market, deployed):
    acme = acme_sub(order, market)

    response = post_signed(
        client, vendor_url(market.acme), event(acme, "accepted"), market.acme.callback_secret
    )

    assert response.status_code == 200, response.data
    assert response.data["status"] == "processed"
    acme.refresh_from_db()
    assert acme.status == S.ACCEPTED
    stored = WebhookEvent.objects.get(source="vendor:acme-audio", event_id="evt-1")
    assert stored.status == WebhookEvent.S.PROCESSED
    assert stored.attempts == 1
    deployed.instance(order.process_instance_key).is_waiting_at(
        "Gateway_shipped_or_cancelled", exactly=False
    )


def test_duplicate_event_is_200_and_does_nothing(client, order, market):
    acme = acme_sub(order, market)
    body = event(acme, "shipped", carrier="DHL", tracking_number="T-1")
    secret = market.acme.callback_secret

    first = post_signed(client, vendor_url(market.acme), body, secret)
    again = post_signed(client, vendor_url(market.acme), body, secret)

    assert first.status_code == again.status_code == 200
    assert again.data["status"] == "duplicate"
    assert WebhookEvent.objects.count() == 1
    assert acme.history.filter(event="vendor_shipped").count() == 1


@pytest.mark.parametrize("how", ["missing", "wrong-secret", "expired", "tampered"])
def test_bad_signatures_are_401_and_nothing_is_stored(client, order, market, how):
    acme = acme_sub(order, market)
    body = json.dumps(event(acme, "accepted")).encode()
    headers = {
        "missing": {},
        "wrong-secret": {SIGNATURE_HEADER: sign(body, market.bolt.callback_secret)},
        "expired": {SIGNATURE_HEADER: sign(body, market.acme.callback_secret, 1_000_000)},
        "tampered": {SIGNATURE_HEADER: sign(body + b" ", market.acme.callback_secret)},
    }[how]

    response = client.generic(
        "POST", vendor_url(market.acme), body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_unknown_vendor_is_404(client, db):
    response = client.post("/api/webhooks/vendors/ghost/", {}, format="json")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        ({"type": "accepted", "sub_order": "X"}, "id"),
        ({"id": "e", "type": "exploded", "sub_order": "X"}, "type"),
        ({"id": "e", "type": "accepted"}, "sub_order"),
        ({"id": "e", "type": "shipped", "sub_order": "X", "tracking_number": "T"}, "carrier"),
        ({"id": "e", "type": "shipped", "sub_order": "X", "carrier": "DHL"}, "tracking_number"),
        ({"id": "e", "type": "rejected", "sub_order": "X"}, "reason"),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(client, market, db, body, field):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = post_signed(
        client, vendor_url(market.acme), None, market.acme.callback_secret, raw=raw
    )

    assert response.status_code == 400
    assert field in response.data, response.data
    assert not WebhookEvent.objects.exists()


def test_a_vendor_cannot_answer_for_another_vendors_sub_order(client, order, market):
    bolt_sub = order.sub_orders.get(vendor=market.bolt)

    response = post_signed(
        client, vendor_url(market.acme), event(bolt_sub, "accepted"), market.acme.callback_secret
    )

    assert response.status_code == 400
    assert "sub_order" in response.data
    bolt_sub.refresh_from_db()
    assert bolt_sub.status == S.REQUESTED


def test_rule_refusal_is_409_and_not_retried(client, order, market):
    acme = acme_sub(order, market)
    secret = market.acme.callback_secret
    post_signed(
        client,
        vendor_url(market.acme),
        event(acme, "shipped", "e1", carrier="DHL", tracking_number="T"),
        secret,
    )

    response = post_signed(
        client, vendor_url(market.acme), event(acme, "rejected", "e2", reason="oops"), secret
    )

    assert response.status_code == 409
    stored = WebhookEvent.objects.get(event_id="e2")
    assert stored.status == WebhookEvent.S.PROCESSED
    assert "shipped" in stored.last_error
    assert retry_webhook_events(older_than_seconds=0) == {
        "processed": 0,
        "failed": 0,
        "refused": 0,
        "waiting": 0,
    }


def test_engine_failure_keeps_the_event_failed_and_the_retry_acts_later(
    client, order, market, monkeypatch
):
    acme = acme_sub(order, market)

    def engine_down(*args, **kwargs):
        raise ConnectionError("engine unavailable")

    monkeypatch.setattr(port, "publish_message", engine_down)
    response = post_signed(
        client, vendor_url(market.acme), event(acme, "accepted"), market.acme.callback_secret
    )

    assert response.status_code == 202
    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.S.FAILED
    assert "engine unavailable" in stored.last_error
    acme.refresh_from_db()
    assert acme.status == S.REQUESTED  # the change rolled back with the failed publish

    monkeypatch.undo()
    call_command("retry_webhook_events", "--older-than", "0")

    stored.refresh_from_db()
    assert stored.status == WebhookEvent.S.PROCESSED
    assert stored.attempts == 2
    acme.refresh_from_db()
    assert acme.status == S.ACCEPTED


def test_out_of_order_shipped_before_accepted_then_delivered(client, order, market, deployed):
    acme = acme_sub(order, market)
    secret = market.acme.callback_secret
    url = vendor_url(market.acme)

    shipped = event(acme, "shipped", "e-ship", carrier="DHL", tracking_number="JD0001")
    assert post_signed(client, url, shipped, secret).status_code == 200
    assert post_signed(client, url, event(acme, "accepted", "e-acc"), secret).status_code == 200
    delivered = {"id": "dhl-1", "type": "delivered", "tracking_number": "JD0001"}
    in_transit = {"id": "dhl-0", "type": "in_transit", "tracking_number": "JD0001"}
    assert (
        post_signed(client, "/api/webhooks/carriers/dhl/", in_transit, "dhl-secret").status_code
        == 200
    )
    assert (
        post_signed(client, "/api/webhooks/carriers/dhl/", delivered, "dhl-secret").status_code
        == 200
    )
    deployed.run_handlers()

    acme.refresh_from_db()
    assert acme.status == S.COMPLETED
    assert PayoutHold.objects.get(sub_order=acme).status == PayoutHold.S.RELEASED
    assert acme.history.filter(event="carrier_in_transit").exists()


def test_carrier_webhook_errors(client, order, market):
    body = {"id": "x", "type": "delivered", "tracking_number": "NOPE"}

    assert post_signed(client, "/api/webhooks/carriers/fedex/", body, "x").status_code == 404
    assert post_signed(client, "/api/webhooks/carriers/dhl/", body, "ups-secret").status_code == 401
    # A tracking number nobody shipped with (yet): kept and retried, never lost.
    unknown = post_signed(client, "/api/webhooks/carriers/dhl/", body, "dhl-secret")
    assert unknown.status_code == 202
    assert unknown.data["status"] == "waiting" and "NOPE" in unknown.data["detail"]
    bad = post_signed(
        client, "/api/webhooks/carriers/dhl/", {"id": "y", "type": "lost"}, "dhl-secret"
    )
    assert bad.status_code == 400
    assert "type" in bad.data


def test_carrier_secrets_are_read_from_the_environment_once_by_settings(settings, monkeypatch):
    from config.settings import env_secrets
    from vendors.webhooks import carrier_secret

    monkeypatch.setenv("CARRIER_WEBHOOK_SECRETS", "dhl=abc, ups = def,broken")
    settings.CARRIER_WEBHOOK_SECRETS = env_secrets("CARRIER_WEBHOOK_SECRETS")
    assert settings.CARRIER_WEBHOOK_SECRETS == {"dhl": "abc", "ups": "def"}
    assert carrier_secret("DHL") == "abc"
    assert carrier_secret("ups") == "def"
    assert carrier_secret("fedex") is None
    monkeypatch.setenv("CARRIER_WEBHOOK_SECRETS", "")
    settings.CARRIER_WEBHOOK_SECRETS = env_secrets("CARRIER_WEBHOOK_SECRETS")
    settings.DEBUG = False
    assert carrier_secret("dhl") is None
    settings.DEBUG = True
    assert carrier_secret("dhl") == "dev-carrier-secret"


def test_a_repeat_of_a_failed_event_acts_on_it_as_the_return_webhook_does(
    client, order, market, monkeypatch
):
    acme = acme_sub(order, market)
    secret = market.acme.callback_secret

    def engine_down(*args, **kwargs):
        raise ConnectionError("engine unavailable")

    monkeypatch.setattr(port, "publish_message", engine_down)
    first = post_signed(client, vendor_url(market.acme), event(acme, "accepted"), secret)
    monkeypatch.undo()
    again = post_signed(client, vendor_url(market.acme), event(acme, "accepted"), secret)
    third = post_signed(client, vendor_url(market.acme), event(acme, "accepted"), secret)

    assert (first.status_code, first.data["status"]) == (202, "stored, will retry")
    assert (again.status_code, again.data["status"]) == (200, "processed")
    assert third.data["status"] == "duplicate"
    assert WebhookEvent.objects.get().attempts == 2
    acme.refresh_from_db()
    assert acme.status == S.ACCEPTED
