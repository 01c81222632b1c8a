"""Stripe adapter: separate charges and transfers grouped by order (Stripe Connect).

One PaymentIntent per order (``transfer_group`` = order number), one Transfer per vendor payout to
the vendor's connected account with the same group, Refunds against the PaymentIntent, transfer
reversals when a vendor's share is refunded after it was paid out. Renewals are off-session
PaymentIntents on the customer's saved payment method (``off_session=true, confirm=true``);
a decline comes back as an answer with Stripe's ``decline_code``. Every call sends an
idempotency key, so a repeated job gets Stripe's first answer back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import stripe

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams

from .base import (
    OffSessionChargeResult,
    PaymentDeclined,
    PaymentError,
    ProviderResult,
    RetryablePaymentError,
)
from .declines import decline_outcome


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
        params: PaymentIntentCreateParams = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_reference,
            "payment_method": payment_method,
            "off_session": True,
            "confirm": True,
            "description": description,
            "metadata": {"idempotency_key": idempotency_key},
        }
        try:
            intent = self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            error = getattr(exc, "error", None)
            code = (
                getattr(error, "decline_code", None)
                or getattr(exc, "code", None)
                or "card_declined"
            )
            intent_id = getattr(getattr(error, "payment_intent", None), "id", None) or ""
            message = getattr(exc, "user_message", None) or str(exc)
            return OffSessionChargeResult(decline_outcome(code), intent_id, code, message[:300])
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise RetryablePaymentError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise PaymentError(str(exc)) from exc
        if intent.status == "succeeded":
            return OffSessionChargeResult("succeeded", intent.id)
        if intent.status == "processing":
            # The result arrives by webhook (payment_intent.succeeded / payment_failed).
            return OffSessionChargeResult("processing", intent.id)
        return OffSessionChargeResult(
            "hard_decline", intent.id, "authentication_required", "The bank asks the customer."
        )

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
