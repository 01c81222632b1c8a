"""What the back-office offers for returns, decided before it is offered.

``returnable_lines`` lists the order lines a return can be started for now (delivered, inside the
return window, units left), so the order page shows "Start a return" only when it can succeed.
``find_awaited_return`` reads the number a warehouse clerk scans or types at the parcel desk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from orders.models import Order, OrderLine

from .models import ReturnRequest, ReturnStatus
from .selectors import policy_in_force, returnable_quantities


@dataclass(frozen=True)
class ReturnableLine:
    line: OrderLine
    left: int
    delivered_at: dt.datetime
    window_ends: dt.datetime


def returnable_lines(order: Order, *, at: dt.datetime | None = None) -> list[ReturnableLine]:
    at = at or timezone.now()
    policy = policy_in_force(at=at)
    window = dt.timedelta(days=policy.return_window_days)
    left = returnable_quantities(order=order)
    found = []
    for line in order.lines.select_related("sub_order", "vendor").order_by("pk"):
        delivered = line.sub_order.delivered_at if line.sub_order is not None else None
        if delivered is None or at > delivered + window or left.get(line.pk, 0) < 1:
            continue
        found.append(ReturnableLine(line, left[line.pk], delivered, delivered + window))
    return found


def find_awaited_return(code: str) -> ReturnRequest | None:
    """A return by its number or its return label's tracking number (case-insensitive)."""
    code = code.strip()
    if not code:
        return None
    return (
        ReturnRequest.objects.select_related("order", "customer")
        .filter(Q(number__iexact=code) | Q(label__tracking_number__iexact=code))
        .first()
    )


def awaited_parcels_count(user: Any) -> int:
    """The number next to "Parcel arrivals": returns waiting for their parcel."""
    return ReturnRequest.objects.filter(status=ReturnStatus.AWAITING_ITEM).count()


def describe_returns(business_keys: list[str]) -> dict[str, str]:
    """Tasklist rows: the return's customer, value and reason (one query)."""
    from core.money import format_currency

    numbers = [key for key in business_keys if key.startswith("RET-")]
    return {
        r.number: f"{r.customer.name} · {format_currency(r.amount_minor, r.currency)} · "
        f"{r.get_reason_display().lower()}"
        for r in ReturnRequest.objects.filter(number__in=numbers).select_related("customer")
    }
