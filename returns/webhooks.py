"""Signed webhook from carriers and the warehouse: a returned item arrived.

``POST /api/webhooks/returns/<source>/``, through the same webhook inbox as the vendor and
carrier webhooks (``core.webhooks``: signature check, store-then-act, the same answers and the
same retry sweep). Secrets per source: the ``RETURN_WEBHOOK_SECRETS`` setting (read from the
environment as ``"warehouse=<secret>,dhl=<secret>"``); a carrier that has a carrier webhook
secret may also report with it. Unknown source 404; an event naming no return is a 400 naming
the field.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import WebhookEvent
from core.webhooks import RESPONSES, receive, register_source, setting_secret
from vendors.webhooks import carrier_secret

from . import services
from .models import ReturnLabel, ReturnRequest

EVENT_TYPES = ("item_received",)


def return_webhook_secret(source: str) -> str | None:
    """The signing secret of ``source`` (see the module docstring), or None if unknown."""
    return setting_secret("RETURN_WEBHOOK_SECRETS", source) or carrier_secret(source)


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


def _return_of(payload: dict[str, Any]) -> ReturnRequest:
    if payload.get("return_number"):
        return ReturnRequest.objects.get(number=payload["return_number"])
    label = ReturnLabel.objects.select_related("return_request").get(
        tracking_number=payload.get("tracking_number", "")
    )
    return label.return_request


def return_webhook_event_act(*, event: WebhookEvent) -> ReturnRequest:
    """Act on a stored return event; raises on refusal (``ObjectDoesNotExist``: no such return)."""
    return_request = _return_of(event.payload)
    source = event.source.partition(":")[2]
    return services.return_item_receive(
        return_request=return_request, actor=f"{source}:{event.event_id}"
    )


def _not_found(payload: dict[str, Any]) -> tuple[str, str]:
    return ("return_number" if payload.get("return_number") else "tracking_number"), (
        "No such return."
    )


def register_webhook_sources() -> None:
    register_source(
        "return", act=lambda event: return_webhook_event_act(event=event), not_found=_not_found
    )


class ReturnWebhookApi(APIView):
    """A carrier scanned a return label at the warehouse, or the warehouse received an item."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=ReturnWebhookEventSerializer, responses=RESPONSES, tags=["webhooks"])
    def post(self, request: Request, source: str) -> Response:
        return receive(
            request,
            source=f"return:{source.lower()}",
            secret=return_webhook_secret(source),
            serializer_class=ReturnWebhookEventSerializer,
            unknown="Unknown source.",
        )
