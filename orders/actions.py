"""What the back-office may do to an order, decided before it is offered.

The order page offers an action only when it will succeed: ``cancel_refusal`` applies the same
rules as ``services.order_cancel_request`` and says why not in business words. Stopping an
order's workflow without compensation is an administrator's repair tool: ``stop_leftovers``
says what it would leave behind, and ``record_workflow_stop`` keeps that in the admin log
(shown on the order's timeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from core.money import format_currency
from vendors.models import HoldStatus, PayoutHold, SubOrderStatus, VendorSubOrder

from .models import Charge, ChargeStatus, Order, OrderEvent, OrderStatus

ENDED_SUB_ORDERS = (SubOrderStatus.DELIVERED, SubOrderStatus.COMPLETED)
OPEN_SUB_ORDERS = (
    SubOrderStatus.PENDING,
    SubOrderStatus.REQUESTED,
    SubOrderStatus.ACCEPTED,
    SubOrderStatus.SHIPPED,
)
STOP_PREFIX = "Workflow stopped without compensation"


def cancellation_requested(order: Order) -> Any:
    """The history row of a cancellation already asked for (None when there is none)."""
    return order.history.filter(event=OrderEvent.CANCELLATION_REQUESTED).order_by("-at").first()


def cancel_refusal(order: Order) -> str | None:
    """Why "Cancel order" cannot be done now, or None when it can (the service's own rules)."""
    if order.status not in (OrderStatus.RECEIVED, OrderStatus.PAID):
        return f"The order is {order.get_status_display().lower()}: there is nothing to cancel."
    if order.sub_orders.filter(status__in=ENDED_SUB_ORDERS).exists():
        return (
            "Part of the order was delivered already: start a return for the delivered items "
            "instead of cancelling."
        )
    if cancellation_requested(order) is not None:
        return "Cancellation was requested already; everything done is being undone."
    if not order.process_instance_key:
        return "The order's workflow has not started yet."
    return None


def stop_leftovers(order: Order) -> list[str]:
    """What stopping the order's workflow (with no compensation) would leave behind."""
    left: list[str] = []
    charge = Charge.objects.filter(order=order).first()
    if charge is not None and charge.status != ChargeStatus.DECLINED:
        kept = charge.amount_minor - charge.refunded_minor
        if kept > 0:
            left.append(
                f"The customer's payment of {format_currency(kept, charge.currency)} stays "
                "captured (no refund)."
            )
    for hold in PayoutHold.objects.filter(
        sub_order__order=order, status=HoldStatus.HELD
    ).select_related("sub_order__vendor"):
        left.append(
            f"The payout hold of {format_currency(hold.amount_minor, hold.currency)} for "
            f"{hold.sub_order.vendor.name} stays held."
        )
    for sub_order in VendorSubOrder.objects.filter(
        order=order, status__in=OPEN_SUB_ORDERS
    ).select_related("vendor"):
        left.append(
            f"{sub_order.vendor.name}'s part {sub_order.number} stays "
            f"“{sub_order.get_status_display().lower()}”; the vendor can still act on it."
        )
    if VendorSubOrder.objects.filter(
        order=order,
        status__in=OPEN_SUB_ORDERS,
        stock_reserved_at__isnull=False,
        stock_released_at__isnull=True,
    ).exists():
        left.append("Stock reserved for the order stays reserved.")
    if order.status in (OrderStatus.RECEIVED, OrderStatus.PAID):
        left.append(f"The order stays “{order.get_status_display().lower()}”.")
    return left


def record_workflow_stop(*, order: Order, user: Any, reason: str, leftovers: list[str]) -> None:
    """Keep an administrator's workflow stop, and what it left behind, in the admin log."""
    message = f"{STOP_PREFIX}: {reason}."
    if leftovers:
        message += " Left as it was: " + " ".join(leftovers)
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[order],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


def workflow_stops(order: Order) -> list[LogEntry]:
    content_type = ContentType.objects.get_for_model(Order)
    return list(
        LogEntry.objects.filter(
            content_type=content_type,
            object_id=str(order.pk),
            change_message__startswith=STOP_PREFIX,
        ).select_related("user")
    )


@dataclass(frozen=True)
class StopPolicy:
    """How the business ends an order's workflow (read by the process pages)."""

    subject: str
    business_url: str | None
    business_action: str
    refusal: str | None
    leftovers: list[str]

    def record(self, *, user: Any, reason: str) -> None:
        order = Order.objects.get(number=self.subject.removeprefix("Order "))
        record_workflow_stop(order=order, user=user, reason=reason, leftovers=self.leftovers)


def order_stop_policy(business_key: str) -> StopPolicy | None:
    if not business_key.startswith("ORD-"):
        return None
    order = Order.objects.filter(number=business_key).first()
    if order is None:
        return None
    refusal = cancel_refusal(order)
    return StopPolicy(
        subject=f"Order {order.number}",
        business_url=reverse("orders:detail", args=[order.number]) + "#cancel",
        business_action="Cancel the order (refunds the customer and releases vendors)",
        refusal=refusal,
        leftovers=stop_leftovers(order),
    )


def describe_orders(business_keys: list[str]) -> dict[str, str]:
    """Tasklist rows: whose order it is, what it is worth, who is late (one query each)."""
    numbers = [key for key in business_keys if key.startswith("ORD-")]
    if not numbers:
        return {}
    found = {
        order.number: (
            f"{order.customer.name} · {format_currency(order.total_minor, order.currency)}"
        )
        for order in Order.objects.filter(number__in=numbers).select_related("customer")
    }
    late = VendorSubOrder.objects.filter(
        order__number__in=numbers,
        status=SubOrderStatus.REQUESTED,
        sla_due_at__lt=timezone.now(),
    ).select_related("vendor", "order")
    for sub_order in late:
        found[sub_order.order.number] += f" · {sub_order.vendor.name} is late"
    return found
