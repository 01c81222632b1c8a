"""The payment provider port: what the order and payout services need from a card processor.

Every call carries an idempotency key: the provider answers a repeated call with the first
result instead of moving money again (Stripe does this for 24 hours; the sandbox for ever).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class PaymentError(Exception):
    """The provider could not do what was asked."""


class PaymentDeclined(PaymentError):
    """The card was declined: do not retry with the same card."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code


class RetryablePaymentError(PaymentError):
    """A temporary failure (network, rate limit, provider error): retry with the same key."""


@dataclass(frozen=True)
class ProviderResult:
    """The provider's id for what it did (charge, refund, transfer or reversal)."""

    id: str


@dataclass(frozen=True)
class OffSessionChargeResult:
    """The answer to a charge on a saved card without the customer present.

    ``outcome`` is ``succeeded``, ``processing`` (the result follows by webhook),
    ``soft_decline`` (the same card may work later: insufficient funds, a generic decline) or
    ``hard_decline`` (never retry this card: lost or stolen, closed account, "do not try
    again"); see ``orders.payments.declines``.
    """

    outcome: str
    reference: str = ""
    decline_code: str = ""
    message: str = ""

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


class PaymentProvider(Protocol):
    """A card processor with separate charges and transfers (Stripe Connect style)."""

    name: str

    def charge(
        self,
        *,
        order_number: str,
        amount_minor: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> ProviderResult:
        """Authorize and capture ``amount_minor`` for an order (transfer group = order number)."""
        ...

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
        """Charge a saved payment method for a renewal; declines are answers, not exceptions.

        A temporary failure (network, provider error) raises ``RetryablePaymentError``: repeat
        with the same key.
        """
        ...

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> ProviderResult:
        """Return ``amount_minor`` of a captured charge to the customer."""
        ...

    def transfer(
        self,
        *,
        destination: str,
        amount_minor: int,
        currency: str,
        transfer_group: str,
        idempotency_key: str,
    ) -> ProviderResult:
        """Pay a vendor's connected account from the platform balance."""
        ...

    def reverse_transfer(
        self, *, transfer_id: str, amount_minor: int, idempotency_key: str
    ) -> ProviderResult:
        """Take back (part of) a transfer from the vendor's account."""
        ...
