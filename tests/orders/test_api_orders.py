"""``POST /api/orders``: who may place orders, what is validated, what comes back."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from processes.models import ElementInstance

URL = "/api/orders"


def payload(**changes):
    body = {
        "customer": {"email": "lena@example.com", "name": "Lena Fischer", "country": "DE"},
        "currency": "EUR",
        "payment_method": "tok_visa",
        "shipping_minor": 995,
        "shipping_address": {"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"},
        "lines": [
            {"vendor": "acme-audio", "sku": "AA-HP-100", "quantity": 1},
            {"vendor": "bolt-bikes", "sku": "BB-HLM-M", "quantity": 2},
        ],
    }
    body.update(changes)
    return body


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def test_staff_places_an_order_and_its_process_starts(deployed, market, staff_client):
    response = staff_client.post(URL, payload(total_minor=12_900 + 2 * 8_900 + 995), format="json")

    assert response.status_code == 201, response.data
    body = response.data
    order = Order.objects.get(number=body["number"])
    assert body["total_minor"] == order.total_minor == 31_695
    assert body["process_instance_key"] == str(order.process_instance_key)
    assert ElementInstance.objects.filter(key=order.process_instance_key).exists()
    subs = {s["vendor"]: s for s in body["sub_orders"]}
    assert subs["acme-audio"]["commission_minor"] == 1_935
    assert subs["acme-audio"]["payout_minor"] == 12_900 - 1_935
    assert subs["bolt-bikes"]["commission_minor"] == 2_136  # 12% of 178.00
    assert sum(s["subtotal_minor"] + s["shipping_minor"] for s in body["sub_orders"]) == 31_695
    assert len(body["lines"]) == 2
    assert order.placed_by.username == "sam"


def test_api_user_with_permission_may_place_orders(deployed, market):
    from django.contrib.auth.models import Permission

    from tests.factories import make_user

    user = make_user("shop-frontend")
    user.user_permissions.add(Permission.objects.get(codename="add_order"))
    client = APIClient()
    client.force_authenticate(user)

    assert client.post(URL, payload(), format="json").status_code == 201


def test_anonymous_and_vendor_users_may_not_place_orders(deployed, market, acme_user):
    assert APIClient().post(URL, payload(), format="json").status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(acme_user)
    assert client.post(URL, payload(), format="json").status_code == 403
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer": {"name": "x", "country": "DE"}}, "customer"),
        ({"customer": {"email": "nope", "name": "x", "country": "DE"}}, "customer"),
        ({"currency": "euro"}, "currency"),
        ({"currency": "USD"}, "currency"),
        ({"payment_method": ""}, "payment_method"),
        ({"shipping_minor": -1}, "shipping_minor"),
        ({"lines": []}, "lines"),
        ({"lines": [{"vendor": "acme-audio", "sku": "AA-HP-100", "quantity": 0}]}, "lines"),
        ({"lines": [{"vendor": "ghost", "sku": "AA-HP-100", "quantity": 1}]}, "lines[0].vendor"),
        ({"lines": [{"vendor": "acme-audio", "sku": "NOPE", "quantity": 1}]}, "lines[0].sku"),
        (
            {"lines": [{"vendor": "acme-audio", "sku": "AA-HP-100", "quantity": 11}]},
            "lines[0].quantity",
        ),
        ({"total_minor": 100}, "total_minor"),
    ],
)
def test_invalid_orders_are_refused_naming_the_field(
    deployed, market, staff_client, changes, field
):
    response = staff_client.post(URL, payload(**changes), format="json")

    assert response.status_code == 400
    assert field in response.data, response.data
    assert not Order.objects.exists()


def test_inactive_vendor_is_refused(deployed, market, staff_client):
    market.bolt.is_active = False
    market.bolt.save()

    response = staff_client.post(URL, payload(), format="json")

    assert response.status_code == 400
    assert "lines[1].vendor" in response.data


def test_engine_failure_is_503_and_nothing_is_kept(process, market, staff_client):
    # The process is not deployed: the engine refuses to start it.
    response = staff_client.post(URL, payload(), format="json")

    assert response.status_code == 503
    assert not Order.objects.exists()


def test_openapi_schema_lists_the_domain_apis(staff_client):
    response = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"] if hasattr(response, "json") else {}
    for path in (
        "/api/orders",
        "/api/webhooks/vendors/{handle}/",
        "/api/webhooks/carriers/{carrier}/",
        "/api/vendor/sub-orders",
        "/api/vendor/payouts",
    ):
        assert path in paths, path
