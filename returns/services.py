"""Writes about returns: intake, review, label, receipt, inspection, refund, vendor share, stock.

Every status change locks the return (``select_for_update``), checks the FSM transition and writes
a ``ReturnHistory`` row in the same transaction. Money movements (refund, store credit, payout
reversal) are keyed by the return, so a repeated job finds the earlier row instead of moving
money twice. This module writes the return's own rows and store credit only: the card refund
goes through orders' payments (``charge_refund``), the vendor's share through
``vendors.services.vendor_share_take_back`` and restocking through ``vendors.stock``. The
four-eyes rule on refund approval lives here, not in the form: whatever completes the approval
task, ``refund_decide`` refuses an approver who requested or reviewed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from config.roles import MANAGERS, has_role
from core import clock
from core.errors import ApplicationError
from core.history import actor_of, history_write
from core.messages import publish_once
from core.money import format_money, round_half_up_div
from core.notifications import notify_customer
from orders.history import order_history_write
from orders.models import Charge, Customer, Order, OrderEvent, OrderLine
from orders.models import Refund as OrderRefund
from orders.payments.refunds import charge_refund
from orders.services import EngineUnavailable
from processes import port
from vendors import services as vendor_services
from vendors import stock as vendor_stock
from vendors.models import VendorSubOrder

from . import fraud
from .models import (
    FraudAssessment,
    Inspection,
    ItemCondition,
    RefundMethod,
    ReturnEvent,
    ReturnHistory,
    ReturnLabel,
    ReturnLine,
    ReturnPolicy,
    ReturnReason,
    ReturnRefund,
    ReturnRequest,
    StoreCreditEntry,
    VendorReturnAdjustment,
)
from .selectors import policy_in_force, returnable_quantities

logger = logging.getLogger(__name__)

PROCESS_ID = "return-request"
ITEM_RECEIVED_MESSAGE = "return-item-received"
S = ReturnRequest.S


@dataclass(frozen=True)
class ReturnLineInput:
    """Units of one order line (by SKU) the customer sends back."""

    sku: str
    quantity: int


def _locked(return_id: int) -> ReturnRequest:
    return (
        ReturnRequest.objects.select_for_update()
        .select_related("order", "customer", "policy")
        .get(pk=return_id)
    )


def _record(
    return_request: ReturnRequest,
    event: ReturnEvent,
    from_status: str,
    actor: str = "",
    **detail: Any,
) -> ReturnHistory:
    """The one writer of a return's history rows."""
    return history_write(
        ReturnHistory,
        event,
        return_request=return_request,
        from_status=from_status,
        to_status=return_request.status,
        actor=actor,
        detail=detail,
    )


def _user(username: str) -> Any:
    if not username:
        return None
    return get_user_model().objects.filter(username=username).first()


# ------------------------------------------------------------------------------ intake
def _delivered_at(line: OrderLine) -> dt.datetime | None:
    return line.sub_order.delivered_at if line.sub_order is not None else None


def eligibility_problems(
    *,
    order: Order,
    lines: list[tuple[OrderLine, int]],
    policy: ReturnPolicy,
    at: dt.datetime,
    exclude: ReturnRequest | None = None,
) -> list[tuple[str, str]]:
    """(field, message) for every reason the lines cannot be returned at ``at`` (reads only)."""
    problems: list[tuple[str, str]] = []
    left = returnable_quantities(order=order, exclude=exclude)
    window = dt.timedelta(days=policy.return_window_days)
    for line, quantity in lines:
        delivered = _delivered_at(line)
        if delivered is None:
            problems.append(("lines", f"{line.sku} has not been delivered yet."))
        elif at > delivered + window:
            problems.append(
                (
                    "lines",
                    f"{line.sku} was delivered on {delivered:%Y-%m-%d}: the "
                    f"{policy.return_window_days}-day return window has passed.",
                )
            )
        if quantity > left.get(line.pk, 0):
            problems.append(
                (
                    "lines",
                    f"{line.sku}: {quantity} requested, {left.get(line.pk, 0)} can still be "
                    "returned (the rest is returned already or was never ordered).",
                )
            )
    return problems


