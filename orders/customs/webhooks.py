"""Signed webhooks from customs brokers (``customs-update``) and international carriers.

``POST /api/webhooks/customs/<broker>/`` and ``POST /api/webhooks/shipments/<carrier>/``, signed
like the vendor webhooks (``X-Orderly-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
``"<t>.<raw body>"``, five-minute window, constant-time compare; secrets in ``signing``).

Answered by the core webhook inbox: unknown sender 404, bad signature 401, malformed body 400
naming the field; the event is stored under its unique (source, event id) before anything else,
a duplicate answers 200 without acting, an unknown shipment answers 400 naming the field.
Acting applies the update to the shipment and publishes the process message correlated by
shipment number; an update older than the last one applied is recorded but not acted on
(out-of-order delivery). A technical failure leaves the event FAILED for the retry sweep (202).
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import WebhookEvent
from core.webhooks import RESPONSES, receive, register_source

from . import services
from .models import InternationalShipment
from .signing import broker_secret, carrier_secret

logger = logging.getLogger(__name__)

TRACKING_STATUSES = ("in_transit", "out_for_delivery", "delivered", "exception")


class CustomsUpdateSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=["customs-update"])
    shipment = serializers.CharField(max_length=100)
    status = serializers.ChoiceField(choices=services.CUSTOMS_STATUSES)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    missing_documents = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    occurred_at = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["status"] in ("held", "rejected") and not attrs.get("reason", "").strip():
            raise serializers.ValidationError({"reason": "Say why customs holds or rejects."})
        return attrs


class TrackingEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=TRACKING_STATUSES)
    tracking_number = serializers.CharField(max_length=120)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False)


class AnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    event_id = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


def _when(payload: dict[str, Any]):
    value = payload.get("occurred_at")
    return parse_datetime(value) if isinstance(value, str) else None


def customs_webhook_event_act(event: WebhookEvent) -> None:
    """Act on a stored customs or international carrier event (also used by the retry sweep)."""
    payload = event.payload
    kind, _, sender = event.source.partition(":")
    if kind == "customs":
        shipment = InternationalShipment.objects.get(number=payload["shipment"])
        services.customs_update_receive(
            shipment=shipment,
            status=payload["status"],
            reason=payload.get("reason", ""),
            missing_documents=payload.get("missing_documents") or [],
            occurred_at=_when(payload),
            event_id=event.event_id,
            actor=f"broker:{sender}",
        )
    else:
        shipment = InternationalShipment.objects.get(
            carrier__iexact=sender, tracking_number=payload["tracking_number"]
        )
        services.tracking_receive(
            shipment=shipment,
            status=event.event_type,
            location=payload.get("location", ""),
            occurred_at=_when(payload),
            event_id=event.event_id,
            actor=f"carrier:{sender}",
        )


def register_webhook_sources() -> None:
    """The inbox acts on stored customs and international carrier events (and retries them)."""
    register_source(
        "customs",
        act=customs_webhook_event_act,
        not_found=lambda _payload: ("shipment", "No such shipment."),
    )
    register_source(
        "intl-carrier",
        act=customs_webhook_event_act,
        not_found=lambda _payload: ("tracking_number", "No such shipment for this carrier."),
    )


_RESPONSES = {
    **RESPONSES,
    400: OpenApiResponse(description="Malformed body or unknown shipment; names the field."),
}


class CustomsUpdateWebhookApi(APIView):
    """A customs broker's update for a shipment: cleared, held (with what is missing), rejected."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=CustomsUpdateSerializer, responses=_RESPONSES, tags=["webhooks"])
    def post(self, request: Request, broker: str) -> Response:
        return receive(
            request,
            source=f"customs:{broker.lower()}",
            secret=broker_secret(broker),
            serializer_class=CustomsUpdateSerializer,
            unknown="Unknown broker.",
        )


class ShipmentTrackingWebhookApi(APIView):
    """An international carrier's tracking event for a shipment it carries."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=TrackingEventSerializer, responses=_RESPONSES, tags=["webhooks"])
    def post(self, request: Request, carrier: str) -> Response:
        return receive(
            request,
            source=f"intl-carrier:{carrier.lower()}",
            secret=carrier_secret(carrier),
            serializer_class=TrackingEventSerializer,
            unknown="Unknown carrier.",
        )
