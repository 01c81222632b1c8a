"""Signed webhooks from vendors (fulfilment answers) and carriers (tracking events).

Signature header ``X-Orderly-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``, computed over
``"<t>.<raw body>"``; several ``v1`` values are accepted (secret rotation), the timestamp must be
within five minutes, comparisons are constant-time.

- Vendors sign with their own callback secret (``Vendor.callback_secret``).
- Carriers sign with a per-carrier secret from the environment: ``CARRIER_WEBHOOK_SECRETS`` =
  ``"dhl=<secret>,ups=<secret>"`` (a Django setting of that name, a dict, wins). A carrier without
  a secret is unknown (404). With ``DEBUG`` on and nothing configured, every carrier uses the
  local-only secret ``dev-carrier-secret`` so that the simulator works out of the box.

Order of checks: unknown sender 404, bad signature 401, malformed body 400 naming the field; then
the event is stored under its unique (source, event id) in its own transaction before anything
else: a duplicate answers 200 and does nothing. Acting on it (service + process message) happens
next; if that fails for a technical reason the event stays FAILED and ``retry_webhook_events``
tries again later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.models import WebhookEvent
from orders.services import ApplicationError, history_write

from . import services
from .models import Vendor, VendorSubOrder

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Orderly-Signature"
TOLERANCE_SECONDS = 300
MAX_ATTEMPTS = 20
DEV_CARRIER_SECRET = "dev-carrier-secret"  # noqa: S105 (local development only, DEBUG on)

VENDOR_EVENT_TYPES = ("accepted", "rejected", "shipped", "cancelled")
CARRIER_EVENT_TYPES = ("in_transit", "delivered")


# ------------------------------------------------------------------------------ signatures
def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The signature header value for ``body`` (used by senders, the simulator and tests)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signature_valid(header: str, body: bytes, secret: str, *, now: float | None = None) -> bool:
    """True if one ``v1`` of ``header`` signs ``body`` with ``secret`` within the tolerance."""
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates or not secret:
        return False
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    digest = expected.hexdigest()
    return any(hmac.compare_digest(digest, candidate) for candidate in candidates)


def carrier_secrets() -> dict[str, str]:
    """Carrier code -> signing secret (see the module docstring)."""
    configured = getattr(settings, "CARRIER_WEBHOOK_SECRETS", None)
    if isinstance(configured, dict):
        return {str(k).lower(): str(v) for k, v in configured.items()}
    raw = configured if isinstance(configured, str) else os.environ.get("CARRIER_WEBHOOK_SECRETS")
    secrets_by_carrier = {}
    for item in (raw or "").split(","):
        name, _, secret = item.strip().partition("=")
        if name and secret:
            secrets_by_carrier[name.strip().lower()] = secret.strip()
    return secrets_by_carrier


def carrier_secret(carrier: str) -> str | None:
    found = carrier_secrets()
    if found:
        return found.get(carrier.lower())
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


class WebhookAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    event_id = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


# ------------------------------------------------------------------------------ storing
@dataclass(frozen=True)
class Stored:
    event: WebhookEvent
    duplicate: bool


def webhook_event_store(*, source: str, event_id: str, event_type: str, payload: Any) -> Stored:
    """Store the event durably (own transaction); an already stored (source, id) is a duplicate."""
    existing = WebhookEvent.objects.filter(source=source, event_id=event_id).first()
    if existing is not None:
        return Stored(existing, True)
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                source=source, event_id=event_id, event_type=event_type, payload=payload
            )
    except IntegrityError:  # the same event arrived twice at once: the other one stored it
        return Stored(WebhookEvent.objects.get(source=source, event_id=event_id), True)
    return Stored(event, False)


def _vendor_sub_order(vendor_handle: str, number: str) -> VendorSubOrder:
    return VendorSubOrder.objects.get(vendor__handle=vendor_handle, number=number)


# Other apps' webhook sources (``"<kind>:<sender>"``) and how to act on a stored event of theirs
# again; each app registers its kind when it starts (e.g. returns: ``"return"``).
WEBHOOK_ACTORS: dict[str, Callable[[WebhookEvent], object]] = {}


def _act(event: WebhookEvent) -> None:
    """Do what the event says, through the same services the portal uses."""
    payload = event.payload
    kind, _, sender = event.source.partition(":")
    if kind in WEBHOOK_ACTORS:
        WEBHOOK_ACTORS[kind](event)
    elif kind == "vendor":
        sub_order = _vendor_sub_order(sender, payload["sub_order"])
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
    elif kind == "carrier":
        sub_order = _shipment(sender, payload["tracking_number"])
        actor = f"carrier:{sender}"
        if event.event_type == "delivered":
            services.sub_order_deliver(sub_order=sub_order, actor=actor)
        else:
            with transaction.atomic():
                history_write(
                    order=sub_order.order,
                    sub_order=sub_order,
                    event="carrier_in_transit",
                    actor=actor,
                    detail={"location": payload.get("location", "")},
                )
    else:  # pragma: no cover - sources are written by this module only
        raise ValueError(f"Unknown webhook source {event.source}")


def _shipment(carrier: str, tracking_number: str) -> VendorSubOrder:
    return VendorSubOrder.objects.select_related("order").get(
        carrier__iexact=carrier, tracking_number=tracking_number
    )


def webhook_event_process(*, event: WebhookEvent) -> str:
    """Act on a stored event once; returns its new status (a business refusal is final)."""
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    try:
        _act(event)
    except (ApplicationError, VendorSubOrder.DoesNotExist) as refusal:
        # Retrying cannot change a business rule's answer: record it and stop.
        message = getattr(refusal, "message", None) or str(refusal)
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.S.PROCESSED, processed_at=timezone.now(), last_error=message
        )
        raise
    except Exception as error:
        logger.warning("Webhook %s failed, will retry: %s", event, error, exc_info=True)
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.S.FAILED, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        return WebhookEvent.S.FAILED
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEvent.S.PROCESSED, processed_at=timezone.now(), last_error=""
    )
    return WebhookEvent.S.PROCESSED


def retry_webhook_events(*, older_than_seconds: int = 30, limit: int = 200) -> dict[str, int]:
    """Act again on events left FAILED (or RECEIVED and stale: the process died mid-way)."""
    stale = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    pending = WebhookEvent.objects.filter(
        Q(status=WebhookEvent.S.FAILED) | Q(status=WebhookEvent.S.RECEIVED, received_at__lt=stale),
        attempts__lt=MAX_ATTEMPTS,
    ).order_by("received_at")[:limit]
    counts = {"processed": 0, "failed": 0, "refused": 0}
    for event in pending:
        try:
            outcome = webhook_event_process(event=event)
        except (ApplicationError, VendorSubOrder.DoesNotExist):
            counts["refused"] += 1
            continue
        counts["processed" if outcome == WebhookEvent.S.PROCESSED else "failed"] += 1
    return counts


# ------------------------------------------------------------------------------ views
def _problem(field: str, message: str) -> Response:
    return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)


def _receive(request: Request, *, source: str, secret: str, serializer_class: type) -> Response:
    body = request.body
    if not signature_valid(request.headers.get(SIGNATURE_HEADER, ""), body, secret):
        return Response({"detail": "Invalid signature."}, status=status.HTTP_401_UNAUTHORIZED)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _problem("body", "The body is not valid JSON.")
    if not isinstance(payload, dict):
        return _problem("body", "The body must be a JSON object.")
    serializer = serializer_class(data=payload)
    if not serializer.is_valid():
        return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
    data = serializer.validated_data
    stored = webhook_event_store(
        source=source, event_id=data["id"], event_type=data["type"], payload=payload
    )
    if stored.duplicate:
        return Response({"status": "duplicate", "event_id": data["id"]})
    try:
        outcome = webhook_event_process(event=stored.event)
    except VendorSubOrder.DoesNotExist:
        field = "sub_order" if "sub_order" in payload else "tracking_number"
        return _problem(field, "No such shipment or sub-order for this sender.")
    except ApplicationError as refusal:
        return Response(
            {"status": "refused", "event_id": data["id"], "detail": refusal.message},
            status=status.HTTP_409_CONFLICT,
        )
    if outcome == WebhookEvent.S.FAILED:
        return Response({"status": "stored, will retry", "event_id": data["id"]}, status=202)
    return Response({"status": "processed", "event_id": data["id"]})


_RESPONSES = {
    200: WebhookAnswerSerializer,
    202: OpenApiResponse(WebhookAnswerSerializer, "Stored; acting on it failed and is retried."),
    400: OpenApiResponse(description="Malformed body; the response names the field."),
    401: OpenApiResponse(description="Missing, wrong or expired signature."),
    404: OpenApiResponse(description="Unknown sender."),
    409: OpenApiResponse(WebhookAnswerSerializer, "A business rule refused the event."),
}


class VendorWebhookApi(APIView):
    """A vendor's answer about one of its sub-orders: accepted, rejected, shipped, cancelled."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=VendorEventSerializer, responses=_RESPONSES, tags=["webhooks"])
    def post(self, request: Request, handle: str) -> Response:
        vendor = Vendor.objects.filter(handle=handle, is_active=True).first()
        if vendor is None:
            return Response({"detail": "Unknown vendor."}, status=status.HTTP_404_NOT_FOUND)
        return _receive(
            request,
            source=f"vendor:{vendor.handle}",
            secret=vendor.callback_secret,
            serializer_class=VendorEventSerializer,
        )


class CarrierWebhookApi(APIView):
    """A carrier's tracking event for a shipment: in transit or delivered."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=CarrierEventSerializer, responses=_RESPONSES, tags=["webhooks"])
    def post(self, request: Request, carrier: str) -> Response:
        secret = carrier_secret(carrier)
        if secret is None:
            return Response({"detail": "Unknown carrier."}, status=status.HTTP_404_NOT_FOUND)
        return _receive(
            request,
            source=f"carrier:{carrier.lower()}",
            secret=secret,
            serializer_class=CarrierEventSerializer,
        )