def _fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _new_number() -> str:
    return f"RET-{timezone.now():%Y%m%d}-{secrets.token_hex(4).upper()}"


@transaction.atomic
def return_request_create(
    *,
    order: Order,
    lines: list[ReturnLineInput],
    reason: str,
    user: Any,
    comment: str = "",
    refund_method: str = RefundMethod.ORIGINAL,
    idempotency_key: str = "",
    client_reference: str = "",
    start_process: bool = True,
) -> tuple[ReturnRequest, bool]:
    """Create a return (checked for eligibility) and start its process; ``(return, created)``.

    The same idempotency key or client reference from the same customer answers with the return
    created the first time; reusing it for a different request is refused.
    """
    customer = Customer.objects.select_for_update().get(pk=order.customer_id)
    fingerprint = _fingerprint(
        {
            "order": order.number,
            "lines": sorted((line.sku, line.quantity) for line in lines),
            "reason": reason,
            "refund_method": refund_method,
        }
    )
    for name, value in (
        ("idempotency_key", idempotency_key),
        ("client_reference", client_reference),
    ):
        if not value:
            continue
        existing = ReturnRequest.objects.filter(customer=customer, **{name: value}).first()
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise ApplicationError(
                    "This key was already used for a different return request.",
                    field=name,
                    code="conflict",
                )
            return existing, False
    if reason not in ReturnReason.values:
        raise ApplicationError("Unknown return reason.", field="reason")
    if refund_method not in RefundMethod.values:
        raise ApplicationError("Choose original or store_credit.", field="refund_method")
    if not lines:
        raise ApplicationError("Name at least one line to return.", field="lines")
    by_sku: dict[str, OrderLine] = {
        line.sku: line for line in order.lines.select_related("sub_order").order_by("pk")
    }
    wanted: list[tuple[OrderLine, int]] = []
    seen: set[str] = set()
    for item in lines:
        if item.sku in seen:
            raise ApplicationError(f"{item.sku} is listed twice.", field="lines")
        seen.add(item.sku)
        line = by_sku.get(item.sku)
        if line is None:
            raise ApplicationError(f"{item.sku} is not in order {order.number}.", field="lines")
        if item.quantity < 1:
            raise ApplicationError("Quantities must be at least 1.", field="lines")
        wanted.append((line, item.quantity))
    now = clock.now()
    policy = policy_in_force(at=now)
    problems = eligibility_problems(order=order, lines=wanted, policy=policy, at=now)
    if problems:
        field, message = problems[0]
        raise ApplicationError(message, field=field, code="not_eligible")
    return_request = ReturnRequest.objects.create(
        number=_new_number(),
        order=order,
        customer=customer,
        reason=reason,
        customer_comment=comment,
        refund_method=refund_method,
        currency=order.currency,
        amount_minor=sum(line.unit_price_minor * qty for line, qty in wanted),
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        idempotency_key=idempotency_key,
        client_reference=client_reference,
        request_fingerprint=fingerprint,
        policy=policy,
    )
    # The request's time is business time: the process re-checks the window at that instant.
    ReturnRequest.objects.filter(pk=return_request.pk).update(created_at=now)
    return_request.created_at = now
    ReturnLine.objects.bulk_create(
        ReturnLine(
            return_request=return_request,
            order_line=line,
            quantity=qty,
            amount_minor=line.unit_price_minor * qty,
        )
        for line, qty in wanted
    )
    _record(
        return_request,
        ReturnEvent.REQUESTED,
        "",
        actor_of(user),
        amount_minor=return_request.amount_minor,
    )
    order_history_write(
        order=order,
        event=OrderEvent.RETURN_REQUESTED,
        actor=actor_of(user),
        detail={"return": return_request.number, "amount_minor": return_request.amount_minor},
    )
    if start_process:
        return_process_start(return_request=return_request)
    return return_request, True


