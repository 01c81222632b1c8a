"""``POST /api/returns`` and ``GET /api/returns/<number>``: who, what is checked, idempotency."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from orders.models import Customer
from returns.models import ReturnRequest
from tests.factories import make_user

from .conftest import delivered_order

URL = "/api/returns"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(order_, **changes):
    data = {
        "order": order_.number,
        "lines": [{"sku": "AA-HP-100", "quantity": 1}],
        "reason": "size",
        "comment": "Too small",
        "refund_method": "original",
    }
    data.update(changes)
    return data


@pytest.fixture
def order(shop, customer):
    return delivered_order(customer=customer, items=[(shop.headphones, 2), (shop.cable, 1)])


def test_customer_requests_a_return_of_their_own_order_and_the_process_starts(
    deployed, order, customer_user
):
    response = client_for(customer_user).post(URL, body(order), format="json")

    assert response.status_code == 201, response.data
    data = response.data
    assert data["order"] == order.number and data["status"] == "requested"
    assert data["amount_minor"] == 12_900
    assert data["lines"] == [{"sku": "AA-HP-100", "quantity": 1, "amount_minor": 12_900}]
    assert data["process_instance_key"]
    return_request = ReturnRequest.objects.get(number=data["number"])
    assert return_request.requested_by == customer_user
    deployed.run_handlers()
    detail = client_for(customer_user).get(f"{URL}/{data['number']}")
    assert detail.status_code == 200
    assert detail.data["status"] == "awaiting_item" and detail.data["label"]["tracking_number"]


def test_support_requests_a_return_on_the_customers_behalf(deployed, order, support):
    response = client_for(support).post(URL, body(order), format="json")

    assert response.status_code == 201, response.data
    assert ReturnRequest.objects.get().requested_by == support


def test_idempotency_key_repeats_answer_with_the_same_return(deployed, order, customer_user):
    client = client_for(customer_user)
    first = client.post(URL, body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"
    assert ReturnRequest.objects.count() == 1


def test_client_reference_repeats_answer_with_the_same_return(deployed, order, customer_user):
    client = client_for(customer_user)
    first = client.post(URL, body(order, client_reference="app-77"), format="json")
    again = client.post(URL, body(order, client_reference="app-77"), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert ReturnRequest.objects.count() == 1


def test_a_key_reused_for_a_different_request_is_a_conflict(deployed, order, customer_user):
    client = client_for(customer_user)
    client.post(URL, body(order), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = body(order, lines=[{"sku": "AA-CBL-3", "quantity": 1}])

    response = client.post(URL, other, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == 409
    assert "Idempotency-Key" in response.data
    assert ReturnRequest.objects.count() == 1


def test_an_overlong_idempotency_key_names_the_header(deployed, order, customer_user):
    response = client_for(customer_user).post(
        URL, body(order), format="json", HTTP_IDEMPOTENCY_KEY="k" * 201
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"order": ""}, "order"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "AA-HP-100", "quantity": 0}]}, "lines"),
        ({"lines": [{"sku": "AA-HP-100"}]}, "lines"),
        ({"reason": "bored"}, "reason"),
        ({"refund_method": "cash"}, "refund_method"),
        ({"comment": "x" * 2001}, "comment"),
    ],
)
def test_invalid_input_names_the_field(deployed, order, customer_user, changes, field):
    response = client_for(customer_user).post(URL, body(order, **changes), format="json")

    assert response.status_code == 400
    assert field in response.data, response.data
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"sku": "NOPE-1", "quantity": 1}], "not in order"),
        ([{"sku": "AA-HP-100", "quantity": 3}], "can still be returned"),
        ([{"sku": "AA-HP-100", "quantity": 1}, {"sku": "AA-HP-100", "quantity": 1}], "twice"),
    ],
)
def test_ineligible_lines_are_refused_naming_lines(deployed, order, customer_user, lines, message):
    response = client_for(customer_user).post(URL, body(order, lines=lines), format="json")

    assert response.status_code == 400
    assert message in str(response.data["lines"])


def test_units_already_returned_cannot_be_returned_again(deployed, order, customer_user):
    client = client_for(customer_user)
    two = body(order, lines=[{"sku": "AA-HP-100", "quantity": 2}])
    assert client.post(URL, two, format="json").status_code == 201

    response = client.post(URL, body(order), format="json")

    assert response.status_code == 400
    assert "0 can still be returned" in str(response.data["lines"])


def test_return_window_passed_is_refused(deployed, shop, customer, customer_user):
    old = delivered_order(customer=customer, items=[(shop.headphones, 1)], delivered_days_ago=31)

    response = client_for(customer_user).post(URL, body(old), format="json")

    assert response.status_code == 400
    assert "30-day return window has passed" in str(response.data["lines"])


def test_not_yet_delivered_is_refused(deployed, order, customer_user):
    order.sub_orders.update(delivered_at=None)

    response = client_for(customer_user).post(URL, body(order), format="json")

    assert response.status_code == 400
    assert "not been delivered" in str(response.data["lines"])


def test_a_customer_cannot_return_someone_elses_order(deployed, order, db):
    other_user = make_user("olga")
    Customer.objects.create(email="olga@example.com", name="Olga", country="DE", user=other_user)

    response = client_for(other_user).post(URL, body(order), format="json")

    assert response.status_code == 400
    assert response.data == {"order": ["No such order."]}
    assert not ReturnRequest.objects.exists()


def test_unknown_order_looks_the_same(deployed, customer_user, customer):
    response = client_for(customer_user).post(
        URL,
        {"order": "ORD-NOPE", "lines": [{"sku": "X", "quantity": 1}], "reason": "size"},
        format="json",
    )
    assert response.status_code == 400 and response.data == {"order": ["No such order."]}


def test_anonymous_is_refused(deployed, order):
    assert APIClient().post(URL, body(order), format="json").status_code in (401, 403)


def test_vendor_user_cannot_request_or_see_returns(deployed, order, shop, customer_user):
    created = client_for(customer_user).post(URL, body(order), format="json")
    vendor_user = make_user("vic", vendor=shop.acme)

    assert client_for(vendor_user).post(URL, body(order), format="json").status_code == 403
    assert client_for(vendor_user).get(f"{URL}/{created.data['number']}").status_code == 403


def test_a_user_without_customer_or_staff_role_is_refused(deployed, order, db):
    assert client_for(make_user("nobody")).post(URL, body(order), format="json").status_code == 403


def test_warehouse_cannot_file_returns_for_customers(deployed, order, warehouse):
    assert client_for(warehouse).post(URL, body(order), format="json").status_code == 403


def test_customer_cannot_see_someone_elses_return(deployed, order, customer_user, db):
    created = client_for(customer_user).post(URL, body(order), format="json")
    other_user = make_user("olga")
    Customer.objects.create(email="olga@example.com", name="Olga", country="DE", user=other_user)

    response = client_for(other_user).get(f"{URL}/{created.data['number']}")

    assert response.status_code == 404


def test_engine_unavailable_is_503_and_nothing_is_kept(process, order, customer_user):
    # the return-request process is not deployed: the engine refuses to start it
    response = client_for(customer_user).post(URL, body(order), format="json")

    assert response.status_code == 503
    assert not ReturnRequest.objects.exists()
