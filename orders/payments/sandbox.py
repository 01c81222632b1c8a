"""A sandbox provider that behaves like Stripe's test mode, without a network.

Card tokens: ``tok_visa`` (and any other token) succeeds, ``tok_chargeDeclined`` is declined
(``card_declined``, soft), ``tok_chargeDeclinedInsufficientFunds`` (soft),
``tok_chargeDeclinedLostCard``, ``tok_chargeDeclinedStolenCard``, ``tok_chargeDeclinedExpiredCard``
and ``tok_chargeDeclinedDoNotTryAgain`` (hard), ``tok_retry`` fails the first attempt of each
idempotency key with a retryable error and succeeds on the next. Ids are derived from the
idempotency key, so a repeated call answers with the same id, as Stripe's idempotency does.
"""

from __future__ import annotations

import hashlib
import threading

from .base import OffSessionChargeResult, PaymentDeclined, ProviderResult, RetryablePaymentError
from .declines import decline_outcome

DECLINING_TOKENS = {
    "tok_chargeDeclined": "card_declined",
    "tok_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "tok_chargeDeclinedLostCard": "lost_card",
    "tok_chargeDeclinedStolenCard": "stolen_card",
    "tok_chargeDeclinedExpiredCard": "expired_card",
    "tok_chargeDeclinedDoNotTryAgain": "do_not_try_again",
}
RETRY_TOKEN = "tok_retry"  # noqa: S105 (a public test card token)

_attempted: set[str] = set()
_lock = threading.Lock()


def reset() -> None:
    """Forget which ``tok_retry`` keys were attempted (tests start from a clean sandbox)."""
    with _lock:
        _attempted.clear()


def _id(prefix: str, idempotency_key: str) -> str:
    return f"{prefix}_sandbox_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"


class SandboxProvider:
    """Deterministic stand-in for the card processor (the default on a fresh machine)."""

    name = "sandbox"

    def charge(
        self,
        *,
        order_number: str,
        amount_minor: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> ProviderResult:
        if amount_minor <= 0:
            raise PaymentDeclined("invalid_amount", "The amount must be positive.")
        if payment_method in DECLINING_TOKENS:
            raise PaymentDeclined(DECLINING_TOKENS[payment_method], "Your card was declined.")
        if payment_method == RETRY_TOKEN:
            with _lock:
                first_attempt = idempotency_key not in _attempted
                _attempted.add(idempotency_key)
            if first_attempt:
                raise RetryablePaymentError("The card network did not answer in time; retry.")
        return ProviderResult(_id("pi", idempotency_key))

    def charge_off_session(
        self,
        *,
        customer_reference: str,
        payment_method: str,
        amount_minor: int,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> OffSessionChargeResult:
        reference = _id("pi", idempotency_key)
        if amount_minor <= 0:
            return OffSessionChargeResult("hard_decline", reference, "invalid_amount")
        code = DECLINING_TOKENS.get(payment_method)
        if code is not None:
            return OffSessionChargeResult(
                decline_outcome(code), reference, code, "Your card was declined."
            )
        if payment_method == RETRY_TOKEN:
            with _lock:
                first_attempt = idempotency_key not in _attempted
                _attempted.add(idempotency_key)
            if first_attempt:
                raise RetryablePaymentError("The card network did not answer in time; retry.")
        return OffSessionChargeResult("succeeded", reference)

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> ProviderResult:
        return ProviderResult(_id("re", idempotency_key))

    def transfer(
        self,
        *,
        destination: str,
        amount_minor: int,
        currency: str,
        transfer_group: str,
        idempotency_key: str,
    ) -> ProviderResult:
        return ProviderResult(_id("tr", idempotency_key))

    def reverse_transfer(
        self, *, transfer_id: str, amount_minor: int, idempotency_key: str
    ) -> ProviderResult:
        return ProviderResult(_id("trr", idempotency_key))
