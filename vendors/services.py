"""Writes about vendor sub-orders, payout holds and payouts.

The vendor's answers (accepted, rejected, shipped, cancelled) and the carrier's delivery come in
through webhooks or the vendor portal; both call the same functions here. Each one changes the
sub-order's status under a row lock, writes a history row, and publishes the process message
correlated by sub-order number in the same transaction (the publish failing rolls it all back,
so a webhook can be retried). Message ids are fixed per sub-order and message, so a repeated
answer is dropped by the engine while the first one is still buffered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests
from django.db import transaction
from django.utils import timezone

from orders.models import Order
from orders.payments import get_provider
from orders.services import (
    ApplicationError,
    history_write,
    publish_once,
    stock_consume,
)

from .models import Payout, PayoutHold, VendorSubOrder

logger = logging.getLogger(__name__)

S = VendorSubOrder.S
VENDOR_ANSWER = "vendor-answer"
VENDOR_SHIPPED = "vendor-shipped"
VENDOR_CANCELLED = "vendor-cancelled"
PACKAGE_DELIVERED = "package-delivered"
VENDOR_API_TIMEOUT_SECONDS = 10
# Called with the locked sub-order when its fulfilment is requested, in that transaction
# (orders' customs opens the international shipment of a cross-border part).
FULFILMENT_REQUESTED_HOOKS: list[Callable[[VendorSubOrder], None]] = []
# Called with the locked sub-order and the actor before it is marked shipped; a guard raises
# ApplicationError to refuse (orders' customs: a cross-border part ships once cleared).
SHIPMENT_GUARDS: list[Callable[[VendorSubOrder, str], None]] = []


def _publish(name: str, sub_order: VendorSubOrder, variables: dict[str, Any]) -> None:
    publish_once(
        name,
        sub_order.number,
        variables=variables,
        message_id=f"{name}:{sub_order.number}",
    )


def _locked(sub_order: VendorSubOrder | int) -> VendorSubOrder:
    pk = sub_order if isinstance(sub_order, int) else sub_order.pk
    return VendorSubOrder.objects.select_for_update().select_related("order", "vendor").get(pk=pk)


def _record(
    sub_order: VendorSubOrder, event: str, from_status: str, actor: str, **detail: Any
) -> None:
    history_write(
        order=sub_order.order,
        sub_order=sub_order,
        event=event,
        from_status=from_status,
        to_status=sub_order.status,
        actor=actor,
        detail=detail,
    )


# ------------------------------------------------------------------------------ fulfilment
def sub_order_request_fulfilment(*, sub_order_id: int, idempotency_key: str) -> VendorSubOrder:
    """Ask the vendor to fulfil (HTTP POST to its API if it has one), once.

    The HTTP call happens outside the transaction (no row lock held while the vendor thinks);
    the vendor de-duplicates on the ``Idempotency-Key`` header. A failure raises, so the job is
    retried with back-off and ends in an incident when the retries are used up.
    """
    sub_order = VendorSubOrder.objects.select_related("order", "vendor").get(pk=sub_order_id)
    if sub_order.requested_at is not None:
        return sub_order
    vendor = sub_order.vendor
    if vendor.api_endpoint:
        lines = [
            {"sku": sku, "name": name, "quantity": quantity}
            for sku, name, quantity in sub_order.lines.values_list("sku", "name", "quantity")
        ]
        response = requests.post(
            vendor.api_endpoint,
            json={
                "type": "fulfilment_requested",
                "sub_order": sub_order.number,
                "order": sub_order.order.number,
                "lines": lines,
                "shipping_address": sub_order.order.shipping_address,
            },
            headers={"Idempotency-Key": idempotency_key},
            timeout=VENDOR_API_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    return _mark_requested(sub_order_id=sub_order_id, idempotency_key=idempotency_key)


@transaction.atomic
def _mark_requested(*, sub_order_id: int, idempotency_key: str) -> VendorSubOrder:
    sub_order = _locked(sub_order_id)
    if sub_order.requested_at is not None:
        return sub_order
    now = timezone.now()
    sub_order.requested_at = now
    sub_order.sla_due_at = now + timezone.timedelta(hours=sub_order.vendor.sla_hours)
    from_status = sub_order.status
    if sub_order.status == S.PENDING:
        sub_order.request()
    sub_order.save()
    _record(sub_order, "fulfilment_requested", from_status, "", idempotency_key=idempotency_key)
    for hook in FULFILMENT_REQUESTED_HOOKS:
        hook(sub_order)
    return sub_order


@transaction.atomic
def sub_order_accept(*, sub_order: VendorSubOrder, actor: str = "") -> VendorSubOrder:
    """The vendor accepted. Repeated or late (after shipping) acceptances change nothing."""
    sub_order = _locked(sub_order)
    if sub_order.status in (S.REJECTED, S.FAILED, S.CANCELLED):
        raise ApplicationError(f"Sub-order {sub_order.number} is {sub_order.status}.")
    if sub_order.status in (S.PENDING, S.REQUESTED):
        from_status = sub_order.status
        sub_order.accept()
        sub_order.accepted_at = timezone.now()
        sub_order.save()
        _record(sub_order, "vendor_accepted", from_status, actor)
    _publish(VENDOR_ANSWER, sub_order, {"vendorAnswer": "accepted", "vendorReason": ""})
    return sub_order


@transaction.atomic
def sub_order_reject(*, sub_order: VendorSubOrder, reason: str, actor: str = "") -> VendorSubOrder:
    """The vendor rejected (before shipping): only its part of the order is undone."""
    if not reason.strip():
        raise ApplicationError("Give a reason for rejecting.", field="reason")
    sub_order = _locked(sub_order)
    if sub_order.status == S.REJECTED:
        return sub_order
    if sub_order.status not in (S.PENDING, S.REQUESTED, S.ACCEPTED):
        raise ApplicationError(
            f"Sub-order {sub_order.number} is {sub_order.status}: it can no longer be rejected."
        )
    was_accepted = sub_order.status == S.ACCEPTED
    from_status = sub_order.status
    sub_order.reject()
    sub_order.reason = reason[:500]
    sub_order.save()
    _record(sub_order, "vendor_rejected", from_status, actor, reason=reason)
    if was_accepted:
        # The process already took "accepted" (or will, from the buffer): it waits for the
        # shipment or a cancellation.
        _publish(VENDOR_CANCELLED, sub_order, {"vendorReason": reason})
    else:
        _publish(VENDOR_ANSWER, sub_order, {"vendorAnswer": "rejected", "vendorReason": reason})
    return sub_order


@transaction.atomic
def sub_order_ship(
    *, sub_order: VendorSubOrder, carrier: str, tracking_number: str, actor: str = ""
) -> VendorSubOrder:
    """The vendor shipped; a shipment without an explicit acceptance accepts too."""
    if not carrier.strip():
        raise ApplicationError("Name the carrier.", field="carrier")
    if not tracking_number.strip():
        raise ApplicationError("Give the tracking number.", field="tracking_number")
    sub_order = _locked(sub_order)
    if sub_order.status in (S.SHIPPED, S.DELIVERED, S.COMPLETED):
        return sub_order
    if sub_order.status not in (S.PENDING, S.REQUESTED, S.ACCEPTED):
        raise ApplicationError(f"Sub-order {sub_order.number} is {sub_order.status}.")
    for guard in SHIPMENT_GUARDS:
        guard(sub_order, actor)
    from_status = sub_order.status
    if sub_order.status == S.PENDING:
        sub_order.accept()
    if sub_order.accepted_at is None:
        sub_order.accepted_at = timezone.now()
    sub_order.ship()
    sub_order.carrier = carrier.strip()[:80]
    sub_order.tracking_number = tracking_number.strip()[:120]
    sub_order.shipped_at = timezone.now()
    sub_order.save()
    _record(
        sub_order, "vendor_shipped", from_status, actor, carrier=carrier, tracking=tracking_number
    )
    _publish(VENDOR_ANSWER, sub_order, {"vendorAnswer": "accepted", "vendorReason": ""})
    _publish(
        VENDOR_SHIPPED,
        sub_order,
        {"carrier": sub_order.carrier, "trackingNumber": sub_order.tracking_number},
    )
    return sub_order


@transaction.atomic
def sub_order_deliver(*, sub_order: VendorSubOrder, actor: str = "") -> VendorSubOrder:
    """The carrier confirmed delivery: the reserved stock is consumed, the hold can be released."""
    sub_order = _locked(sub_order)
    if sub_order.status in (S.DELIVERED, S.COMPLETED):
        return sub_order
    if sub_order.status != S.SHIPPED:
        raise ApplicationError(
            f"Sub-order {sub_order.number} is {sub_order.status}: it was not shipped."
        )
    from_status = sub_order.status
    sub_order.deliver()
    sub_order.delivered_at = timezone.now()
    sub_order.save()
    stock_consume(sub_order=sub_order)
    _record(sub_order, "package_delivered", from_status, actor)
    _publish(PACKAGE_DELIVERED, sub_order, {})
    return sub_order


def sub_order_cancel_shipment(*, sub_order_id: int, idempotency_key: str) -> VendorSubOrder:
    """Whole-order cancellation: tell the vendor to stop (or recall) the shipment, once."""
    sub_order = VendorSubOrder.objects.select_related("vendor").get(pk=sub_order_id)
    if sub_order.status in (S.CANCELLED, S.DELIVERED, S.COMPLETED):
        return sub_order
    if sub_order.vendor.api_endpoint and sub_order.status in (S.REQUESTED, S.ACCEPTED, S.SHIPPED):
        response = requests.post(
            sub_order.vendor.api_endpoint,
            json={"type": "fulfilment_cancelled", "sub_order": sub_order.number},
            headers={"Idempotency-Key": idempotency_key},
            timeout=VENDOR_API_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    return _mark_cancelled(sub_order_id=sub_order_id)


@transaction.atomic
def _mark_cancelled(*, sub_order_id: int) -> VendorSubOrder:
    sub_order = _locked(sub_order_id)
    if sub_order.status in (S.CANCELLED, S.DELIVERED, S.COMPLETED):
        return sub_order
    from_status = sub_order.status
    sub_order.cancel()
    sub_order.save()
    _record(sub_order, "sub_order_cancelled", from_status, "")
    return sub_order


# ------------------------------------------------------------------------------ money
@transaction.atomic
def payout_hold_create(*, sub_order_id: int, idempotency_key: str) -> PayoutHold:
    """Hold the vendor's payout (its subtotal minus commission) until delivery, once."""
    sub_order = _locked(sub_order_id)
    existing = PayoutHold.objects.filter(sub_order=sub_order).first()
    if existing is not None:
        return existing
    if sub_order.order.status != Order.S.PAID:
        raise ApplicationError(f"Order {sub_order.order.number} is not paid: nothing to hold.")
    hold = PayoutHold.objects.create(
        sub_order=sub_order,
        amount_minor=sub_order.payout_minor,
        currency=sub_order.currency,
        idempotency_key=idempotency_key,
    )
    _record(sub_order, "payout_hold_created", "", "", amount_minor=hold.amount_minor)
    return hold


