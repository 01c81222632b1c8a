"""``POST /api/webhooks/payments/<provider>/``: signature, storage first, duplicates, settling."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from core.models import WebhookEvent
from core.webhooks import SIGNATURE_HEADER, sign
from subscriptions.models import AttemptOutcome, Invoice, PaymentAttempt

from .conftest import subscribe


@pytest.fixture(autouse=True)
def secrets(settings):
    settings.PAYMENT_WEBHOOK_SECRETS = {"stripe": "st-secret"}


def post(provider, payload, secret="st-secret", *, timestamp=None, raw=b""):  # noqa: S107
    data = raw or json.dumps(payload).encode()
    return APIClient().post(
        f"/api/webhooks/payments/{provider}/",
        data=data,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(data, secret, timestamp)},
    )


@pytest.fixture
def pending(renewals, plan, monkeypatch):
    """A renewal whose charge the provider is still processing (the job waits for a retry)."""
    from orders.payments.base import OffSessionChargeResult
    from orders.payments.sandbox import SandboxProvider

    monkeypatch.setattr(
        SandboxProvider,
        "charge_off_session",
        lambda self, **kw: OffSessionChargeResult("processing", "pi_async_1"),
    )
    subscription = subscribe(plan)
    renewals.open_due()
    attempt = PaymentAttempt.objects.get(invoice__subscription=subscription)
    assert attempt.outcome == AttemptOutcome.PENDING
    renewals.instance(subscription).is_waiting_at("Task_attempt")
    monkeypatch.undo()
    return subscription, attempt


def event(kind="payment_intent.succeeded", **extra):
    return {"id": "evt_1", "type": kind, "payment_intent": "pi_async_1", **extra}


def test_success_settles_the_attempt_and_the_retried_job_completes(renewals, pending):
    subscription, attempt = pending

    response = post("stripe", event())
    renewals.later(__import__("datetime").timedelta(minutes=2))  # the job's retry back-off

    assert response.status_code == 200 and response.json()["status"] == "processed"
    attempt.refresh_from_db()
    assert attempt.outcome == AttemptOutcome.SUCCEEDED
    assert Invoice.objects.get(subscription=subscription).status == Invoice.S.PAID
    renewals.instance(subscription).is_completed()
    assert WebhookEvent.objects.get().status == WebhookEvent.S.PROCESSED


def test_failure_settles_with_its_decline_class(renewals, pending):
    _subscription, attempt = pending
    response = post("stripe", event("payment_intent.payment_failed", decline_code="stolen_card"))
    assert response.status_code == 200
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.decline_code) == ("hard_decline", "stolen_card")


def test_duplicate_is_a_no_op(renewals, pending):
    assert post("stripe", event()).status_code == 200
    again = post("stripe", event("payment_intent.payment_failed", decline_code="lost_card"))
    assert again.json()["status"] == "duplicate"
    assert pending[1].__class__.objects.get(pk=pending[1].pk).outcome == "succeeded"
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("provider", "payload", "secret", "timestamp", "raw", "code", "field"),
    [
        ("adyen", event(), "st-secret", None, b"", 404, None),
        ("stripe", event(), "wrong", None, b"", 401, None),
        ("stripe", event(), "st-secret", int(time.time()) - 3600, b"", 401, None),
        ("stripe", None, "st-secret", None, b"{not json", 400, "body"),
        (
            "stripe",
            {"id": "e", "type": "charge.refunded", "payment_intent": "p"},
            "st-secret",
            None,
            b"",
            400,
            "type",
        ),
        (
            "stripe",
            event("payment_intent.payment_failed"),
            "st-secret",
            None,
            b"",
            400,
            "decline_code",
        ),
    ],
)
def test_refusals(db, provider, payload, secret, timestamp, raw, code, field):
    response = post(provider, payload, secret, timestamp=timestamp, raw=raw)
    assert response.status_code == code
    if field:
        assert field in response.json()
    assert not WebhookEvent.objects.exists()


def test_unknown_payment_is_stored_and_refused_naming_the_field(db):
    response = post("stripe", event(payment_intent="pi_unknown"))
    assert response.status_code == 400
    assert "payment_intent" in response.json()
    assert WebhookEvent.objects.get().status == WebhookEvent.S.PROCESSED
