"""The webhook inbox: check the signature, store the event, then act on it (and retry later).

Signature header ``X-Orderly-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``, computed over
``"<t>.<raw body>"`` with the sender's secret; several ``v1`` values are accepted (secret
rotation), the timestamp must be within five minutes (replay window), comparisons are
constant-time.

An app registers a source kind once (in its ``AppConfig.ready``) with the function that acts on a
stored event, then answers its webhook view with ``receive``::

    register_source("subscription", act=act_on_event, not_found=lambda p: ("id", "No such plan."))

    def post(self, request, sender):
        secret = setting_secret("SUBSCRIPTION_WEBHOOK_SECRETS", sender)
        if secret is None:
            return Response({"detail": "Unknown sender."}, status=404)
        return receive(request, source=f"subscription:{sender}", secret=secret,
                       serializer_class=SubscriptionEventSerializer)

Answers of ``receive``: bad signature 401, malformed body 400 naming the field; the event is
stored under its unique (source, event id) in its own transaction before anything else, and a
repeat of a stored event answers 200 ``duplicate`` without acting (unless acting on it failed
before: then the repeat acts again). Acting: an ``ApplicationError`` is a final refusal (409,
event processed with the refusal as ``last_error``), a missing object is a final 400 naming the
field; any other error leaves the event FAILED and answers 202 ``stored, will retry``; the
periodic ``retry_webhook_events`` acts on it again.

Out of order: an event whose precondition has not arrived yet (``NotYet``: a delivery before
its shipment) is kept FAILED and answered 202 ``waiting``; so is an event that arrives while an
earlier event with the same ordering key (one shipment, one sub-order: the source's
``ordering_key``) is still FAILED; it is acted on after that one. The sweep retries them in
arrival order, and ``retry_waiting_events`` acts on them at once when their precondition
arrives (the shipment was recorded). A repeat of a waiting event acts again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .errors import ApplicationError, NotYet
from .models import WebhookEvent
from .parsers import InvalidJson, strict_loads

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Orderly-Signature"
TOLERANCE_SECONDS = 300
MAX_ATTEMPTS = 20


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


def setting_secret(setting: str, sender: str) -> str | None:
    """``sender``'s secret in the settings dict ``setting`` (``config.settings`` reads it from
    the environment once, as ``"name=<secret>,name=<secret>"``); None if it has none."""
    configured = getattr(settings, setting, None) or {}
    found = {str(name).lower(): str(secret) for name, secret in configured.items()}
    return found.get(sender.lower()) or None


# ------------------------------------------------------------------------------ sources
@dataclass(frozen=True)
class WebhookSource:
    """How to act on a stored event of one source kind."""

    kind: str
    act: Callable[[WebhookEvent], object]
    # (field, message) answered with 400 when ``act`` raises ObjectDoesNotExist.
    not_found: Callable[[dict[str, Any]], tuple[str, str]]
    # (source, payload) -> key of the events acted on in arrival order ("" for none).
    ordering_key: Callable[[str, dict[str, Any]], str] = lambda _source, _payload: ""


SOURCES: dict[str, WebhookSource] = {}


def register_source(
    kind: str,
    *,
    act: Callable[[WebhookEvent], object],
    not_found: Callable[[dict[str, Any]], tuple[str, str]] = lambda _payload: (
        "body",
        "Nothing matches this event.",
    ),
    ordering_key: Callable[[str, dict[str, Any]], str] | None = None,
) -> WebhookSource:
    """Register (or replace) the handler of events whose source is ``"<kind>:<sender>"``."""
    SOURCES[kind] = WebhookSource(
        kind=kind,
        act=act,
        not_found=not_found,
        ordering_key=ordering_key or (lambda _source, _payload: ""),
    )
    return SOURCES[kind]


def _source_of(event: WebhookEvent) -> WebhookSource:
    kind = event.source.partition(":")[0]
    if kind not in SOURCES:
        raise LookupError(f"No webhook source registered for {event.source}")
    return SOURCES[kind]


# ------------------------------------------------------------------------------ storing, acting
@dataclass(frozen=True)
class Stored:
    event: WebhookEvent
    duplicate: bool


def webhook_event_store(*, source: str, event_id: str, event_type: str, payload: Any) -> Stored:
    """Store the event durably (own transaction); an already stored (source, id) is a duplicate."""
    existing = WebhookEvent.objects.filter(source=source, event_id=event_id).first()
    if existing is not None:
        return Stored(existing, True)
    kind = source.partition(":")[0]
    ordering_key = SOURCES[kind].ordering_key(source, payload) if kind in SOURCES else ""
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                source=source,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                ordering_key=ordering_key[:300],
            )
    except IntegrityError:  # the same event arrived twice at once: the other one stored it
        return Stored(WebhookEvent.objects.get(source=source, event_id=event_id), True)
    return Stored(event, False)


REFUSALS = (ApplicationError, ObjectDoesNotExist)
# What ``webhook_event_process`` returns for an event kept FAILED until its precondition arrives.
WAITING = "waiting"


def _earlier_failed(event: WebhookEvent) -> WebhookEvent | None:
    """An earlier event with the same ordering key still waiting to be acted on, if any."""
    if not event.ordering_key:
        return None
    return (
        WebhookEvent.objects.filter(
            ordering_key=event.ordering_key,
            status=WebhookEvent.S.FAILED,
            attempts__lt=MAX_ATTEMPTS,
            pk__lt=event.pk,
        )
        .order_by("pk")
        .first()
    )


def _keep_waiting(event: WebhookEvent, reason: str) -> str:
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEvent.S.FAILED, last_error=reason[:2000]
    )
    return WAITING


def webhook_event_process(*, event: WebhookEvent) -> str:
    """Act on a stored event once; returns its new status (or ``WAITING``).

    A refusal (``ApplicationError``, or the object the event names does not exist) is final: the
    event is marked processed with the refusal as its error, and the refusal is raised again.
    A precondition that has not arrived (``NotYet``), or an earlier event of the same ordering
    key still FAILED, keeps the event FAILED (``WAITING``) for a later attempt.
    """
    earlier = _earlier_failed(event)
    if earlier is not None:
        # Not an attempt of its own: it waits for the earlier one, which is retried first.
        return _keep_waiting(event, f"Waits for the earlier event {earlier.event_id}.")
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    try:
        _source_of(event).act(event)
    except NotYet as not_yet:
        return _keep_waiting(event, f"Waiting: {not_yet.message}")
    except REFUSALS as refusal:
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
    ).order_by("received_at", "pk")[:limit]
    return _process_all(list(pending))


def _process_all(events: list[WebhookEvent]) -> dict[str, int]:
    counts = {"processed": 0, "failed": 0, "refused": 0, "waiting": 0}
    for event in events:
        try:
            outcome = webhook_event_process(event=event)
        except REFUSALS:
            counts["refused"] += 1
            continue
        if outcome == WAITING:
            counts["waiting"] += 1
        else:
            counts["processed" if outcome == WebhookEvent.S.PROCESSED else "failed"] += 1
    return counts


def retry_waiting_events(*, ordering_key: str) -> dict[str, int]:
    """Act now on the FAILED events of ``ordering_key``, in arrival order (their precondition
    just arrived); attempts used up by the sweep do not stop them."""
    waiting = WebhookEvent.objects.filter(
        ordering_key=ordering_key, status=WebhookEvent.S.FAILED
    ).order_by("received_at", "pk")
    events = list(waiting)
    if events:
        WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(attempts=0)
    return _process_all(events)


def retry_waiting_events_on_commit(*, ordering_key: str) -> None:
    """``retry_waiting_events`` once the surrounding transaction commits (a failure is logged:
    the sweep retries the events anyway)."""
    transaction.on_commit(lambda: retry_waiting_events(ordering_key=ordering_key), robust=True)


# ------------------------------------------------------------------------------ the view side
class WebhookAnswerSerializer(serializers.Serializer):
    status = serializers.CharField()
    event_id = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


RESPONSES = {
    200: WebhookAnswerSerializer,
    202: OpenApiResponse(
        WebhookAnswerSerializer,
        "Stored; acting on it failed, or it waits for an earlier event or its precondition, "
        "and is retried.",
    ),
    400: OpenApiResponse(description="Malformed body; the response names the field."),
    401: OpenApiResponse(description="Missing, wrong or expired signature."),
    404: OpenApiResponse(description="Unknown sender."),
    409: OpenApiResponse(WebhookAnswerSerializer, "A business rule refused the event."),
}


def _problem(field: str, message: str) -> Response:
    return Response({field: [message]}, status=status.HTTP_400_BAD_REQUEST)


def receive(
    request: Request,
    *,
    source: str,
    secret: str | None,
    serializer_class: type,
    unknown: str = "Unknown sender.",
) -> Response:
    """Check, store and act on one webhook request (see the module docstring for the answers).

    ``secret`` is the sender's signing secret, None when the URL names no known sender (a 404
    saying ``unknown``); ``serializer_class`` validates the JSON body; it must have ``id`` and
    ``type`` fields.
    """
    if secret is None:
        return Response({"detail": unknown}, status=status.HTTP_404_NOT_FOUND)
    body = request.body
    if not signature_valid(request.headers.get(SIGNATURE_HEADER, ""), body, secret):
        return Response({"detail": "Invalid signature."}, status=status.HTTP_401_UNAUTHORIZED)
    try:
        payload = strict_loads(body)
    except InvalidJson as error:
        return _problem(error.path, error.message)
    if not isinstance(payload, dict):
        return _problem("body", "The body must be a JSON object.")
    serializer = serializer_class(data=payload)
    if not serializer.is_valid():
        return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
    data = serializer.validated_data
    stored = webhook_event_store(
        source=source, event_id=data["id"], event_type=data["type"], payload=payload
    )
    if stored.duplicate and stored.event.status != WebhookEvent.S.FAILED:
        return Response({"status": "duplicate", "event_id": data["id"]})
    try:
        outcome = webhook_event_process(event=stored.event)
    except ObjectDoesNotExist:
        return _problem(*_source_of(stored.event).not_found(payload))
    except ApplicationError as refusal:
        return Response(
            {"status": "refused", "event_id": data["id"], "detail": refusal.message},
            status=status.HTTP_409_CONFLICT,
        )
    if outcome == WAITING:
        waiting = WebhookEvent.objects.get(pk=stored.event.pk)
        return Response(
            {"status": "waiting", "event_id": data["id"], "detail": waiting.last_error},
            status=status.HTTP_202_ACCEPTED,
        )
    if outcome == WebhookEvent.S.FAILED:
        return Response(
            {"status": "stored, will retry", "event_id": data["id"]},
            status=status.HTTP_202_ACCEPTED,
        )
    return Response({"status": "processed", "event_id": data["id"]})
