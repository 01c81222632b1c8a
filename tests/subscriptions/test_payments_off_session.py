"""Off-session renewal charges on the payment port: sandbox cards, Stripe, decline classes, caps."""

from __future__ import annotations

import datetime as dt

import pytest

from orders.payments import RetryablePaymentError, sandbox
from orders.payments.declines import decline_outcome, is_hard_decline
from orders.payments.retry_caps import retry_cap_reached
from orders.payments.sandbox import SandboxProvider
from orders.payments.stripe_provider import StripeProvider
from tests.orders.test_payments import RecordingHttpClient


def charge(provider, token, key="INV-1:attempt-1"):
    return provider.charge_off_session(
        customer_reference="cus_1",
        payment_method=token,
        amount_minor=1990,
        currency="EUR",
        description="Coffee club",
        idempotency_key=key,
    )


@pytest.mark.parametrize(
    ("token", "outcome", "code"),
    [
        ("tok_visa", "succeeded", ""),
        ("tok_chargeDeclinedInsufficientFunds", "soft_decline", "insufficient_funds"),
        ("tok_chargeDeclined", "soft_decline", "card_declined"),
        ("tok_chargeDeclinedLostCard", "hard_decline", "lost_card"),
        ("tok_chargeDeclinedStolenCard", "hard_decline", "stolen_card"),
        ("tok_chargeDeclinedDoNotTryAgain", "hard_decline", "do_not_try_again"),
    ],
)
def test_sandbox_test_cards(token, outcome, code):
    result = charge(SandboxProvider(), token)
    assert (result.outcome, result.decline_code) == (outcome, code)
    assert result.reference == charge(SandboxProvider(), token).reference  # same key, same id


def test_sandbox_needs_retry_card_fails_once_per_key_then_succeeds():
    sandbox.reset()
    with pytest.raises(RetryablePaymentError):
        charge(SandboxProvider(), "tok_retry")
    assert charge(SandboxProvider(), "tok_retry").succeeded


@pytest.mark.parametrize(
    ("code", "hard"),
    [
        ("lost_card", True),
        ("stolen_card", True),
        ("do_not_try_again", True),
        ("invalid_account", True),
        ("insufficient_funds", False),
        ("do_not_honor", False),
        ("some_new_issuer_code", False),
    ],
)
def test_decline_classes(code, hard):
    assert is_hard_decline(code) is hard
    assert decline_outcome(code) == ("hard_decline" if hard else "soft_decline")


def _stripe(*answers):
    http = RecordingHttpClient(answers)
    return StripeProvider("sk_test_123", http_client=http), http


def test_stripe_off_session_payment_intent_with_idempotency_key():
    provider, http = _stripe(
        (200, {"id": "pi_9", "object": "payment_intent", "status": "succeeded"})
    )

    result = charge(provider, "pm_card_1", key="INV-7:attempt-2")

    assert (result.outcome, result.reference) == ("succeeded", "pi_9")
    [request] = http.requests
    assert request["url"].endswith("/v1/payment_intents")
    assert request["headers"]["Idempotency-Key"] == "INV-7:attempt-2"
    params = request["params"]
    assert params["off_session"] == ["true"]
    assert params["confirm"] == ["true"]
    assert params["customer"] == ["cus_1"]
    assert params["payment_method"] == ["pm_card_1"]
    assert params["amount"] == ["1990"]


@pytest.mark.parametrize(
    ("decline_code", "outcome"),
    [("insufficient_funds", "soft_decline"), ("stolen_card", "hard_decline")],
)
def test_stripe_card_error_is_an_answer_with_its_decline_code(decline_code, outcome):
    error = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline_code,
            "message": "Your card was declined.",
            "payment_intent": {"id": "pi_declined", "object": "payment_intent"},
        }
    }
    provider, _http = _stripe((402, error))

    result = charge(provider, "pm_card_1")

    assert (result.outcome, result.decline_code, result.reference) == (
        outcome,
        decline_code,
        "pi_declined",
    )


def test_stripe_provider_error_is_retryable_and_processing_waits_for_the_webhook():
    provider, _ = _stripe((500, {"error": {"type": "api_error", "message": "boom"}}))
    with pytest.raises(RetryablePaymentError):
        charge(provider, "pm_card_1")
    provider, _ = _stripe((200, {"id": "pi_p", "object": "payment_intent", "status": "processing"}))
    assert charge(provider, "pm_card_1").outcome == "processing"


NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _declines(n, spacing):
    return [NOW - spacing * (i + 1) for i in range(n)]


@pytest.mark.parametrize(
    ("brand", "declines", "capped"),
    [
        ("visa", _declines(15, dt.timedelta(days=1)), False),  # 14 retries so far: one more ok
        ("visa", _declines(16, dt.timedelta(days=1)), True),  # 15 retries in 30 days
        ("visa", _declines(16, dt.timedelta(days=2)), False),  # spread over 32 days
        ("mastercard", _declines(10, dt.timedelta(hours=1)), False),
        ("mastercard", _declines(11, dt.timedelta(hours=1)), True),  # 10 in 24 hours
        ("mastercard", _declines(35, dt.timedelta(hours=20)), False),
        ("mastercard", _declines(36, dt.timedelta(hours=19)), True),  # 35 in 30 days
        ("amex", _declines(50, dt.timedelta(hours=1)), False),
    ],
)
def test_card_network_retry_caps(brand, declines, capped):
    assert (retry_cap_reached(brand=brand, declined_at=declines, at=NOW) is not None) is capped