def return_process_variables(*, return_request: ReturnRequest) -> dict[str, Any]:
    """Ids and numbers only; everything else is read from the database by the handlers."""
    return {
        "returnId": return_request.pk,
        "returnNumber": return_request.number,
        "orderNumber": return_request.order.number,
        "itemWaitDuration": f"P{return_request.policy.item_wait_days}D",
    }


@transaction.atomic
def return_process_start(*, return_request: ReturnRequest) -> int:
    """Start the return's process instance (once) and remember its key."""
    return_request = _locked(return_request.pk)
    if return_request.process_instance_key:
        return int(return_request.process_instance_key)
    try:
        key = int(
            port.start(
                PROCESS_ID,
                return_process_variables(return_request=return_request),
                business_key=return_request.number,
            )
        )
    except Exception as error:  # the engine's own error types stay behind the port
        raise EngineUnavailable(str(error)) from error
    ReturnRequest.objects.filter(pk=return_request.pk).update(process_instance_key=key)
    return key


# ------------------------------------------------------------------------------ eligibility, fraud
@transaction.atomic
def return_eligibility_check(*, return_id: int) -> tuple[bool, str]:
    """Re-check window and quantities when the process runs; rejects an ineligible return."""
    return_request = _locked(return_id)
    if return_request.status == S.REJECTED:
        return False, return_request.rejection_reason
    if return_request.status != S.REQUESTED:
        return True, ""
    lines = [
        (line.order_line, line.quantity)
        for line in return_request.lines.select_related("order_line__sub_order")
    ]
    problems = eligibility_problems(
        order=return_request.order,
        lines=lines,
        policy=return_request.policy,
        at=return_request.created_at,
        exclude=return_request,
    )
    if not problems:
        return True, ""
    reason = " ".join(message for _field, message in problems)[:500]
    _reject(return_request, reason=f"Not eligible: {reason}", actor="")
    return False, return_request.rejection_reason


def _reject(return_request: ReturnRequest, *, reason: str, actor: str) -> None:
    from_status = return_request.status
    return_request.reject()
    return_request.rejection_reason = reason[:500]
    return_request.closed_at = clock.now()
    return_request.save()
    _record(return_request, ReturnEvent.REJECTED, from_status, actor, reason=reason)


@transaction.atomic
def return_fraud_assess(*, return_id: int) -> FraudAssessment:
    """Score the return once and route it: support review, approve with inspection, approve."""
    return_request = _locked(return_id)
    existing = FraudAssessment.objects.filter(return_request=return_request).first()
    if existing is not None:
        return existing
    result = fraud.fraud_score(return_request=return_request)
    assessment = FraudAssessment.objects.create(
        return_request=return_request,
        score=result.score,
        route=result.route,
        indicators=result.as_json(),
    )
    from_status = return_request.status
    if result.route == "review":
        return_request.flag_for_review()
    else:
        return_request.approve()
        return_request.inspection_required = result.route == "inspect"
    return_request.save()
    _record(
        return_request,
        ReturnEvent.FRAUD_SCORED,
        from_status,
        score=result.score,
        route=result.route,
        fired=[item.code for item in result.indicators if item.fired],
    )
    return assessment


REVIEW_DECISIONS = ("approve", "inspect", "reject")