@transaction.atomic
def payout_hold_release(*, sub_order_id: int) -> PayoutHold:
    """Delivery confirmed: the hold is released (the payout follows)."""
    sub_order = _locked(sub_order_id)
    hold = PayoutHold.objects.select_for_update().get(sub_order=sub_order)
    if hold.status == PayoutHold.S.RELEASED:
        return hold
    if sub_order.status != S.DELIVERED:
        raise ApplicationError(f"Sub-order {sub_order.number} is not delivered.")
    hold.release()
    hold.settled_at = timezone.now()
    hold.save()
    _record(sub_order, "payout_hold_released", "", "", amount_minor=hold.amount_minor)
    return hold


@transaction.atomic
def payout_hold_cancel(*, sub_order_id: int) -> PayoutHold | None:
    """The vendor's part was undone: its hold is cancelled (the money went back to the customer)."""
    sub_order = _locked(sub_order_id)
    hold = PayoutHold.objects.select_for_update().filter(sub_order=sub_order).first()
    if hold is None or hold.status != PayoutHold.S.HELD:
        return hold
    hold.cancel()
    hold.settled_at = timezone.now()
    hold.save()
    _record(sub_order, "payout_hold_cancelled", "", "", amount_minor=hold.amount_minor)
    return hold


@transaction.atomic
def payout_create(*, sub_order_id: int, idempotency_key: str) -> Payout:
    """Transfer the released hold to the vendor's account (transfer group = order number)."""
    sub_order = _locked(sub_order_id)
    existing = Payout.objects.filter(sub_order=sub_order).first()
    if existing is not None:
        return existing
    hold = PayoutHold.objects.get(sub_order=sub_order)
    if hold.status != PayoutHold.S.RELEASED:
        raise ApplicationError(f"The payout hold of {sub_order.number} is {hold.status}.")
    result = get_provider().transfer(
        destination=sub_order.vendor.payout_account_id or f"vendor:{sub_order.vendor.handle}",
        amount_minor=hold.amount_minor,
        currency=hold.currency,
        transfer_group=sub_order.order.number,
        idempotency_key=idempotency_key,
    )
    payout = Payout.objects.create(
        sub_order=sub_order,
        amount_minor=hold.amount_minor,
        currency=hold.currency,
        provider_transfer_id=result.id,
        idempotency_key=idempotency_key,
    )
    from_status = sub_order.status
    sub_order.complete()
    sub_order.save()
    _record(
        sub_order,
        "payout_paid",
        from_status,
        "",
        amount_minor=payout.amount_minor,
        provider_transfer_id=result.id,
    )
    return payout


@transaction.atomic
def payout_reverse(*, sub_order_id: int, idempotency_key: str) -> Payout | None:
    """Take a paid-out vendor share back (the customer is refunded it), once."""
    sub_order = _locked(sub_order_id)
    payout = Payout.objects.select_for_update().filter(sub_order=sub_order).first()
    if payout is None or payout.status == Payout.S.REVERSED:
        return payout
    amount = payout.amount_minor - payout.reversed_minor
    get_provider().reverse_transfer(
        transfer_id=payout.provider_transfer_id,
        amount_minor=amount,
        idempotency_key=idempotency_key,
    )
    payout.reversed_minor += amount
    payout.reverse_all()
    payout.save()
    _record(sub_order, "payout_reversed", "", "", amount_minor=amount)
    return payout
