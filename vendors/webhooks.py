"""Signed webhooks from vendors (fulfilment answers) and carriers (tracking events).

Signature, storing, acting and retrying are the webhook inbox's (``core.webhooks``, whose
docstring lists the answers); this module names the senders, checks their bodies and acts on
their events through the same services the portal uses.

- Vendors sign with their own callback secret (``Vendor.callback_secret``).
- Carriers sign with a per-carrier secret, the ``CARRIER_WEBHOOK_SECRETS`` setting (read from
  the environment as ``"dhl=<secret>,ups=<secret>"``). A carrier without a secret is unknown
  (404). With ``DEBUG`` on and nothing configured, every carrier uses the local-only secret
  ``dev-carrier-secret`` so that the simulator works out of the box.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotYet
from core.models import WebhookEvent
from core.webhooks import RESPONSES, receive, register_source, setting_secret

from . import services
from .hooks import order_side
from .models import SubOrderEvent, Vendor, VendorSubOrder

DEV_CARRIER_SECRET = "dev-carrier-secret"  # noqa: S105 (local development only, DEBUG on)

VENDOR_EVENT_TYPES = ("accepted", "rejected", "shipped", "cancelled")
CARRIER_EVENT_TYPES = ("in_transit", "delivered")


def carrier_secret(carrier: str) -> str | None:
    """The carrier's signing secret (see the module docstring), or None if it is unknown."""
    if getattr(settings, "CARRIER_WEBHOOK_SECRETS", None):
        return setting_secret("CARRIER_WEBHOOK_SECRETS", carrier)
    return DEV_CARRIER_SECRET if settings.DEBUG else None


# ------------------------------------------------------------------------------ bodies
class VendorEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=VENDOR_EVENT_TYPES)
    sub_order = serializers.CharField(max_length=80)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    carrier = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["type"] == "shipped":
            for name in ("carrier", "tracking_number"):
                if not attrs.get(name, "").strip():
                    raise serializers.ValidationError({name: "Required for a shipped event."})
        if attrs["type"] in ("rejected", "cancelled") and not attrs.get("reason", "").strip():
            raise serializers.ValidationError({"reason": "Say why."})
        return attrs


class CarrierEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=CARRIER_EVENT_TYPES)
    tracking_number = serializers.CharField(max_length=120)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False)


# ------------------------------------------------------------------------------ acting
def act_on_vendor_event(event: WebhookEvent) -> None:
    sender = event.source.partition(":")[2]
    payload = event.payload
    sub_order = VendorSubOrder.objects.get(vendor__handle=sender, number=payload["sub_order"])
    actor = f"vendor:{sender}"
    if event.event_type == "accepted":
        services.sub_order_accept(sub_order=sub_order, actor=actor)
    elif event.event_type in ("rejected", "cancelled"):
        services.sub_order_reject(sub_order=sub_order, reason=payload["reason"], actor=actor)
    elif event.event_type == "shipped":
        services.sub_order_ship(
            sub_order=sub_order,
            carrier=payload["carrier"],
            tracking_number=payload["tracking_number"],
            actor=actor,
        )


def act_on_carrier_event(event: WebhookEvent) -> None:
    sender = event.source.partition(":")[2]
    payload = event.payload
    tracking_number = str(payload["tracking_number"]).strip()
    # (carrier, tracking number) is unique: at most one shipment.
    sub_order = (
        VendorSubOrder.objects.select_related("order")
        .filter(carrier=sender.lower(), tracking_number=tracking_number)
        .first()
    )
    if sub_order is None:
        # The vendor's "shipped" may still be on its way: keep the event until it is.
        raise NotYet(f"No shipment with {sender} tracking number {tracking_number} yet.")
    actor = f"carrier:{sender}"
    if event.event_type == "delivered":
        services.sub_order_deliver(sub_order=sub_order, actor=actor)
        return
    with transaction.atomic():
        order_side().record(
            sub_order=sub_order,
            event=SubOrderEvent.CARRIER_IN_TRANSIT,
            actor=actor,
            detail={"location": payload.get("location", "")},
        )


def _not_found(payload: dict[str, Any]) -> tuple[str, str]:
    field = "sub_order" if "sub_order" in payload else "tracking_number"
    return field, "No such shipment or sub-order for this sender."


def _vendor_ordering_key(_source: str, payload: dict[str, Any]) -> str:
    return f"suborder:{payload.get('sub_order', '')}"


def _carrier_ordering_key(source: str, payload: dict[str, Any]) -> str:
    return services.shipment_key(
        source.partition(":")[2], str(payload.get("tracking_number", "")).strip()
    )


def register_webhook_sources() -> None:
    register_source(
        "vendor",
        act=act_on_vendor_event,
        not_found=_not_found,
        ordering_key=_vendor_ordering_key,
    )
    register_source(
        "carrier",
        act=act_on_carrier_event,
        not_found=_not_found,
        ordering_key=_carrier_ordering_key,
    )


# ------------------------------------------------------------------------------ views
class VendorWebhookApi(APIView):
    """A vendor's answer about one of its sub-orders: accepted, rejected, shipped, cancelled."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=VendorEventSerializer, responses=RESPONSES, tags=["webhooks"])
    def post(self, request: Request, handle: str) -> Response:
        vendor = Vendor.objects.filter(handle=handle, is_active=True).first()
        return receive(
            request,
            source=f"vendor:{handle}",
            secret=vendor.callback_secret if vendor is not None else None,
            serializer_class=VendorEventSerializer,
            unknown="Unknown vendor.",
        )


class CarrierWebhookApi(APIView):
    """A carrier's tracking event for a shipment: in transit or delivered."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=CarrierEventSerializer, responses=RESPONSES, tags=["webhooks"])
    def post(self, request: Request, carrier: str) -> Response:
        return receive(
            request,
            source=f"carrier:{carrier.lower()}",
            secret=carrier_secret(carrier),
            serializer_class=CarrierEventSerializer,
            unknown="Unknown carrier.",
        )
