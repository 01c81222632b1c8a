"""Reads about international shipments for the back-office pages."""

from __future__ import annotations

from typing import Any

import pycountry
from django.db.models import QuerySet
from django.utils import timezone

from core.money import format_money

from .models import AuditEntry, CustomsDocument, InternationalShipment, ShipmentEvent
from .models import ShipmentEventKind as E


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


# ------------------------------------------------------------------------------ timeline words
TRACKING_WORDS = {
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery",
    "delivered": "delivered",
    "exception": "a delivery problem",
}
NOTICE_WORDS = {
    "duties_due": "duties and taxes to pay on delivery",
    "customs_hold": "held by customs",
    "customs_rejected": "rejected by customs",
    "export_restricted": "export not allowed",
}
DOCUMENT_WORDS = dict(CustomsDocument._meta.get_field("kind").choices or [])


def _amounts(amounts: Any) -> str:
    if not isinstance(amounts, dict):
        return ""
    return ", ".join(
        format_money(v, str(c)) for c, v in sorted(amounts.items()) if isinstance(v, int) and v
    )


def _country(code: Any) -> str:
    country = pycountry.countries.get(alpha_2=str(code or ""))
    return getattr(country, "common_name", None) or (country.name if country else str(code))


def shipment_event_words(event: ShipmentEvent) -> str:
    """What a shipment history row says on the order's timeline, in business words."""
    d = event.detail or {}
    kind = event.event
    reason = str(d.get("reason") or "")
    if kind == E.OPENED:
        return f"International shipment opened (to {_country(d.get('destination'))})"
    if kind == E.EXPORT_ALLOWED:
        return "Export restrictions checked: export allowed"
    if kind == E.EXPORT_RESTRICTED:
        why = reason.removeprefix("Export restricted: ")
        return "Export restrictions checked: not allowed" + (f" ({why})" if why else "")
    if kind == E.DUTIES_ASSESSED:
        border, at_sale = _amounts(d.get("border_charges")), _amounts(d.get("at_sale"))
        parts = [f"{border} at the border" if border else "nothing due at the border"]
        if at_sale:
            parts.append(f"{at_sale} collected at sale")
        if d.get("incomplete"):
            parts.append("plus duty the broker assesses")
        payer = {"seller": "we pay (DDP)", "buyer": "the customer pays (DAP)"}.get(
            str(d.get("payer")), ""
        )
        return "Duties and taxes calculated: " + ", ".join(parts) + (f"; {payer}" if payer else "")
    if kind == E.DUTIES_PREPAID:
        paid = _amounts(d.get("amounts"))
        return "Duties and taxes paid for the customer" + (f": {paid}" if paid else "")
    if kind == E.CUSTOMER_NOTIFIED:
        notice = NOTICE_WORDS.get(str(d.get("template")), "")
        return "Customer told" + (f": {notice}" if notice else "")
    if kind in (E.INVOICE_ISSUED, E.ORIGIN_CERTIFICATE_ISSUED):
        return f"{E(kind).label} ({d.get('number')})" if d.get("number") else E(kind).label
    if kind == E.SUBMITTED:
        reference = d.get("reference")
        return "Submitted to the customs broker" + (
            f" (reference {reference})" if reference else ""
        )
    if kind == E.DOCUMENTS_SENT:
        names = [
            DOCUMENT_WORDS.get(str(n), str(n).replace("_", " ")) for n in d.get("documents") or []
        ]
        return "Documents sent to the customs broker" + (f": {', '.join(names)}" if names else "")
    if kind == E.CUSTOMS_HELD:
        return "Held by customs" + (f": {reason}" if reason else "")
    if kind == E.CUSTOMS_REJECTED:
        return "Rejected by customs" + (f": {reason}" if reason else "")
    if kind == E.CANCELLED_BY_SUPPORT:
        return "Customs shipment cancelled by support" + (f": {reason}" if reason else "")
    if kind == E.CARRIER_BOOKED:
        carrier, tracking = str(d.get("carrier") or "").upper(), d.get("tracking")
        return f"Handed to the international carrier {carrier}".strip() + (
            f", tracking {tracking}" if tracking else ""
        )
    if kind in (E.TRACKING_CHECKED, E.TRACKING_EVENT):
        status = str(d.get("status") or "")
        words = TRACKING_WORDS.get(status, status.replace("_", " "))
        location = d.get("location")
        return f"Carrier update: {words}" + (f" at {location}" if location else "")
    if kind == E.GOODS_RETURNED:
        return f"Goods returned to the vendor ({_country(d.get('to'))})"
    if kind == E.COMPLETED:
        return "International shipment completed"
    return E(kind).label if kind in E.values else kind.replace("_", " ").capitalize()


def _actor_words(actor: str) -> str:
    for prefix, words in (("broker:", "the customs broker"), ("carrier:", "the carrier"),
                          ("vendor:", "the vendor")):  # fmt: skip
        if actor.startswith(prefix):
            return words
    return actor


def shipment_event_rows(shipment: InternationalShipment) -> list[dict[str, Any]]:
    """The shipment page's history: when, what (in business words) and by whom."""
    return [
        {"at": e.at, "words": shipment_event_words(e), "actor": _actor_words(e.actor)}
        for e in shipment.events.all()
    ]
