"""The customs broker port: the sandbox answers by rule through the signed webhook (played by
the demo simulator), the HTTP adapter sends idempotency keys, times out and retries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from orders.customs import broker, simulator
from orders.customs.models import InternationalShipment

from .conftest import place, vendor_accepts

pytestmark = pytest.mark.django_db
S = InternationalShipment.S


def client_post(client: Client):
    def post(path: str, raw: bytes, signature: str) -> int:
        response = client.generic(
            "POST", path, raw, content_type="application/json",
            headers={"X-Orderly-Signature": signature},
        )  # fmt: skip
        return response.status_code

    return post


def later(minutes: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def test_sandbox_answers_after_its_delay_and_the_carrier_delivers(deployed, shop, settings):
    settings.CUSTOMS_SANDBOX_DELAY_SECONDS = 600
    post = client_post(Client())
    _order, shipment = place(deployed, shop, country="JP")
    vendor_accepts(deployed, shipment)
    assert simulator.play_broker(post, now=later(5)) == 0  # not yet

    assert simulator.play_broker(post, now=later(11)) == 1
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == S.SHIPPED and shipment.carrier == "sandbox"
    assert simulator.play_broker(post, now=later(30)) == 0  # answered once

    assert simulator.play_carriers(post, now=later(12)) == 1  # in transit
    deployed.run_handlers()
    assert simulator.play_carriers(post, now=later(13)) == 0
    assert simulator.play_carriers(post, now=later(20)) == 1  # delivered
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == S.DELIVERED
    deployed.instance(shipment.process_instance_key).is_completed()


def test_sandbox_holds_samples_once_then_clears(deployed, shop, settings):
    settings.CUSTOMS_SANDBOX_DELAY_SECONDS = 0
    post = client_post(Client())
    _order, shipment = place(deployed, shop, country="GB", lines=[(shop.sample, 1)])
    simulator.play_broker(post, now=later(1))
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == S.HELD and shipment.missing_documents == ["proof of value"]
    simulator.play_broker(post, now=later(2))
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == S.SHIPPED


def test_sandbox_rejects_arms(deployed, shop, settings):
    settings.CUSTOMS_SANDBOX_DELAY_SECONDS = 0
    _order, shipment = place(deployed, shop, country="GB", lines=[(shop.rifle_scope, 1)])
    simulator.play_broker(client_post(Client()), now=later(1))
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == S.COMPENSATED


class FakeResponse:
    def __init__(self, payload):
        self.payload = payload
        self.content = b"{}"

    def raise_for_status(self):
        return None

    def json(self):
        return self.payload


def test_http_broker_sends_the_idempotency_key_with_a_timeout(monkeypatch):
    adapter = broker.HttpBroker("https://broker.example/api/", token="t0k", timeout=7)
    calls = []

    def fake_post(url, json, headers, timeout):
        calls.append((url, json, headers, timeout))
        return FakeResponse({"reference": "BRK-1"})

    monkeypatch.setattr(adapter.session, "post", fake_post)
    submission = adapter.submit(entry={"shipment": "SHP-1"}, idempotency_key="entry:1:2")
    assert submission.reference == "BRK-1"
    url, body, headers, timeout = calls[0]
    assert url == "https://broker.example/api/entries" and body == {"shipment": "SHP-1"}
    assert headers == {"Idempotency-Key": "entry:1:2"} and timeout == 7
    assert adapter.session.headers["Authorization"] == "Bearer t0k"
    retry = adapter.session.get_adapter("https://broker.example").max_retries
    assert retry.total == 3 and "POST" in retry.allowed_methods and 503 in retry.status_forcelist


def test_http_broker_without_a_reference_fails_the_job(monkeypatch):
    adapter = broker.HttpBroker("https://broker.example")
    monkeypatch.setattr(adapter.session, "post", lambda *a, **k: FakeResponse({}))
    with pytest.raises(ValueError, match="without a reference"):
        adapter.submit(entry={"shipment": "SHP-1"}, idempotency_key="k")


def test_broker_failure_retries_the_job_then_an_incident(deployed, shop, monkeypatch):
    def down(self, *, entry, idempotency_key):
        raise ConnectionError("broker down")

    monkeypatch.setattr(broker.SandboxBroker, "submit", down)
    _order, shipment = place(deployed, shop, country="US")
    instance = deployed.instance(shipment.process_instance_key)
    assert deployed.jobs("customs-broker-submit")[0].retries == 4  # a minute apart
    for _attempt in range(4):
        instance.has_no_incidents()
        deployed.increase_time(dt.timedelta(seconds=61))
        deployed.run_handlers()
    instance.has_incident(element_id="Task_submit_broker")
    shipment.refresh_from_db()
    assert shipment.submitted_at is None
