"""The payment provider port: the sandbox's test cards and the Stripe adapter (no network)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import stripe
from django.core.exceptions import ImproperlyConfigured

from orders.payments import (
    PaymentDeclined,
    PaymentError,
    RetryablePaymentError,
    get_provider,
    sandbox,
)
from orders.payments.sandbox import SandboxProvider
from orders.payments.stripe_provider import StripeProvider


@pytest.fixture(autouse=True)
def clean_sandbox():
    sandbox.reset()
    yield
    sandbox.reset()


def charge(provider, token, key="k1"):
    return provider.charge(
        order_number="ORD-1",
        amount_minor=1000,
        currency="EUR",
        payment_method=token,
        idempotency_key=key,
    )


def test_sandbox_tok_visa_succeeds_with_the_same_id_for_the_same_key():
    provider = SandboxProvider()

    first = charge(provider, "tok_visa")
    again = charge(provider, "tok_visa")

    assert first.id.startswith("pi_sandbox_")
    assert again == first
    assert charge(provider, "tok_visa", key="other").id != first.id


def test_sandbox_tok_charge_declined_is_declined():
    with pytest.raises(PaymentDeclined) as declined:
        charge(SandboxProvider(), "tok_chargeDeclined")

    assert declined.value.code == "card_declined"


def test_sandbox_tok_retry_fails_once_per_key_then_succeeds():
    provider = SandboxProvider()

    with pytest.raises(RetryablePaymentError):
        charge(provider, "tok_retry")
    assert charge(provider, "tok_retry").id.startswith("pi_sandbox_")
    with pytest.raises(RetryablePaymentError):
        charge(provider, "tok_retry", key="another-order")


def test_get_provider_default_is_sandbox_and_unknown_names_are_refused(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    assert get_provider().name == "sandbox"
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_API_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        get_provider()
    settings.PAYMENT_PROVIDER = "paypal"
    with pytest.raises(ImproperlyConfigured):
        get_provider()


class RecordingHttpClient(stripe.HTTPClient):
    """Stripe's pluggable HTTP client: records each request, answers with canned JSON."""

    name = "recording"

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.requests = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        self.requests.append(
            {"method": method, "url": url, "headers": dict(headers), "params": parse_qs(body)}
        )
        status, payload = self.answers.pop(0)
        return json.dumps(payload), status, {"request-id": "req_test"}

    def close(self):
        pass


def stripe_with(*answers):
    http = RecordingHttpClient(answers)
    return StripeProvider("sk_test_123", http_client=http), http


def test_stripe_charge_is_one_payment_intent_per_order_with_transfer_group_and_key():
    provider, http = stripe_with(
        (200, {"id": "pi_1", "object": "payment_intent", "status": "succeeded"})
    )

    result = charge(provider, "tok_visa", key="501:777")

    assert result.id == "pi_1"
    [request] = http.requests
    assert request["method"] == "post"
    assert request["url"].endswith("/v1/payment_intents")
    assert request["headers"]["Idempotency-Key"] == "501:777"
    params = request["params"]
    assert params["amount"] == ["1000"]
    assert params["currency"] == ["eur"]
    assert params["transfer_group"] == ["ORD-1"]
    assert params["confirm"] == ["true"]
    assert params["payment_method_data[card][token]"] == ["tok_visa"]


def test_stripe_card_error_is_a_decline():
    provider, _http = stripe_with(
        (
            402,
            {"error": {"type": "card_error", "code": "card_declined", "message": "Declined"}},
        )
    )

    with pytest.raises(PaymentDeclined) as declined:
        charge(provider, "tok_chargeDeclined")

    assert declined.value.code == "card_declined"


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (429, "invalid_request_error", RetryablePaymentError),
        (500, "api_error", RetryablePaymentError),
        (400, "invalid_request_error", PaymentError),
    ],
)
def test_stripe_errors_map_to_retryable_or_not(status, error_type, expected):
    provider, _http = stripe_with((status, {"error": {"type": error_type, "message": "x"}}))

    with pytest.raises(expected):
        charge(provider, "tok_visa")


def test_stripe_transfer_refund_and_reversal_carry_group_and_keys():
    provider, http = stripe_with(
        (200, {"id": "tr_1", "object": "transfer"}),
        (200, {"id": "re_1", "object": "refund"}),
        (200, {"id": "trr_1", "object": "transfer_reversal"}),
    )

    transfer = provider.transfer(
        destination="acct_vendor",
        amount_minor=850,
        currency="EUR",
        transfer_group="ORD-1",
        idempotency_key="t-key",
    )
    refund = provider.refund(charge_id="pi_1", amount_minor=300, idempotency_key="r-key")
    reversal = provider.reverse_transfer(
        transfer_id="tr_1", amount_minor=200, idempotency_key="v-key"
    )

    assert (transfer.id, refund.id, reversal.id) == ("tr_1", "re_1", "trr_1")
    t, r, v = http.requests
    assert t["url"].endswith("/v1/transfers")
    assert t["params"]["destination"] == ["acct_vendor"]
    assert t["params"]["transfer_group"] == ["ORD-1"]
    assert t["headers"]["Idempotency-Key"] == "t-key"
    assert r["url"].endswith("/v1/refunds")
    assert r["params"]["payment_intent"] == ["pi_1"]
    assert r["params"]["amount"] == ["300"]
    assert r["headers"]["Idempotency-Key"] == "r-key"
    assert v["url"].endswith("/v1/transfers/tr_1/reversals")
    assert v["params"]["amount"] == ["200"]
    assert v["headers"]["Idempotency-Key"] == "v-key"
