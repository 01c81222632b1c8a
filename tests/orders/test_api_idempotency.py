"""``Idempotency-Key`` on order intake: a repeat answers as the first time and places nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.models import IdempotencyRecord
from orders.models import Order
from tests.factories import make_staff

from .test_api_orders import URL, payload


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def test_the_same_key_and_body_answer_the_first_answer_and_place_one_order(
    deployed, market, staff_client
):
    first = staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201, first.data
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Order.objects.count() == 1


def test_key_order_and_spacing_of_the_body_do_not_make_it_another_request(
    deployed, market, staff_client
):
    body = payload()
    reordered = dict(reversed(list(body.items())))
    staff_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = staff_client.post(URL, reordered, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert again.status_code == 201 and Order.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(deployed, market, staff_client):
    staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = staff_client.post(
        URL, payload(shipping_minor=0), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert other.status_code == 409
    assert "Idempotency-Key" in other.data
    assert Order.objects.count() == 1


def test_keys_are_per_principal(deployed, market, staff_client):
    other = APIClient()
    other.force_authenticate(make_staff("kim"))
    staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    theirs = other.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert Order.objects.count() == 2


def test_without_a_key_every_request_places_an_order(deployed, market, staff_client):
    staff_client.post(URL, payload(), format="json")
    staff_client.post(URL, payload(), format="json")

    assert Order.objects.count() == 2 and not IdempotencyRecord.objects.exists()


def test_a_refused_request_keeps_no_record_so_a_corrected_retry_is_acted_on(
    deployed, market, staff_client
):
    market.headphones.stock.on_hand = 0
    market.headphones.stock.save()
    refused = staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    market.headphones.stock.on_hand = 5
    market.headphones.stock.save()
    retried = staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-3")

    assert refused.status_code == 400
    assert retried.status_code == 201 and Order.objects.count() == 1


def test_an_engine_failure_keeps_no_record_so_the_retry_places_the_order(
    deployed, market, staff_client, monkeypatch
):
    from processes import port

    real_start = port.start

    def down(*args, **kwargs):
        raise port.PortError("engine down")

    monkeypatch.setattr(port, "start", down)
    failed = staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert failed.status_code == 503 and not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(port, "start", real_start)
    retried = staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")

    assert retried.status_code == 201 and Order.objects.count() == 1


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "empty"), ("k" * 201, "200 characters"), ("a\tb", "printable")],
)
def test_a_malformed_key_names_the_header(deployed, market, staff_client, key, message):
    response = staff_client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert message in response.data["Idempotency-Key"][0]
    assert not Order.objects.exists()