@transaction.atomic
def return_review_record(
    *, return_id: int, decision: str, reviewer: str, reason: str = ""
) -> ReturnRequest:
    """Support's decision on a flagged return: approve, approve with inspection, or reject."""
    return_request = _locked(return_id)
    if return_request.status != S.IN_REVIEW:
        return return_request  # recorded already (a repeated job)
    if decision not in REVIEW_DECISIONS:
        raise ApplicationError("Unknown review decision.", field="decision")
    if decision == "reject" and not reason.strip():
        raise ApplicationError("Say why the return is rejected.", field="reason")
    return_request.reviewed_by = _user(reviewer)
    return_request.review_decision = decision
    if decision == "reject":
        _reject(return_request, reason=reason.strip(), actor=reviewer)
        return return_request
    return_request.approve()
    return_request.inspection_required = decision == "inspect"
    return_request.save()
    _record(
        return_request, ReturnEvent.REVIEWED, S.IN_REVIEW, reviewer, decision=decision, note=reason
    )
    return return_request


# ------------------------------------------------------------------------------ label, receipt
@transaction.atomic
def return_label_create(*, return_id: int, idempotency_key: str) -> ReturnLabel:
    """Issue the prepaid return label (once) and tell the return it waits for the item."""
    return_request = _locked(return_id)
    label = ReturnLabel.objects.filter(return_request=return_request).first()
    if label is None:
        carrier = getattr(settings, "RETURN_LABEL_CARRIER", "dhl")
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:12].upper()
        label = ReturnLabel.objects.create(
            return_request=return_request,
            carrier=carrier,
            tracking_number=f"RT{digest}",
            label_url=f"https://labels.example.com/{carrier}/RT{digest}.pdf",
            idempotency_key=idempotency_key,
        )
    if return_request.status == S.APPROVED:
        return_request.send_label()
        return_request.save()
        _record(
            return_request,
            ReturnEvent.LABEL_SENT,
            S.APPROVED,
            carrier=label.carrier,
            tracking_number=label.tracking_number,
        )
    return label


@transaction.atomic
def return_item_receive(*, return_request: ReturnRequest, actor: str = "") -> ReturnRequest:
    """The item came back: mark it received and tell the process (once; repeats change nothing)."""
    return_request = _locked(return_request.pk)
    if return_request.item_received_at is not None:
        return return_request
    if return_request.status != S.AWAITING_ITEM:
        raise ApplicationError(
            f"Return {return_request.number} is {return_request.get_status_display().lower()}: "
            "it is not waiting for an item.",
            field="return",
            code="conflict",
        )
    return_request.receive()
    return_request.item_received_at = clock.now()
    return_request.save()
    _record(return_request, ReturnEvent.ITEM_RECEIVED, S.AWAITING_ITEM, actor)
    publish_once(
        ITEM_RECEIVED_MESSAGE,
        str(return_request.pk),
        variables={"itemReceivedBy": actor},
        message_id=f"{ITEM_RECEIVED_MESSAGE}:{return_request.pk}",
    )
    return return_request


@transaction.atomic
def return_expire(*, return_id: int) -> ReturnRequest:
    """Nothing arrived in time: close the return (no refund)."""
    return_request = _locked(return_id)
    if return_request.status == S.AWAITING_ITEM:
        return_request.expire()
        return_request.closed_at = clock.now()
        return_request.save()
        _record(return_request, ReturnEvent.EXPIRED, S.AWAITING_ITEM)
    return return_request


# ------------------------------------------------------------------------------ inspection
def inspection_passes(
    *, return_request: ReturnRequest, condition: str, matches_order: bool
) -> bool:
    """The item must be what was ordered; damage fails it unless damage is why it came back."""
    if not matches_order:
        return False
    return condition != ItemCondition.DAMAGED or return_request.reason == ReturnReason.DAMAGED


