"""Reads about international shipments for the back-office pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .models import AuditEntry, InternationalShipment


def shipments_of_order(order: Any) -> list[InternationalShipment]:
    return list(
        InternationalShipment.objects.filter(order=order)
        .select_related("sub_order__vendor", "territory")
        .prefetch_related("duty_lines__rule", "documents", "conversions")
        .order_by("number")
    )


def customs_queue() -> QuerySet[InternationalShipment]:
    """Shipments support works on: held first (oldest hold first), then still with the broker."""
    return (
        InternationalShipment.objects.filter(
            status__in=[InternationalShipment.S.HELD, InternationalShipment.S.SUBMITTED]
        )
        .select_related("order", "sub_order__vendor")
        .order_by("-status", "held_since", "submitted_at")
    )


def queue_rows() -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for shipment in customs_queue():
        since = shipment.held_since or shipment.submitted_at or shipment.created_at
        rows.append(
            {
                "shipment": shipment,
                "age_hours": int((now - since).total_seconds() // 3600),
                "missing": ", ".join(shipment.missing_documents) or "-",
            }
        )
    return rows


def held_count(user: Any) -> int:
    return InternationalShipment.objects.filter(status=InternationalShipment.S.HELD).count()


def audit_trail(limit: int = 50) -> list[AuditEntry]:
    return list(AuditEntry.objects.all()[:limit])
