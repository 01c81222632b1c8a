"""The one writer of ``Refund`` rows and of the charge's refunded amount.

Orders (a vendor's share, a cancelled order) and returns (a returned item) refund through
``charge_refund``: the order and its charge are locked, the refund is keyed by its idempotency
key (a repeated job finds the earlier row), the charge's state machine moves to partially or
fully refunded, and the order's history gets one ``refund_issued`` row.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.errors import ApplicationError

from ..history import order_history_write
from ..models import Charge, Order, OrderEvent, Refund
from . import get_provider


@transaction.atomic
def charge_refund(
    *,
    order_id: int,
    amount_minor: int,
    reason: str,
    idempotency_key: str,
    sub_order: Any = None,
    required: bool = False,
    detail: dict[str, Any] | None = None,
) -> Refund | None:
    """Refund up to ``amount_minor`` of the order's charge (at most what is left), once per key.

    Nothing to refund (no captured charge, or all of it refunded already) returns None, or
    with ``required`` raises ``ApplicationError`` (code ``conflict``). ``detail`` is added to the
    history row.
    """
    order = Order.objects.select_for_update().get(pk=order_id)
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    charge = Charge.objects.select_for_update().filter(order=order).first()
    if charge is None or charge.status == Charge.S.DECLINED:
        if required:
            raise ApplicationError("The order has no captured charge to refund.", code="conflict")
        return None
    amount = min(amount_minor, charge.amount_minor - charge.refunded_minor)
    if amount <= 0:
        if required:
            raise ApplicationError("Nothing left to refund on the charge.", code="conflict")
        return None
    result = get_provider().refund(
        charge_id=charge.provider_charge_id, amount_minor=amount, idempotency_key=idempotency_key
    )
    refund = Refund.objects.create(
        order=order,
        sub_order=sub_order,
        amount_minor=amount,
        currency=charge.currency,
        reason=reason[:200],
        provider_refund_id=result.id,
        idempotency_key=idempotency_key,
    )
    charge.refunded_minor += amount
    if charge.refunded_minor == charge.amount_minor:
        charge.refund_all()
    else:
        charge.refund_part()
    charge.save()
    order_history_write(
        order=order,
        sub_order=sub_order,
        event=OrderEvent.REFUND_ISSUED,
        detail={
            "amount_minor": amount,
            "reason": reason,
            "provider_refund_id": result.id,
            **(detail or {}),
        },
    )
    return refund
