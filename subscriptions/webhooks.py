"""Signed payment provider webhook: asynchronous results of renewal charges.

``POST /api/webhooks/payments/<provider>/``, through the shared webhook inbox
(``core.webhooks``): HMAC signature with a timestamp (``X-Orderly-Signature``), the event stored
under its unique (source, event id) before acting, duplicates answered 200 and not acted on,
failures retried by ``retry_webhook_events``. Secrets per provider: ``PAYMENT_WEBHOOK_SECRETS``
(``"stripe=<secret>,sandbox=<secret>"`` in the environment); with ``DEBUG`` on and none
configured, ``dev-payment-secret``.

Acting: the pending payment attempt with that provider reference is settled (succeeded, or
declined with its decline code); the renewal job that waits on it finds the answer when it runs
again.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import WebhookEvent
from core.webhooks import RESPONSES, receive, register_source, setting_secret
from orders.payments.declines import decline_outcome

from . import services
from .models import AttemptOutcome, PaymentAttempt

DEV_PAYMENT_SECRET = "dev-payment-secret"  # noqa: S105 (local development only, DEBUG on)
EVENT_TYPES = ("payment_intent.succeeded", "payment_intent.payment_failed")


def payment_webhook_secret(provider: str) -> str | None:
    if getattr(settings, "PAYMENT_WEBHOOK_SECRETS", None):
        return setting_secret("PAYMENT_WEBHOOK_SECRETS", provider)
    return DEV_PAYMENT_SECRET if settings.DEBUG else None


class PaymentEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    payment_intent = serializers.CharField(max_length=200)
    decline_code = serializers.CharField(max_length=80, required=False, allow_blank=True)
    message = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["type"] == "payment_intent.payment_failed" and not attrs.get("decline_code"):
            raise serializers.ValidationError({"decline_code": "A failed payment needs its code."})
        return attrs


def payment_webhook_event_act(*, event: WebhookEvent) -> PaymentAttempt:
    """Settle the attempt the event is about; ``ObjectDoesNotExist`` if there is none."""
    payload = event.payload
    attempt = PaymentAttempt.objects.get(provider_reference=payload["payment_intent"])
    if payload["type"] == "payment_intent.succeeded":
        outcome, code = AttemptOutcome.SUCCEEDED, ""
    else:
        code = payload.get("decline_code", "")
        outcome = decline_outcome(code)
    result = services.payment_attempt_settle(
        attempt_id=attempt.pk,
        outcome=outcome,
        reference=payload["payment_intent"],
        decline_code=code,
        message=payload.get("message", ""),
    )
    return result.attempt


def register_webhook_sources() -> None:
    register_source(
        "payment",
        act=lambda event: payment_webhook_event_act(event=event),
        not_found=lambda _payload: ("payment_intent", "No renewal payment has this reference."),
    )


class PaymentWebhookApi(APIView):
    """The provider reports the final result of a renewal charge that was still processing."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=PaymentEventSerializer, responses=RESPONSES, tags=["webhooks"])
    def post(self, request: Request, provider: str) -> Response:
        return receive(
            request,
            source=f"payment:{provider.lower()}",
            secret=payment_webhook_secret(provider),
            serializer_class=PaymentEventSerializer,
            unknown="Unknown provider.",
        )
