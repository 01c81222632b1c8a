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
from dataclasses import dataclass
from typing import Any

import requests
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django_fsm import can_proceed

from core import clock
from core.errors import ApplicationError, NotYet
from core.history import history_write
from core.messages import publish_once
from core.webhooks import retry_waiting_events_on_commit

from .hooks import order_side
from .models import (
    Carrier,
    Payout,
    PayoutHold,
    SubOrderEvent,
    Vendor,
    VendorEvent,
    VendorHistory,
    VendorSubOrder,
    new_callback_secret,
)
from .sla import vendor_sla
from .stock import stock_consume

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
    sub_order: VendorSubOrder, event: SubOrderEvent, from_status: str, actor: str, **detail: Any
) -> None:
    order_side().record(
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
    now = clock.now()
    sub_order.requested_at = now
    sub_order.sla_due_at = now + vendor_sla(sub_order.vendor)
    from_status = sub_order.status
    if sub_order.status == S.PENDING:
        sub_order.request()
    sub_order.save()
    _record(
        sub_order,
        SubOrderEvent.FULFILMENT_REQUESTED,
        from_status,
        "",
        idempotency_key=idempotency_key,
    )
    for hook in FULFILMENT_REQUESTED_HOOKS:
        hook(sub_order)
    return sub_order


def shipment_key(carrier: str, tracking_number: str) -> str:
    """The webhook inbox's ordering key of a shipment's carrier events."""
    return f"shipment:{carrier.lower()}:{tracking_number}"


def _refuse_move(sub_order: VendorSubOrder, action: str) -> ApplicationError:
    return ApplicationError(
        f"Sub-order {sub_order.number} is {sub_order.get_status_display().lower()}: "
        f"it cannot be {action}.",
        code="conflict",
    )


@transaction.atomic
def sub_order_accept(*, sub_order: VendorSubOrder, actor: str = "") -> VendorSubOrder:
    """The vendor accepted. Repeated or late (after shipping) acceptances change nothing."""
    sub_order = _locked(sub_order)
    if sub_order.status in (S.ACCEPTED, S.SHIPPED, S.DELIVERED, S.COMPLETED):
        return sub_order
    if not can_proceed(sub_order.accept):
        raise _refuse_move(sub_order, "accepted")
    order_side().check_open(sub_order.order_id)
    from_status = sub_order.status
    sub_order.accept()
    sub_order.accepted_at = clock.now()
    sub_order.save()
    _record(sub_order, SubOrderEvent.VENDOR_ACCEPTED, from_status, actor)
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
    if not can_proceed(sub_order.reject):
        raise _refuse_move(sub_order, "rejected")
    order_side().check_open(sub_order.order_id)
    was_accepted = sub_order.status == S.ACCEPTED
    from_status = sub_order.status
    sub_order.reject()
    sub_order.reason = reason[:500]
    sub_order.save()
    _record(sub_order, SubOrderEvent.VENDOR_REJECTED, from_status, actor, reason=reason)
    if was_accepted:
        # The process already took "accepted" (or will, from the buffer): it waits for the
        # shipment or a cancellation.
        _publish(VENDOR_CANCELLED, sub_order, {"vendorReason": reason})
    else:
        _publish(VENDOR_ANSWER, sub_order, {"vendorAnswer": "rejected", "vendorReason": reason})
    return sub_order


# The carriers the code knows (seeded by the migration; staff edit the list in the admin).
KNOWN_CARRIERS = (("dhl", "DHL"), ("dpd", "DPD"), ("ups", "UPS"))


def carriers_active() -> QuerySet[Carrier]:
    """The carriers vendors may ship with now (the known ones if the list was never seeded)."""
    if not Carrier.objects.exists():  # a database without the seed migration's rows
        for code, name in KNOWN_CARRIERS:
            Carrier.objects.get_or_create(code=code, defaults={"name": name})
    return Carrier.objects.filter(is_active=True)


def carrier_register(*, code: str, name: str) -> Carrier:
    """Put a carrier that the platform itself books (the international carrier adapter in use)
    on the list; one that staff switched off stays off, so its shipments are refused visibly."""
    carrier, _ = Carrier.objects.get_or_create(code=code.lower(), defaults={"name": name})
    return carrier


def carrier_resolve(carrier: str) -> Carrier:
    """The active carrier named ``carrier`` (its code or its name, any case); refused otherwise."""
    wanted = carrier.strip()
    if not wanted:
        raise ApplicationError("Name the carrier.", field="carrier")
    found = carriers_active().filter(Q(code__iexact=wanted) | Q(name__iexact=wanted)).first()
    if found is None:
        known = ", ".join(carriers_active().values_list("code", flat=True))
        raise ApplicationError(
            f"Unknown carrier '{wanted[:80]}'. Ship with one of: {known or 'none configured'}.",
            field="carrier",
        )
    return found


def _tracking_taken(sub_order: VendorSubOrder, carrier: str, tracking_number: str) -> None:
    taken = (
        VendorSubOrder.objects.filter(carrier=carrier, tracking_number=tracking_number)
        .exclude(pk=sub_order.pk)
        .exists()
    )
    if taken:
        raise ApplicationError(
            f"Tracking number {tracking_number} of {carrier} belongs to another shipment.",
            field="tracking_number",
            code="conflict",
        )


def _save_shipment(sub_order: VendorSubOrder) -> None:
    try:
        with transaction.atomic():
            sub_order.save()
    except IntegrityError as error:  # a concurrent shipment took the pair first
        raise ApplicationError(
            f"Tracking number {sub_order.tracking_number} of {sub_order.carrier} belongs to "
            "another shipment.",
            field="tracking_number",
            code="conflict",
        ) from error


@transaction.atomic
def sub_order_ship(
    *, sub_order: VendorSubOrder, carrier: str, tracking_number: str, actor: str = ""
) -> VendorSubOrder:
    """The vendor shipped; a shipment without an explicit acceptance accepts too.

    The carrier must be on the staff's list (``Carrier``) and the (carrier, tracking number) pair
    must be free. Shipping again with the same pair changes nothing; with another pair it
    updates the shipment while it is on its way, and is refused once it was delivered.
    """
    carrier_code = carrier_resolve(carrier).code
    tracking_number = tracking_number.strip()[:120]
    if not tracking_number:
        raise ApplicationError("Give the tracking number.", field="tracking_number")
    sub_order = _locked(sub_order)
    same = (sub_order.carrier, sub_order.tracking_number) == (carrier_code, tracking_number)
    if sub_order.status in (S.SHIPPED, S.DELIVERED, S.COMPLETED) and same:
        return sub_order
    if sub_order.status in (S.DELIVERED, S.COMPLETED):
        raise ApplicationError(
            f"Sub-order {sub_order.number} was delivered with {sub_order.carrier} "
            f"{sub_order.tracking_number}: its shipment can no longer change.",
            code="conflict",
        )
    order_side().check_open(sub_order.order_id)
    for guard in SHIPMENT_GUARDS:
        guard(sub_order, actor)
    _tracking_taken(sub_order, carrier_code, tracking_number)
    if sub_order.status == S.SHIPPED:
        before = {"carrier": sub_order.carrier, "tracking": sub_order.tracking_number}
        sub_order.carrier, sub_order.tracking_number = carrier_code, tracking_number
        _save_shipment(sub_order)
        _record(
            sub_order,
            SubOrderEvent.VENDOR_SHIPPED,
            S.SHIPPED,
            actor,
            carrier=carrier_code,
            tracking=tracking_number,
            updated_from=before,
        )
        retry_waiting_events_on_commit(ordering_key=shipment_key(carrier_code, tracking_number))
        return sub_order
    if not (can_proceed(sub_order.ship) or can_proceed(sub_order.accept)):
        raise _refuse_move(sub_order, "shipped")
    from_status = sub_order.status
    if sub_order.status == S.PENDING:
        sub_order.accept()
    if sub_order.accepted_at is None:
        sub_order.accepted_at = clock.now()
    sub_order.ship()
    sub_order.carrier = carrier_code
    sub_order.tracking_number = tracking_number
    sub_order.shipped_at = clock.now()
    _save_shipment(sub_order)
    _record(
        sub_order,
        SubOrderEvent.VENDOR_SHIPPED,
        from_status,
        actor,
        carrier=carrier_code,
        tracking=tracking_number,
    )
    _publish(VENDOR_ANSWER, sub_order, {"vendorAnswer": "accepted", "vendorReason": ""})
    _publish(
        VENDOR_SHIPPED,
        sub_order,
        {"carrier": sub_order.carrier, "trackingNumber": sub_order.tracking_number},
    )
    # Carrier events that came before the shipment was known are acted on now.
    retry_waiting_events_on_commit(ordering_key=shipment_key(carrier_code, tracking_number))
    return sub_order


@transaction.atomic
def sub_order_deliver(*, sub_order: VendorSubOrder, actor: str = "") -> VendorSubOrder:
    """The carrier confirmed delivery: the reserved stock is consumed, the hold can be released."""
    sub_order = _locked(sub_order)
    if sub_order.status in (S.DELIVERED, S.COMPLETED):
        return sub_order
    if sub_order.status in (S.PENDING, S.REQUESTED, S.ACCEPTED):
        raise NotYet(f"Sub-order {sub_order.number} is not shipped yet.")
    if not can_proceed(sub_order.deliver):
        raise _refuse_move(sub_order, "delivered")
    order_side().check_open(sub_order.order_id)
    from_status = sub_order.status
    sub_order.deliver()
    sub_order.delivered_at = clock.now()
    sub_order.save()
    stock_consume(sub_order=sub_order)
    _record(sub_order, SubOrderEvent.PACKAGE_DELIVERED, from_status, actor)
    _publish(PACKAGE_DELIVERED, sub_order, {})
    return sub_order


@transaction.atomic
def sub_orders_end_with_order(*, order_id: int, reason: str) -> int:
    """The order ended (payment declined, cancelled): its parts that no vendor was asked to
    fulfil yet end with it (the others are recalled by the order's process). How many ended."""
    ended = 0
    pending = VendorSubOrder.objects.select_for_update().filter(order_id=order_id, status=S.PENDING)
    for sub_order in pending.order_by("pk"):
        from_status = sub_order.status
        sub_order.cancel()
        sub_order.reason = reason[:500]
        sub_order.save()
        _record(sub_order, SubOrderEvent.SUB_ORDER_CANCELLED, from_status, "", reason=reason)
        ended += 1
    return ended


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
    _record(sub_order, SubOrderEvent.SUB_ORDER_CANCELLED, from_status, "")
    return sub_order


# ------------------------------------------------------------------------------ money
@transaction.atomic
def payout_hold_create(*, sub_order_id: int, idempotency_key: str) -> PayoutHold:
    """Hold the vendor's payout (its subtotal minus commission) until delivery, once."""
    sub_order = _locked(sub_order_id)
    existing = PayoutHold.objects.filter(sub_order=sub_order).first()
    if existing is not None:
        return existing
    if not order_side().order_is_paid(sub_order.order_id):
        raise ApplicationError(
            f"Order {sub_order.order.number} is not paid: nothing to hold.", code="conflict"
        )
    hold = PayoutHold.objects.create(
        sub_order=sub_order,
        amount_minor=sub_order.payout_minor,
        currency=sub_order.currency,
        idempotency_key=idempotency_key,
    )
    _record(sub_order, SubOrderEvent.PAYOUT_HOLD_CREATED, "", "", amount_minor=hold.amount_minor)
    return hold


@transaction.atomic
def payout_hold_release(*, sub_order_id: int) -> PayoutHold:
    """Delivery confirmed: the hold is released (the payout follows)."""
    sub_order = _locked(sub_order_id)
    hold = PayoutHold.objects.select_for_update().get(sub_order=sub_order)
    if hold.status == PayoutHold.S.RELEASED:
        return hold
    if sub_order.status != S.DELIVERED:
        raise ApplicationError(f"Sub-order {sub_order.number} is not delivered.", code="conflict")
    hold.release()
    hold.settled_at = clock.now()
    hold.save()
    _record(sub_order, SubOrderEvent.PAYOUT_HOLD_RELEASED, "", "", amount_minor=hold.amount_minor)
    return hold


@transaction.atomic
def payout_hold_cancel(*, sub_order_id: int) -> PayoutHold | None:
    """The vendor's part was undone: its hold is cancelled (the money went back to the customer)."""
    sub_order = _locked(sub_order_id)
    hold = PayoutHold.objects.select_for_update().filter(sub_order=sub_order).first()
    if hold is None or hold.status != PayoutHold.S.HELD:
        return hold
    hold.cancel()
    hold.settled_at = clock.now()
    hold.save()
    _record(sub_order, SubOrderEvent.PAYOUT_HOLD_CANCELLED, "", "", amount_minor=hold.amount_minor)
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
        raise ApplicationError(
            f"The payout hold of {sub_order.number} is {hold.status}.", code="conflict"
        )
    result = (
        order_side()
        .payment_provider()
        .transfer(
            destination=sub_order.vendor.payout_account_id or f"vendor:{sub_order.vendor.handle}",
            amount_minor=hold.amount_minor,
            currency=hold.currency,
            transfer_group=sub_order.order.number,
            idempotency_key=idempotency_key,
        )
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
        SubOrderEvent.PAYOUT_PAID,
        from_status,
        "",
        amount_minor=payout.amount_minor,
        provider_transfer_id=result.id,
    )
    return payout


@dataclass(frozen=True)
class ShareTakenBack:
    """How a vendor's share was taken back: ``"payout_reversed"``, ``"hold_reduced"`` or
    ``"none"`` (nothing held or paid any more), how much, and the provider's reversal id."""

    kind: str
    amount_minor: int
    provider_reversal_id: str = ""


def _reverse(
    sub_order: VendorSubOrder, *, idempotency_key: str, amount_minor: int | None
) -> tuple[Payout | None, ShareTakenBack]:
    payout = Payout.objects.select_for_update().filter(sub_order=sub_order).first()
    if payout is None or payout.status == Payout.S.REVERSED:
        return payout, ShareTakenBack("none", 0)
    left = payout.amount_minor - payout.reversed_minor
    amount = left if amount_minor is None else min(amount_minor, left)
    result = (
        order_side()
        .payment_provider()
        .reverse_transfer(
            transfer_id=payout.provider_transfer_id,
            amount_minor=amount,
            idempotency_key=idempotency_key,
        )
    )
    payout.reversed_minor += amount
    if payout.reversed_minor == payout.amount_minor:
        payout.reverse_all()
    else:
        payout.reverse_part()
    payout.save()
    _record(
        sub_order,
        SubOrderEvent.PAYOUT_REVERSED,
        "",
        "",
        amount_minor=amount,
        provider_reversal_id=result.id,
    )
    return payout, ShareTakenBack("payout_reversed", amount, result.id)


@transaction.atomic
def payout_reverse(*, sub_order_id: int, idempotency_key: str) -> Payout | None:
    """Take a paid-out vendor share back (the customer is refunded it), once."""
    payout, _taken = _reverse(
        _locked(sub_order_id), idempotency_key=idempotency_key, amount_minor=None
    )
    return payout


def _hold_reduce(sub_order: VendorSubOrder, *, amount_minor: int, reason: str) -> int | None:
    """Shrink a held payout by at most ``amount_minor`` (less is released on delivery); by how
    much it shrank, or None if no hold is held."""
    hold = PayoutHold.objects.select_for_update().filter(sub_order=sub_order).first()
    if hold is None or hold.status != PayoutHold.S.HELD:
        return None
    amount = max(0, min(amount_minor, hold.amount_minor))
    hold.amount_minor -= amount
    hold.save()
    _record(
        sub_order,
        SubOrderEvent.PAYOUT_HOLD_REDUCED,
        "",
        "",
        amount_minor=amount,
        left_minor=hold.amount_minor,
        reason=reason,
    )
    return amount


@transaction.atomic
def vendor_share_take_back(
    *, sub_order_id: int, amount_minor: int, idempotency_key: str, reason: str
) -> ShareTakenBack:
    """Take up to ``amount_minor`` of a vendor's payout back: reverse the paid payout in part,
    or shrink the hold if it is not paid out yet. The caller keys it once (``idempotency_key``
    also goes to the provider, so a repeated reversal is not repeated there)."""
    sub_order = _locked(sub_order_id)
    _payout, taken = _reverse(sub_order, idempotency_key=idempotency_key, amount_minor=amount_minor)
    if taken.kind != "none":
        return taken
    reduced = _hold_reduce(sub_order, amount_minor=amount_minor, reason=reason)
    return ShareTakenBack("none", 0) if reduced is None else ShareTakenBack("hold_reduced", reduced)


# ------------------------------------------------------------------------------ vendor settings
@dataclass(frozen=True)
class VendorSettings:
    """The settings of a vendor staff edit (managers)."""

    commission_rate_bp: int
    sla_hours: int
    api_endpoint: str
    contact_email: str
    payout_account_id: str
    is_active: bool


VENDOR_SETTING_LABELS = {
    "commission_rate_bp": "Commission rate",
    "sla_hours": "SLA",
    "api_endpoint": "API endpoint",
    "contact_email": "Contact e-mail",
    "payout_account_id": "Payout account",
    "is_active": "Active",
    "callback_secret": "Callback secret",
}


def percent_from_bp(rate_bp: int) -> str:
    """Basis points as staff read them: 1250 -> "12.5 %", 1500 -> "15 %", 1234 -> "12.34 %"."""
    whole, part = divmod(rate_bp, 100)
    text = f"{whole}.{part:02d}".rstrip("0").rstrip(".") if part else str(whole)
    return f"{text} %"


def _shown(name: str, value: Any) -> str:
    if name == "commission_rate_bp":
        return percent_from_bp(value)
    if name == "sla_hours":
        return f"{value} hour" if value == 1 else f"{value} hours"
    if name == "is_active":
        return "yes" if value else "no"
    return str(value)


@transaction.atomic
def vendor_settings_update(
    *, vendor_id: int, settings: VendorSettings, actor: str
) -> list[VendorHistory]:
    """Save the settings that changed, with a history row per changed setting (who, old, new).

    A new commission rate applies to sub-orders created afterwards: each sub-order keeps the
    rate it was created with.
    """
    if not 0 <= settings.commission_rate_bp <= 10_000:
        raise ApplicationError("The commission rate is between 0 % and 100 %.", field="commission")
    if settings.sla_hours < 1:
        raise ApplicationError("The SLA is at least one hour.", field="sla_hours")
    vendor = Vendor.objects.select_for_update().get(pk=vendor_id)
    rows = []
    for name in (
        "commission_rate_bp",
        "sla_hours",
        "api_endpoint",
        "contact_email",
        "payout_account_id",
        "is_active",
    ):
        old, new = getattr(vendor, name), getattr(settings, name)
        if old == new:
            continue
        setattr(vendor, name, new)
        rows.append(
            history_write(
                VendorHistory,
                VendorEvent.SETTING_CHANGED,
                vendor=vendor,
                field=name,
                old_value=_shown(name, old),
                new_value=_shown(name, new),
                actor=actor,
            )
        )
    if rows:
        vendor.save(update_fields=[row.field for row in rows])
    return rows


@transaction.atomic
def vendor_callback_secret_rotate(*, vendor_id: int, actor: str) -> str:
    """Give the vendor a new callback secret and return it (the caller shows it once).

    The history row says that the secret was rotated, never its value. Callbacks signed with
    the old secret are refused from now on.
    """
    vendor = Vendor.objects.select_for_update().get(pk=vendor_id)
    vendor.callback_secret = new_callback_secret()
    vendor.save(update_fields=["callback_secret"])
    history_write(
        VendorHistory,
        VendorEvent.SECRET_ROTATED,
        vendor=vendor,
        field="callback_secret",
        new_value="rotated",
        actor=actor,
    )
    return vendor.callback_secret
