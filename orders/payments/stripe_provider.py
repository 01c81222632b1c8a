"""Stripe adapter: separate charges and transfers grouped by order (Stripe Connect).

One PaymentIntent per order (``transfer_group`` = order number), one Transfer per vendor payout to
the vendor's connected account with the same group, Refunds against the PaymentIntent, transfer
reversals when a vendor's share is refunded after it was paid out. Every call sends an
idempotency key, so a repeated job gets Stripe's first answer back.
"""

from __future__ import annotations

from typing import Any

import stripe

from .base import PaymentDeclined, PaymentError, ProviderResult, RetryablePaymentError


class StripeProvider:
    """Talks to Stripe through the official SDK (``http_client`` is pluggable for tests)."""

    name = "stripe"

    def __init__(self, api_key: str, *, http_client: Any = None, max_network_retries: int = 0):
        self.client = stripe.StripeClient(
            api_key, http_client=http_client, max_network_retries=max_network_retries
        )

    def _call(self, operation: Any, *args: Any, idempotency_key: str, **params: Any) -> Any:
        try:
            return operation(*args, params=params, options={"idempotency_key": idempotency_key})
        except stripe.CardError as exc:
            code = getattr(exc, "code", None) or "card_declined"
            raise PaymentDeclined(code, getattr(exc, "user_message", None) or str(exc)) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise RetryablePaymentError(str(exc)) from exc
        except stripe.APIError as exc:  # Stripe's own 5xx: safe to retry with the same key
            raise RetryablePaymentError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise PaymentError(str(exc)) from exc

    def charge(
        self,
        *,
        order_number: str,
        amount_minor: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
    ) -> ProviderResult:
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "confirm": True,
            "payment_method_types": ["card"],
            "transfer_group": order_number,
            "metadata": {"order_number": order_number},
        }
        if payment_method.startswith("tok_"):
            params["payment_method_data"] = {"type": "card", "card": {"token": payment_method}}
        else:
            params["payment_method"] = payment_method
        intent = self._call(
            self.client.v1.payment_intents.create, idempotency_key=idempotency_key, **params
        )
        if intent.status != "succeeded":
            raise PaymentDeclined(
                f"payment_intent_{intent.status}", "The payment needs an action we cannot take."
            )
        return ProviderResult(intent.id)

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> ProviderResult:
        refund = self._call(
            self.client.v1.refunds.create,
            idempotency_key=idempotency_key,
            payment_intent=charge_id,
            amount=amount_minor,
        )
        return ProviderResult(refund.id)

    def transfer(
        self,
        *,
        destination: str,
        amount_minor: int,
        currency: str,
        transfer_group: str,
        idempotency_key: str,
    ) -> ProviderResult:
        transfer = self._call(
            self.client.v1.transfers.create,
            idempotency_key=idempotency_key,
            amount=amount_minor,
            currency=currency.lower(),
            destination=destination,
            transfer_group=transfer_group,
        )
        return ProviderResult(transfer.id)

    def reverse_transfer(
        self, *, transfer_id: str, amount_minor: int, idempotency_key: str
    ) -> ProviderResult:
        reversal = self._call(
            self.client.v1.transfers.reversals.create,
            transfer_id,
            idempotency_key=idempotency_key,
            amount=amount_minor,
        )
        return ProviderResult(reversal.id)