@transaction.atomic
def inspection_record(
    *,
    return_id: int,
    condition: str,
    matches_order: bool,
    restockable: bool,
    inspector: str,
    notes: str = "",
    photos: list[str] | None = None,
) -> Inspection:
    """Record the warehouse's inspection (once); a failed one rejects the return."""
    return_request = _locked(return_id)
    existing = Inspection.objects.filter(return_request=return_request).first()
    if existing is not None:
        return existing
    if condition not in ItemCondition.values:
        raise ApplicationError("Unknown condition.", field="condition")
    passed = inspection_passes(
        return_request=return_request, condition=condition, matches_order=matches_order
    )
    inspection = Inspection.objects.create(
        return_request=return_request,
        condition=condition,
        matches_order=matches_order,
        restockable=restockable and passed,
        passed=passed,
        notes=notes,
        photos=photos or [],
        inspected_by=_user(inspector),
    )
    if passed:
        return_request.accept()
        return_request.save()
        _record(return_request, ReturnEvent.INSPECTED, S.RECEIVED, inspector, condition=condition)
    else:
        why = "the item does not match the order" if not matches_order else "the item is damaged"
        _reject(
            return_request, reason=f"Inspection failed: {why}. {notes}".strip(), actor=inspector
        )
    return inspection


# ------------------------------------------------------------------------------ refund
def _refundable_left(order: Order) -> int | None:
    charge = Charge.objects.filter(order=order).first()
    if charge is None:
        return None
    return charge.amount_minor - charge.refunded_minor


@transaction.atomic
def refund_prepare(*, return_id: int) -> ReturnRefund:
    """Work out the refund (once); below the policy threshold it is approved at once."""
    return_request = _locked(return_id)
    refund = ReturnRefund.objects.filter(return_request=return_request).first()
    if refund is not None:
        return refund
    if return_request.status == S.RECEIVED:
        if return_request.inspection_required:
            raise ApplicationError("This return must be inspected first.", code="conflict")
        return_request.accept()
        return_request.save()
        _record(return_request, ReturnEvent.ACCEPTED, S.RECEIVED, note="no inspection needed")
    if return_request.status != S.ACCEPTED:
        raise ApplicationError(f"Return is {return_request.status}; no refund.", code="conflict")
    amount = return_request.amount_minor
    if return_request.refund_method == RefundMethod.ORIGINAL:
        left = _refundable_left(return_request.order)
        if left is not None:
            amount = min(amount, left)
    needs_approval = amount > return_request.policy.approval_threshold_minor
    inspection = Inspection.objects.filter(return_request=return_request).first()
    refund = ReturnRefund.objects.create(
        return_request=return_request,
        amount_minor=amount,
        currency=return_request.currency,
        method=return_request.refund_method,
        needs_approval=needs_approval,
        requested_by=return_request.requested_by,
        reviewed_by=return_request.reviewed_by or (inspection.inspected_by if inspection else None),
        idempotency_key=f"return-refund:{return_request.number}",
    )
    if not needs_approval:
        refund.approve()
        refund.decided_at = clock.now()
        refund.decision_note = "Below the approval threshold"
        refund.save()
    _record(
        return_request,
        ReturnEvent.REFUND_PREPARED,
        return_request.status,
        amount_minor=amount,
        method=refund.method,
        needs_approval=needs_approval,
    )
    return refund


def refund_approval_check(*, refund: ReturnRefund, user: Any) -> None:
    """Raise ``ApplicationError`` unless ``user`` may approve or refuse this refund (four eyes)."""
    if user is None or not has_role(user, MANAGERS):
        raise ApplicationError("Only managers approve refunds.", code="permission")
    involved = {refund.requested_by_id, refund.reviewed_by_id}
    inspection = Inspection.objects.filter(return_request_id=refund.return_request_id).first()
    if inspection is not None:
        involved.add(inspection.inspected_by_id)
    involved.add(refund.return_request.reviewed_by_id)
    if user.pk in involved:
        raise ApplicationError(
            "Four eyes: you requested or reviewed this return, so another manager must decide.",
            field="decision",
            code="four_eyes",
        )


