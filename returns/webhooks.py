"""Signed webhook from carriers and the warehouse: a returned item arrived.

``POST /api/webhooks/returns/<source>/`` with the same signature scheme as the vendor and carrier
webhooks (``X-Orderly-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``, verified by the same
function). Secrets per source: ``RETURN_WEBHOOK_SECRETS`` (``"warehouse=<secret>,dhl=<secret>"``
in the environment, or a dict setting); a carrier configured in ``CARRIER_WEBHOOK_SECRETS`` may
also report with its carrier secret. Unknown source 404, bad signature 401, malformed body 400
naming the field; the event is stored under its unique (source, event id) before acting, a
duplicate answers 200. An event stored but not acted on (a technical failure, 503) is acted on
when the sender repeats it.
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

from orders.models import WebhookEvent
from vendors.webhooks import (
    SIGNATURE_HEADER,
    carrier_secret,
    signature_valid,
    webhook_event_store,
)

from . import services
from .models import ReturnLabel, ReturnRequest

logger = logging.getLogger(__name__)

EVENT_TYPES = ("item_received",)


def return_webhook_secret(source: str) -> str | None:
    """The signing secret of ``source`` (see the module docstring), or None if unknown."""
    configured = getattr(settings, "RETURN_WEBHOOK_SECRETS", None)
    if isinstance(configured, dict):
        found = {str(k).lower(): str(v) for k, v in configured.items()}
    else:
        raw = (
            configured
            if isinstance(configured, str)
            else os.environ.get("RETURN_WEBHOOK_SECRETS", "")
        )
        found = {}
        for item in (raw or "").split(","):
            name, _, secret = item.strip().partition("=")
            if name and secret:
                found[name.strip().lower()] = secret.strip()
    return found.get(source.lower()) or carrier_secret(source)


class ReturnWebhookEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    return_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=120, required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("return_number") or attrs.get("tracking_number")):
            raise serializers.ValidationError(
                {"return_number": "Give the return number or the label's tracking number."}
            )
        return attrs


class ReturnWebhookAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    event_id = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


def _return_of(payload: dict[str, Any]) -> ReturnRequest | None:
    if payload.get("return_number"):
        return ReturnRequest.objects.filter(number=payload["return_number"]).first()
    label = (
        ReturnLabel.objects.select_related("return_request")
        .filter(tracking_number=payload.get("tracking_number", ""))
        .first()
    )
    return label.return_request if label else None


def return_webhook_event_act(*, event: WebhookEvent) -> ReturnRequest:
    """Act on a stored return event (for a retry of events left FAILED); raises on refusal."""
    return_request = _return_of(event.payload)
    if return_request is None:
        raise services.ApplicationError("No such return.", field="return_number")
    source = event.source.partition(":")[2]
    return services.return_item_receive(
        return_request=return_request, actor=f"{source}:{event.event_id}"
    )


def _mark(event: WebhookEvent, outcome: str, error: str = "") -> None:
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=outcome,
        processed_at=timezone.now() if outcome == WebhookEvent.S.PROCESSED else None,
        last_error=error[:2000],
    )


class ReturnWebhookApi(APIView):
    """A carrier scanned a return label at the warehouse, or the warehouse received an item."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=ReturnWebhookEventSerializer,
        responses={
            200: ReturnWebhookAnswerSerializer,
            400: OpenApiResponse(description="Malformed body; the response names the field."),
            401: OpenApiResponse(description="Missing, wrong or expired signature."),
            404: OpenApiResponse(description="Unknown source."),
            409: OpenApiResponse(ReturnWebhookAnswerSerializer, "The return is not waiting."),
            503: OpenApiResponse(ReturnWebhookAnswerSerializer, "Stored; repeat to act on it."),
        },
        tags=["webhooks"],
    )
    def post(self, request: Request, source: str) -> Response:
        secret = return_webhook_secret(source)
        if secret is None:
            return Response({"detail": "Unknown source."}, status=status.HTTP_404_NOT_FOUND)
        body = request.body
        if not signature_valid(request.headers.get(SIGNATURE_HEADER, ""), body, secret):
            return Response({"detail": "Invalid signature."}, status=status.HTTP_401_UNAUTHORIZED)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return Response({"body": ["The body is not valid JSON."]}, status=400)
        if not isinstance(payload, dict):
            return Response({"body": ["The body must be a JSON object."]}, status=400)
        serializer = ReturnWebhookEventSerializer(data=payload)
        if not serializer.is_valid():
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        data = serializer.validated_data
        return_request = _return_of(data)
        if return_request is None:
            field = "return_number" if data.get("return_number") else "tracking_number"
            return Response({field: ["No such return."]}, status=status.HTTP_400_BAD_REQUEST)
        stored = webhook_event_store(
            source=f"return:{source.lower()}",
            event_id=data["id"],
            event_type=data["type"],
            payload=payload,
        )
        if stored.duplicate and stored.event.status == WebhookEvent.S.PROCESSED:
            return Response({"status": "duplicate", "event_id": data["id"]})
        WebhookEvent.objects.filter(pk=stored.event.pk).update(attempts=F("attempts") + 1)
        try:
            return_webhook_event_act(event=stored.event)
        except services.ApplicationError as refusal:
            _mark(stored.event, WebhookEvent.S.PROCESSED, refusal.message)
            return Response(
                {"status": "refused", "event_id": data["id"], "detail": refusal.message},
                status=status.HTTP_409_CONFLICT,
            )
        except Exception as error:  # technical: keep the event, the sender repeats it
            logger.warning("Return webhook %s failed: %s", data["id"], error, exc_info=True)
            _mark(stored.event, WebhookEvent.S.FAILED, f"{type(error).__name__}: {error}")
            return Response(
                {"status": "stored, repeat to retry", "event_id": data["id"]},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        _mark(stored.event, WebhookEvent.S.PROCESSED)
        return Response({"status": "processed", "event_id": data["id"]})
