"""The webhook inbox: every signed incoming event, stored before anything is done with it."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed (will be retried)"


class WebhookEvent(models.Model):
    """An incoming webhook, stored before anything is done with it (source + event id unique).

    ``source`` is ``"<kind>:<sender>"`` (``vendor:acme``, ``carrier:dhl``, ``return:warehouse``);
    the kind names the handler registered with ``core.webhooks.register_source``.
    """

    S = WebhookEventStatus
    source = models.CharField(max_length=80)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=60)
    payload = models.JSONField()
    # Events with the same key (one shipment, one sub-order) are acted on in arrival order.
    ordering_key = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(max_length=12, choices=S.choices, default=S.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table was created by the orders app; the rows stay where they are.
        db_table = "orders_webhookevent"
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="unique_webhook_event")
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="orders_webh_status_1395f1_idx"),
            models.Index(fields=["ordering_key", "status"], name="webhook_event_ordering_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.event_id} {self.event_type}"


class Notification(models.Model):
    """One customer message, sent at most once per idempotency key."""

    key = models.CharField(max_length=200, unique=True)
    template = models.CharField(max_length=100)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.template} to {self.to}"


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an ``Idempotency-Key`` header (``core.idempotency``).

    Unique per endpoint, principal (who sent it) and key; written in the transaction that did the
    work, so a committed answer always has its record and a rolled-back one never has.
    """

    endpoint = models.CharField(max_length=100)
    principal = models.CharField(max_length=150)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "principal", "key"], name="unique_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.principal} {self.key}"
