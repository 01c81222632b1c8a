"""Subscription API: every error case, and the payment method update that retries dunning."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from orders.models import Customer
from subscriptions.models import PaymentMethod, Subscription
from tests.factories import make_user

from .conftest import customer_with_card, subscribe


@pytest.fixture
def carla(db):
    user = make_user("carla")
    customer = customer_with_card()
    Customer.objects.filter(pk=customer.pk).update(user=user)
    customer.refresh_from_db()
    return user, customer


def client(user=None):
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def test_customer_subscribes_themselves_idempotently(carla, plan):
    user, customer = carla
    api = client(user)
    first = api.post("/api/subscriptions", {"plan": plan.code}, HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/subscriptions", {"plan": plan.code}, HTTP_IDEMPOTENCY_KEY="k1")
    other = api.post(
        "/api/subscriptions", {"plan": plan.code, "quantity": 2}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == 201, first.content
    assert first.json()["customer"] == customer.email
    assert first.json()["status"] == "active"
    assert again.status_code == 200
    assert again.json()["number"] == first.json()["number"]
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan": "nope"}, "plan"),
        ({}, "plan"),
        ({"plan": "coffee-monthly", "quantity": 0}, "quantity"),
        ({"plan": "coffee-monthly", "payment_method": 999999}, "payment_method"),
        ({"plan": "coffee-monthly", "customer": "someone@example.com"}, "customer"),
    ],
)
def test_create_refusals_name_the_field(carla, plan, body, field):
    response = client(carla[0]).post("/api/subscriptions", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_create_needs_a_customer_or_staff(db, plan, support):
    assert client().post("/api/subscriptions", {"plan": plan.code}).status_code in (401, 403)
    stranger = make_user("stranger")
    assert client(stranger).post("/api/subscriptions", {"plan": plan.code}).status_code == 403
    no_customer = client(support).post("/api/subscriptions", {"plan": plan.code})
    assert no_customer.status_code == 400 and "customer" in no_customer.json()


def test_staff_subscribe_a_customer_without_a_card_refused_unless_trial(
    db, plan, trial_plan, support
):
    Customer.objects.create(email="nocard@example.com", name="No Card", country="DE")
    refused = client(support).post(
        "/api/subscriptions", {"plan": plan.code, "customer": "nocard@example.com"}
    )
    trial = client(support).post(
        "/api/subscriptions", {"plan": trial_plan.code, "customer": "nocard@example.com"}
    )
    assert refused.status_code == 400 and "payment_method" in refused.json()
    assert trial.status_code == 201 and trial.json()["status"] == "trialing"


def test_someone_elses_subscription_is_not_found(carla, plan):
    other = subscribe(plan)
    api = client(carla[0])
    assert api.get(f"/api/subscriptions/{other.number}").status_code == 404
    assert api.post(f"/api/subscriptions/{other.number}/pause", {}).status_code == 404
    assert api.post(f"/api/subscriptions/{other.number}/cancel", {}).status_code == 404
    assert api.get("/api/subscriptions/SUB-MISSING").status_code == 404


def test_pause_resume_cancel_and_their_conflicts(carla, plan):
    user, customer = carla
    subscription, _ = __import__("subscriptions.services").services.subscription_create(
        customer=customer, plan=plan
    )
    api = client(user)
    url = f"/api/subscriptions/{subscription.number}"
    past = api.post(f"{url}/pause", {"resume_on": "2000-01-01"}, format="json")
    assert past.status_code == 400 and "resume_on" in past.json()
    assert api.post(f"{url}/resume").status_code == 409
    assert api.post(f"{url}/pause", {}, format="json").json()["status"] == "paused"
    assert api.post(f"{url}/pause", {}, format="json").status_code == 409
    assert api.post(f"{url}/resume").json()["status"] == "active"
    end = api.post(f"{url}/cancel", {"at_period_end": True}, format="json")
    assert end.status_code == 200 and end.json()["cancel_at_period_end"] is True
    assert api.post(f"{url}/cancel", {}, format="json").json()["status"] == "canceled"
    assert api.post(f"{url}/cancel", {}, format="json").status_code == 409
    assert api.post(f"{url}/pause", {}, format="json").status_code == 409
    card = {"provider_token": "tok_visa", "brand": "visa", "last4": "1111"}
    card |= {"exp_month": 1, "exp_year": 2099}
    assert api.post(f"{url}/payment-method", card, format="json").status_code == 409


def test_payment_method_update_during_dunning_retries_at_once(
    renewals, plan, django_capture_on_commit_callbacks
):
    user = make_user("dana")
    subscription = subscribe(plan, "tok_chargeDeclined")
    Customer.objects.filter(pk=subscription.customer_id).update(user=user)
    renewals.open_due()
    api = client(user)
    before = api.get(f"/api/subscriptions/{subscription.number}").json()
    assert before["status"] == "past_due"
    assert before["dunning"]["attempts_made"] == 1
    assert before["dunning"]["next_retry_at"]

    card = {"provider_token": "tok_visa", "brand": "visa", "last4": "1881"}
    card |= {"exp_month": 12, "exp_year": 2099}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/subscriptions/{subscription.number}/payment-method", card, format="json"
        )
    renewals.process.run_handlers()

    assert response.status_code == 200, response.content
    after = api.get(f"/api/subscriptions/{subscription.number}").json()
    assert after["status"] == "active"
    assert after["payment_method"]["last4"] == "1881"
    assert after["dunning"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider_token": "tok_visa"}, "brand"),
        ({"payment_method": 999999}, "payment_method"),
        (
            {
                "provider_token": "tok_visa",
                "brand": "visa",
                "last4": "12a4",
                "exp_month": 1,
                "exp_year": 2099,
            },
            "last4",
        ),
        (
            {
                "provider_token": "tok_visa",
                "brand": "visa",
                "last4": "1234",
                "exp_month": 1,
                "exp_year": 2001,
            },
            "exp_year",
        ),
    ],
)
def test_payment_method_refusals_name_the_field(carla, plan, body, field):
    subscription = subscribe(plan)
    response = client(make_user("sue2", role="support")).post(
        f"/api/subscriptions/{subscription.number}/payment-method", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_someone_elses_saved_card_cannot_be_used(carla, plan, support):
    subscription = subscribe(plan)
    carlas_card = PaymentMethod.objects.get(customer=carla[1])
    response = client(support).post(
        f"/api/subscriptions/{subscription.number}/payment-method",
        {"payment_method": carlas_card.pk},
        format="json",
    )
    assert response.status_code == 400


def test_invoices_of_a_customer(renewals, plan, support):
    mine = subscribe(plan)
    subscribe(plan)
    user = make_user("ivy")
    Customer.objects.filter(pk=mine.customer_id).update(user=user)
    renewals.open_due()

    own = client(user).get("/api/invoices")
    staff = client(support).get("/api/invoices", {"customer": mine.customer.email})
    unnamed = client(support).get("/api/invoices")

    assert own.status_code == 200
    assert [i["subscription"] for i in own.json()] == [mine.number]
    assert own.json()[0]["status"] == "paid" and own.json()[0]["attempts"] == 1
    assert staff.json() == own.json()
    assert unnamed.status_code == 400
    assert client().get("/api/invoices").status_code in (401, 403)


def test_endpoints_are_in_the_openapi_schema(db, support):
    schema = client(support).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/subscriptions",
        "/api/subscriptions/{number}/payment-method",
        "/api/subscriptions/{number}/pause",
        "/api/subscriptions/{number}/resume",
        "/api/subscriptions/{number}/cancel",
        "/api/invoices",
        "/api/webhooks/payments/{provider}/",
    ):
        assert path in schema["paths"], path
    assert Subscription.objects.count() == 0
