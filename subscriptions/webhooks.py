"""Signed payment provider webhook: asynchronous results of renewal charges.

``POST /api/webhooks/payments/<provider>/`` with the signature scheme of the other webhooks
(``X-Orderly-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` over ``"<t>.<raw body>"``,
verified by the same function, five-minute replay window). Secrets per provider:
``PAYMENT_WEBHOOK_SECRETS`` (``"stripe=<secret>,sandbox=<secret>"`` or a dict setting); with
``DEBUG`` on and none configured, ``dev-payment-secret``. Unknown provider 404, bad signature 401,
malformed body 400 naming the field; the event is stored under its unique (source, event id)
before acting, a duplicate answers 200. An event stored but not acted on (503) is acted on when
the sender repeats it or the webhook retry sweep runs.

Acting: the pending payment attempt with that provider reference is settled (succeeded, or
declined with its decline code); the renewal job that waits on it finds the answer when it runs
again. This uses the webhook store of ``vendors.webhooks`` and ``orders.models.WebhookEvent``
until the shared inbox exists.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from orders.models import WebhookEvent
from orders.payments.declines import decline_outcome
from vendors.webhooks import SIGNATURE_HEADER, signature_valid, webhook_event_store

from . import services
from .models import AttemptOutcome, PaymentAttempt

logger = logging.getLogger(__name__)

DEV_PAYMENT_SECRET = "dev-payment-secret"  # noqa: S105 (local development only, DEBUG on)
EVENT_TYPES = ("payment_intent.succeeded", "payment_intent.payment_failed")


def payment_webhook_secret(provider: str) -> str | None:
    configured = getattr(settings, "PAYMENT_WEBHOOK_SECRETS", None)
    if isinstance(configured, dict):
        found = {str(k).lower(): str(v) for k, v in configured.items()}
    else:
        raw = (
            configured
            if isinstance(configured, str)
            else os.environ.get("PAYMENT_WEBHOOK_SECRETS", "")
        )
        found = {}
        for item in (raw or "").split(","):
            name, _, secret = item.strip().partition("=")
            if name and secret:
                found[name.strip().lower()] = secret.strip()
    if found:
        return found.get(provider.lower())
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


class PaymentWebhookAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    event_id = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


def payment_webhook_event_act(*, event: WebhookEvent) -> PaymentAttempt:
    """Settle the attempt the event is about (also used by the retry sweep); raises on refusal."""
    payload = event.payload
    attempt = PaymentAttempt.objects.filter(provider_reference=payload["payment_intent"]).first()
    if attempt is None:
        raise ApplicationError("No renewal payment has this reference.", field="payment_intent")
    if payload["type"] == "payment_intent.succeeded":
        outcome = AttemptOutcome.SUCCEEDED
        code = ""
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


def _mark(event: WebhookEvent, outcome: str, error: str = "") -> None:
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=outcome,
        processed_at=timezone.now() if outcome == WebhookEvent.S.PROCESSED else None,
        last_error=error[:2000],
    )


class PaymentWebhookApi(APIView):
    """The provider reports the final result of a renewal charge that was still processing."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=PaymentEventSerializer,
        responses={
            200: PaymentWebhookAnswerSerializer,
            400: OpenApiResponse(description="Malformed body; the response names the field."),
            401: OpenApiResponse(description="Missing, wrong or expired signature."),
            404: OpenApiResponse(description="Unknown provider."),
            409: OpenApiResponse(PaymentWebhookAnswerSerializer, "No such renewal payment."),
            503: OpenApiResponse(PaymentWebhookAnswerSerializer, "Stored; repeat to act on it."),
        },
        tags=["webhooks"],
    )
    def post(self, request: Request, provider: str) -> Response:
        secret = payment_webhook_secret(provider)
        if secret is None:
            return Response({"detail": "Unknown provider."}, status=status.HTTP_404_NOT_FOUND)
        body = request.body
        if not signature_valid(request.headers.get(SIGNATURE_HEADER, ""), body, secret):
            return Response({"detail": "Invalid signature."}, status=status.HTTP_401_UNAUTHORIZED)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return Response({"body": ["The body is not valid JSON."]}, status=400)
        if not isinstance(payload, dict):
            return Response({"body": ["The body must be a JSON object."]}, status=400)
        serializer = PaymentEventSerializer(data=payload)
        if not serializer.is_valid():
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        data = serializer.validated_data
        stored = webhook_event_store(
            source=f"payment:{provider.lower()}",
            event_id=data["id"],
            event_type=data["type"],
            payload=payload,
        )
        if stored.duplicate and stored.event.status == WebhookEvent.S.PROCESSED:
            return Response({"status": "duplicate", "event_id": data["id"]})
        WebhookEvent.objects.filter(pk=stored.event.pk).update(attempts=F("attempts") + 1)
        try:
            payment_webhook_event_act(event=stored.event)
        except ApplicationError as refusal:
            _mark(stored.event, WebhookEvent.S.PROCESSED, refusal.message)
            return Response(
                {"status": "refused", "event_id": data["id"], "detail": refusal.message},
                status=status.HTTP_409_CONFLICT,
            )
        except Exception as error:  # technical: keep the event, the sender repeats it
            logger.warning("Payment webhook %s failed: %s", data["id"], error, exc_info=True)
            _mark(stored.event, WebhookEvent.S.FAILED, f"{type(error).__name__}: {error}")
            return Response(
                {"status": "stored, repeat to retry", "event_id": data["id"]},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        _mark(stored.event, WebhookEvent.S.PROCESSED)
        return Response({"status": "processed", "event_id": data["id"]})