@transaction.atomic
def refund_decide(*, return_id: int, approver: str, approve: bool, note: str = "") -> ReturnRefund:
    """A manager approves or refuses a refund above the threshold (never their own)."""
    return_request = _locked(return_id)
    refund = ReturnRefund.objects.select_for_update().get(return_request=return_request)
    if refund.status != ReturnRefund.S.PENDING_APPROVAL:
        return refund
    user = _user(approver)
    refund_approval_check(refund=refund, user=user)
    refund.approved_by = user
    refund.decided_at = clock.now()
    refund.decision_note = note[:500]
    if approve:
        refund.approve()
        refund.save()
        _record(
            return_request, ReturnEvent.REFUND_APPROVED, return_request.status, approver, note=note
        )
    else:
        refund.reject()
        refund.save()
        _reject(return_request, reason=f"Refund not approved: {note}".strip(), actor=approver)
    return refund


def _charge_refund(*, return_request: ReturnRequest, refund: ReturnRefund) -> OrderRefund | None:
    """Refund through the order's payments, keyed by the return (a repeat finds the row)."""
    return charge_refund(
        order_id=return_request.order_id,
        amount_minor=refund.amount_minor,
        reason=f"Return {return_request.number}",
        idempotency_key=refund.idempotency_key,
        required=True,
        detail={"return": return_request.number},
    )


@transaction.atomic
def refund_issue(*, return_id: int) -> ReturnRefund:
    """Move the approved refund: back to the card, or as store credit (once)."""
    return_request = _locked(return_id)
    refund = ReturnRefund.objects.select_for_update().get(return_request=return_request)
    if refund.status == ReturnRefund.S.ISSUED:
        return refund
    if refund.status != ReturnRefund.S.APPROVED:
        raise ApplicationError("The refund is not approved.", code="conflict")
    if refund.method == RefundMethod.STORE_CREDIT:
        StoreCreditEntry.objects.get_or_create(
            idempotency_key=refund.idempotency_key,
            defaults={
                "customer": return_request.customer,
                "amount_minor": refund.amount_minor,
                "currency": refund.currency,
                "reason": f"Return {return_request.number}",
                "return_request": return_request,
            },
        )
    else:
        refund.order_refund = _charge_refund(return_request=return_request, refund=refund)
    refund.issue()
    refund.issued_at = clock.now()
    refund.save()
    from_status = return_request.status
    return_request.mark_refunded()
    return_request.save()
    _record(
        return_request,
        ReturnEvent.REFUND_ISSUED,
        from_status,
        amount_minor=refund.amount_minor,
        method=refund.method,
    )
    return refund


# ------------------------------------------------------------------------------ vendor share
def _commission_part(*, sub_order: VendorSubOrder, before: int, share: int) -> int:
    """The commission on ``share`` of the sub-order, rounded half-up once on the running total.

    ``before`` is the value already returned from this sub-order: computing the cumulative
    commission and subtracting what was reversed before keeps the parts adding up exactly, and
    returning the whole subtotal reverses exactly the commission charged.
    """
    if sub_order.subtotal_minor <= 0:
        return 0
    after = min(before + share, sub_order.subtotal_minor)
    total_after = round_half_up_div(after * sub_order.commission_minor, sub_order.subtotal_minor)
    total_before = round_half_up_div(before * sub_order.commission_minor, sub_order.subtotal_minor)
    return total_after - total_before


