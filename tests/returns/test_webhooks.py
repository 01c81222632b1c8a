"""``POST /api/webhooks/returns/<source>/``: signature, storage first, duplicates, refusals."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from core.models import WebhookEvent
from core.webhooks import SIGNATURE_HEADER, sign
from returns.models import ReturnRequest

from .conftest import delivered_order
from .helpers import loyal, request_return

S = ReturnRequest.S


@pytest.fixture(autouse=True)
def secrets(settings):
    settings.RETURN_WEBHOOK_SECRETS = {"warehouse": "wh-secret"}
    settings.CARRIER_WEBHOOK_SECRETS = {"dhl": "dhl-secret"}


@pytest.fixture
def waiting(deployed, shop, customer):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 1)])
    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])
    assert return_request.status == S.AWAITING_ITEM
    return return_request, instance


def post(source: str, payload, secret: str, *, timestamp: int | None = None, raw: bytes = b""):
    data = raw or json.dumps(payload).encode()
    return APIClient().post(
        f"/api/webhooks/returns/{source}/",
        data=data,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(data, secret, timestamp)},
    )


def test_warehouse_reports_the_item_and_the_return_is_refunded(deployed, waiting):
    return_request, instance = waiting

    response = post(
        "warehouse",
        {"id": "wh-1", "type": "item_received", "return_number": return_request.number},
        "wh-secret",
    )
    deployed.run_handlers()

    assert response.status_code == 200 and response.data["status"] == "processed"
    instance.is_completed()
    return_request.refresh_from_db()
    assert return_request.status == S.COMPLETED
    event = WebhookEvent.objects.get(source="return:warehouse", event_id="wh-1")
    assert event.status == WebhookEvent.S.PROCESSED


def test_carrier_scan_by_tracking_number_with_its_carrier_secret(deployed, waiting):
    return_request, instance = waiting
    tracking = return_request.label.tracking_number

    response = post(
        "dhl", {"id": "dhl-9", "type": "item_received", "tracking_number": tracking}, "dhl-secret"
    )
    deployed.run_handlers()

    assert response.status_code == 200
    instance.is_completed()


def test_duplicate_event_answers_200_and_does_nothing_more(deployed, waiting):
    return_request, _ = waiting
    payload = {"id": "wh-2", "type": "item_received", "return_number": return_request.number}
    post("warehouse", payload, "wh-secret")

    again = post("warehouse", payload, "wh-secret")

    assert again.status_code == 200 and again.data["status"] == "duplicate"
    assert WebhookEvent.objects.filter(event_id="wh-2").count() == 1
    assert return_request.history.filter(event="item_received").count() == 1


def test_a_second_scan_with_another_event_id_changes_nothing(deployed, waiting):
    return_request, _ = waiting
    post(
        "warehouse",
        {"id": "a", "type": "item_received", "return_number": return_request.number},
        "wh-secret",
    )
    response = post(
        "dhl",
        {
            "id": "b",
            "type": "item_received",
            "tracking_number": return_request.label.tracking_number,
        },
        "dhl-secret",
    )
    assert response.status_code == 200
    assert return_request.history.filter(event="item_received").count() == 1


def test_unknown_source_is_404(deployed, waiting):
    response = post("ups", {"id": "x", "type": "item_received", "return_number": "R"}, "x")
    assert response.status_code == 404


def test_wrong_signature_is_401_and_nothing_is_stored(deployed, waiting):
    return_request, _ = waiting
    payload = {"id": "wh-3", "type": "item_received", "return_number": return_request.number}
    assert post("warehouse", payload, "not-the-secret").status_code == 401
    stale = int(time.time()) - 3600
    assert post("warehouse", payload, "wh-secret", timestamp=stale).status_code == 401
    response = APIClient().post("/api/webhooks/returns/warehouse/", data=payload, format="json")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "item_received", "return_number": "RET-1"}, "id"),
        ({"id": "1", "type": "lost", "return_number": "RET-1"}, "type"),
        ({"id": "1", "type": "item_received"}, "return_number"),
        ({"id": "1", "type": "item_received", "return_number": "RET-NOPE"}, "return_number"),
        ({"id": "1", "type": "item_received", "tracking_number": "RT-NOPE"}, "tracking_number"),
    ],
)
def test_malformed_body_names_the_field(deployed, waiting, payload, field):
    response = post("warehouse", payload, "wh-secret")
    assert response.status_code == 400
    assert field in response.data, response.data


def test_body_that_is_not_json_is_400(deployed, waiting):
    response = post("warehouse", None, "wh-secret", raw=b"not json")
    assert response.status_code == 400 and "body" in response.data


def test_item_for_a_closed_return_is_refused_with_409(deployed, waiting):
    import datetime as dt

    return_request, instance = waiting
    deployed.increase_time(dt.timedelta(days=31))
    deployed.run_handlers()
    instance.is_completed()

    response = post(
        "warehouse",
        {"id": "late", "type": "item_received", "return_number": return_request.number},
        "wh-secret",
    )

    assert response.status_code == 409 and response.data["status"] == "refused"
    return_request.refresh_from_db()
    assert return_request.status == S.EXPIRED


def post_while_broken(payload, monkeypatch):
    """Post ``payload`` while receiving the item fails for a technical reason (then mend it)."""
    from returns import services

    real = services.return_item_receive

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "return_item_receive", broken)
    response = post("warehouse", payload, "wh-secret")
    monkeypatch.setattr(services, "return_item_receive", real)
    return response


def test_a_technical_failure_is_stored_and_acted_on_when_repeated(deployed, waiting, monkeypatch):
    return_request, instance = waiting
    payload = {"id": "wh-5", "type": "item_received", "return_number": return_request.number}

    first = post_while_broken(payload, monkeypatch)
    # the same answer as the vendor and carrier webhooks: stored, acted on later
    assert first.status_code == 202 and first.data["status"] == "stored, will retry"
    assert WebhookEvent.objects.get(event_id="wh-5").status == WebhookEvent.S.FAILED

    again = post("warehouse", payload, "wh-secret")
    deployed.run_handlers()

    assert again.status_code == 200 and again.data["status"] == "processed"
    assert WebhookEvent.objects.get(event_id="wh-5").attempts == 2
    instance.is_completed()


def test_a_failed_event_is_acted_on_by_the_retry_sweep(deployed, waiting, monkeypatch):
    from core.webhooks import retry_webhook_events

    return_request, instance = waiting
    payload = {"id": "wh-6", "type": "item_received", "return_number": return_request.number}
    assert post_while_broken(payload, monkeypatch).status_code == 202

    # when: nobody repeats the webhook; the periodic sweep picks the stored event up
    counts = retry_webhook_events(older_than_seconds=0)
    deployed.run_handlers()

    assert counts == {"processed": 1, "failed": 0, "refused": 0, "waiting": 0}
    event = WebhookEvent.objects.get(event_id="wh-6")
    assert event.status == WebhookEvent.S.PROCESSED and event.attempts == 2
    instance.is_completed()
    return_request.refresh_from_db()
    assert return_request.status == S.COMPLETED