@transaction.atomic
def vendor_share_reverse(*, return_id: int) -> list[VendorReturnAdjustment]:
    """Take each vendor's part of a refunded return back: reverse its payout or reduce its hold.

    The vendor bears the returned value minus the platform's commission on it; the commission
    part is the platform's to give back. Once per (return, sub-order).
    """
    return_request = _locked(return_id)
    shares: dict[int, int] = defaultdict(int)
    for line in return_request.lines.select_related("order_line"):
        if line.order_line.sub_order_id:
            shares[line.order_line.sub_order_id] += line.amount_minor
    adjustments = []
    for sub_order_id in sorted(shares):
        key = f"return-vendor:{return_request.number}:{sub_order_id}"
        existing = VendorReturnAdjustment.objects.filter(idempotency_key=key).first()
        if existing is not None:
            adjustments.append(existing)
            continue
        sub_order = VendorSubOrder.objects.select_for_update().get(pk=sub_order_id)
        before = (
            VendorReturnAdjustment.objects.filter(sub_order=sub_order).aggregate(
                total=Sum("amount_minor")
            )["total"]
            or 0
        )
        share = shares[sub_order_id]
        commission = _commission_part(sub_order=sub_order, before=before, share=share)
        payout_part = share - commission
        taken = vendor_services.vendor_share_take_back(
            sub_order_id=sub_order.pk,
            amount_minor=payout_part,
            idempotency_key=key,
            reason=f"Return {return_request.number}",
        )
        kind = VendorReturnAdjustment.K(taken.kind)
        if kind != VendorReturnAdjustment.K.NONE:
            payout_part = taken.amount_minor
        reversal_id = taken.provider_reversal_id
        adjustment = VendorReturnAdjustment.objects.create(
            return_request=return_request,
            sub_order=sub_order,
            amount_minor=payout_part + commission,
            commission_minor=commission,
            payout_minor=payout_part,
            currency=sub_order.currency,
            kind=kind,
            provider_reversal_id=reversal_id,
            idempotency_key=key,
        )
        order_history_write(
            order=return_request.order,
            sub_order=sub_order,
            event=OrderEvent.RETURN_VENDOR_SHARE_REVERSED,
            detail={
                "return": return_request.number,
                "kind": kind,
                "payout_minor": payout_part,
                "commission_minor": commission,
            },
        )
        adjustments.append(adjustment)
    return adjustments


# ------------------------------------------------------------------------------ stock, close
@transaction.atomic
def return_restock(*, return_id: int) -> ReturnRequest:
    """Put restockable units back on hand, then complete the return (once)."""
    return_request = _locked(return_id)
    if return_request.status != S.REFUNDED:
        return return_request
    inspection = Inspection.objects.filter(return_request=return_request).first()
    restock = inspection is None or inspection.restockable
    restocked: list[dict[str, int]] = []
    if restock:
        quantities: dict[int, int] = defaultdict(int)
        for line in return_request.lines.select_related("order_line"):
            quantities[line.order_line.product_id] += line.quantity
        restocked = vendor_stock.stock_restock(quantities=dict(quantities))
    return_request.complete()
    return_request.closed_at = clock.now()
    return_request.save()
    _record(return_request, ReturnEvent.COMPLETED, S.REFUNDED, restocked=restocked)
    return return_request


CUSTOMER_TEMPLATES = ("rejected", "refunded", "expired")


@transaction.atomic
def return_customer_notify(*, return_id: int, template: str, idempotency_key: str) -> ReturnHistory:
    """Tell the customer (one e-mail per key: repeating the job sends nothing).

    ``template`` names ``templates/notifications/returns/<template>.*.txt``; the e-mail goes
    after commit, and a mail failure does not undo the decision (the history row stands).
    """
    return_request = _locked(return_id)
    sent = return_request.history.filter(
        event=ReturnEvent.CUSTOMER_NOTIFIED, detail__idempotency_key=idempotency_key
    ).first()
    if sent is not None:
        return sent
    refund = ReturnRefund.objects.filter(return_request=return_request).first()
    notice = notify_customer(
        template=f"returns/{template if template in CUSTOMER_TEMPLATES else 'refunded'}",
        to=return_request.customer.email,
        context={
            "number": return_request.number,
            "reason": return_request.rejection_reason or "see your account",
            "amount": format_money(refund.amount_minor, refund.currency) if refund else "",
            "days": return_request.policy.item_wait_days,
        },
        key=idempotency_key,
    )
    return _record(
        return_request,
        ReturnEvent.CUSTOMER_NOTIFIED,
        return_request.status,
        template=template,
        body=notice.notification.body,
        idempotency_key=idempotency_key,
    )
