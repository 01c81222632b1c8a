"""Writes about orders: placing them, capturing and refunding their charge, status changes.

Every status change locks its row (``select_for_update``), checks the transition, and writes an
``OrderHistory`` row in the same transaction (``orders.history``). Money movements are keyed by
an idempotency key derived from the process job that asked for them: repeating the job finds
the earlier row. Refunds are made by ``orders.payments.refunds``; stock belongs to
``vendors.stock``, holds and payouts to ``vendors.services``.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, NotYet
from core.history import actor_of
from core.messages import publish_once
from core.money import allocate, split_commission
from core.notifications import notify_customer
from processes import port
from vendors.models import Product, StockItem, Vendor, VendorSubOrder
from vendors.services import sub_orders_end_with_order
from vendors.sla import vendor_sla_iso

from .history import order_history_write
from .models import Charge, Customer, Order, OrderEvent, OrderHistory, OrderLine, Refund
from .payments import PaymentDeclined, get_provider
from .payments.refunds import charge_refund

logger = logging.getLogger(__name__)

PROCESS_ID = "marketplace-order"
ORDER_CANCELLED_MESSAGE = "order-cancelled"


CUSTOMER_TEMPLATES = ("order_completed", "order_cancelled", "payment_declined")


class EngineUnavailable(Exception):
    """The process engine refused or failed to start the order's process."""


@dataclass(frozen=True)
class LineInput:
    """One requested order line: a vendor's product by SKU and a quantity."""

    vendor_handle: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class CustomerInput:
    email: str
    name: str
    country: str


@dataclass
class _VendorPart:
    vendor: Vendor
    lines: list[tuple[Product, int]] = field(default_factory=list)

    @property
    def subtotal_minor(self) -> int:
        return sum(product.price_minor * quantity for product, quantity in self.lines)


# ------------------------------------------------------------------------------------ placing
def _new_order_number() -> str:
    return f"ORD-{timezone.now():%Y%m%d}-{secrets.token_hex(4).upper()}"


def _vendor_parts(*, lines: list[LineInput], currency: str) -> list[_VendorPart]:
    """Resolve and check the requested lines, grouped by vendor (sorted by vendor handle)."""
    if not lines:
        raise ApplicationError("An order needs at least one line.", field="lines")
    parts: dict[str, _VendorPart] = {}
    wanted: dict[int, int] = defaultdict(int)
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if line.quantity < 1:
            raise ApplicationError("Quantity must be at least 1.", field=f"{where}.quantity")
        vendor = Vendor.objects.filter(handle=line.vendor_handle).first()
        if vendor is None or not vendor.is_active:
            raise ApplicationError(
                f"Unknown or inactive vendor '{line.vendor_handle}'.", field=f"{where}.vendor"
            )
        product = Product.objects.filter(vendor=vendor, sku=line.sku, is_active=True).first()
        if product is None:
            raise ApplicationError(
                f"Vendor '{vendor.handle}' has no active product '{line.sku}'.",
                field=f"{where}.sku",
            )
        if product.currency != currency:
            raise ApplicationError(
                f"Product '{line.sku}' is priced in {product.currency}, not {currency}.",
                field="currency",
            )
        wanted[product.pk] += line.quantity
        stock = StockItem.objects.filter(product=product).first()
        if stock is None or stock.available < wanted[product.pk]:
            raise ApplicationError(
                f"Only {stock.available if stock else 0} of '{line.sku}' available.",
                field=f"{where}.quantity",
                code="out_of_stock",
            )
        parts.setdefault(vendor.handle, _VendorPart(vendor)).lines.append((product, line.quantity))
    return [parts[handle] for handle in sorted(parts)]


@transaction.atomic
def order_create(
    *,
    customer: CustomerInput,
    currency: str,
    lines: list[LineInput],
    payment_method: str,
    shipping_minor: int = 0,
    shipping_address: dict[str, Any] | None = None,
    expected_total_minor: int | None = None,
    placed_by: Any = None,
) -> Order:
    """Create an order with its lines and one sub-order per vendor (commission split per vendor).

    Shipping is shared among the vendors in proportion to their subtotals (exactly, largest
    remainder); a vendor's payout is its subtotal minus its commission (rounded half-up once).
    """
    currency = currency.upper()
    if shipping_minor < 0:
        raise ApplicationError("Shipping must not be negative.", field="shipping_minor")
    parts = _vendor_parts(lines=lines, currency=currency)
    subtotal = sum(part.subtotal_minor for part in parts)
    total = subtotal + shipping_minor
    if expected_total_minor is not None and expected_total_minor != total:
        raise ApplicationError(
            f"The order total is {total}, not {expected_total_minor}.", field="total_minor"
        )
    if total <= 0:
        raise ApplicationError("The order total must be positive.", field="lines")
    customer_row, _ = Customer.objects.get_or_create(
        email=customer.email.lower(),
        defaults={"name": customer.name, "country": customer.country.upper()},
    )
    order = Order.objects.create(
        number=_new_order_number(),
        customer=customer_row,
        currency=currency,
        subtotal_minor=subtotal,
        shipping_minor=shipping_minor,
        total_minor=total,
        shipping_address=shipping_address or {},
        payment_method=payment_method,
        placed_by=placed_by if getattr(placed_by, "is_authenticated", False) else None,
    )
    shipping_shares = allocate(
        total_minor=shipping_minor, weights=[part.subtotal_minor for part in parts]
    )
    for index, (part, shipping_share) in enumerate(zip(parts, shipping_shares, strict=True), 1):
        split = split_commission(
            amount_minor=part.subtotal_minor, rate_bp=part.vendor.commission_rate_bp
        )
        sub_order = VendorSubOrder.objects.create(
            order=order,
            vendor=part.vendor,
            number=f"{order.number}-{index:02d}",
            currency=currency,
            subtotal_minor=part.subtotal_minor,
            shipping_minor=shipping_share,
            commission_rate_bp=split.rate_bp,
            commission_minor=split.commission_minor,
            payout_minor=split.payout_minor,
        )
        for product, quantity in part.lines:
            OrderLine.objects.create(
                order=order,
                product=product,
                vendor=part.vendor,
                sub_order=sub_order,
                sku=product.sku,
                name=product.name,
                quantity=quantity,
                unit_price_minor=product.price_minor,
                total_minor=product.price_minor * quantity,
            )
    order_history_write(
        order=order,
        event=OrderEvent.ORDER_PLACED,
        to_status=order.status,
        actor=actor_of(placed_by),
        detail={"total_minor": total, "currency": currency, "vendors": len(parts)},
    )
    return order


def order_process_variables(*, order: Order) -> dict[str, Any]:
    """The variables the marketplace-order process starts with (ids, numbers and SLAs only)."""
    sub_orders = order.sub_orders.select_related("vendor").order_by("number")
    return {
        "orderId": order.pk,
        "orderNumber": order.number,
        "currency": order.currency,
        "totalMinor": order.total_minor,
        "subOrders": [
            {
                "id": so.pk,
                "number": so.number,
                "vendorHandle": so.vendor.handle,
                "vendorName": so.vendor.name,
                "slaDuration": vendor_sla_iso(so.vendor),
                "totalMinor": so.total_minor,
                "payoutMinor": so.payout_minor,
            }
            for so in sub_orders
        ],
    }


@transaction.atomic
def order_process_start(*, order: Order) -> int:
    """Start the order's process instance and remember its key on the order."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.process_instance_key:
        return int(order.process_instance_key)
    try:
        instance_key = int(
            port.start(PROCESS_ID, order_process_variables(order=order), business_key=order.number)
        )
    except Exception as error:  # the engine's own error types stay behind the port
        raise EngineUnavailable(str(error)) from error
    order.process_instance_key = instance_key
    order.metadata = {**order.metadata, "instance_key": instance_key, "process_id": PROCESS_ID}
    order.save(update_fields=["process_instance_key", "metadata"])
    order_history_write(
        order=order, event=OrderEvent.PROCESS_STARTED, detail={"instance_key": instance_key}
    )
    return instance_key


@transaction.atomic
def order_place(**kwargs: Any) -> Order:
    """Create an order (see ``order_create``) and start its process, all or nothing."""
    order = order_create(**kwargs)
    order_process_start(order=order)
    # A fresh read, not refresh_from_db: django-fsm lifts the protection of the status field
    # for a refresh on the field itself, shared by every thread (another thread's refresh then
    # fails with "Direct status modification is not allowed").
    return Order.objects.get(pk=order.pk)


def order_check_open(order_id: int) -> None:
    """Vendors and carriers act only on a paid order: before payment their action waits
    (``NotYet``), after the order ended (declined, cancelled, completed) it is refused."""
    row = Order.objects.filter(pk=order_id).values("number", "status").first()
    if row is None:
        raise ApplicationError("No such order.", code="not_found")
    if row["status"] == Order.S.PAID:
        return
    if row["status"] == Order.S.RECEIVED:
        raise NotYet(f"Order {row['number']} is not paid yet.")
    label = Order.S(row["status"]).label.lower()
    raise ApplicationError(
        f"Order {row['number']} is {label}: its vendors can no longer act on it.",
        code="conflict",
    )


# ------------------------------------------------------------------------------------ payment
@transaction.atomic
def payment_capture(*, order_id: int, idempotency_key: str) -> Charge:
    """Authorize and capture the order's one charge; a decline is recorded, not raised.

    The order row stays locked during the provider call so that a concurrent cancellation waits;
    the provider's idempotency key makes a repeated call after a crash return the same charge.
    """
    order = Order.objects.select_for_update().get(pk=order_id)
    existing = Charge.objects.filter(order=order).first()
    if existing is not None:
        return existing
    if order.status != Order.S.RECEIVED:
        raise ApplicationError(f"Order {order.number} is {order.status}: nothing to capture.")
    provider = get_provider()
    try:
        result = provider.charge(
            order_number=order.number,
            amount_minor=order.total_minor,
            currency=order.currency,
            payment_method=order.payment_method,
            idempotency_key=idempotency_key,
        )
    except PaymentDeclined as declined:
        charge = Charge.objects.create(
            order=order,
            provider=provider.name,
            amount_minor=order.total_minor,
            currency=order.currency,
            status=Charge.S.DECLINED,
            decline_code=declined.code[:60],
            idempotency_key=idempotency_key,
        )
        from_status = order.status
        order.decline()
        order.save()
        order_history_write(
            order=order,
            event=OrderEvent.PAYMENT_DECLINED,
            from_status=from_status,
            to_status=order.status,
            detail={"decline_code": declined.code},
        )
        sub_orders_end_with_order(order_id=order.pk, reason="Payment declined.")
        return charge
    charge = Charge.objects.create(
        order=order,
        provider=provider.name,
        provider_charge_id=result.id,
        amount_minor=order.total_minor,
        currency=order.currency,
        idempotency_key=idempotency_key,
    )
    from_status = order.status
    order.mark_paid()
    order.save()
    order_history_write(
        order=order,
        event=OrderEvent.PAYMENT_CAPTURED,
        from_status=from_status,
        to_status=order.status,
        detail={"amount_minor": charge.amount_minor, "provider_charge_id": result.id},
    )
    return charge


@transaction.atomic
def refund_sub_order(*, sub_order_id: int, idempotency_key: str, reason: str) -> Refund | None:
    """Refund one vendor's share (its subtotal and its share of shipping), once."""
    sub_order = VendorSubOrder.objects.select_related("order").get(pk=sub_order_id)
    order = Order.objects.select_for_update().get(pk=sub_order.order_id)
    existing = (
        Refund.objects.filter(idempotency_key=idempotency_key).first()
        or Refund.objects.filter(sub_order=sub_order).first()
    )
    if existing is not None:
        return existing
    return charge_refund(
        order_id=order.pk,
        sub_order=sub_order,
        amount_minor=sub_order.total_minor,
        reason=reason,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def refund_order_remaining(*, order_id: int, idempotency_key: str, reason: str) -> Refund | None:
    """Refund whatever of the charge is not refunded yet (whole-order cancellation), once."""
    order = Order.objects.select_for_update().get(pk=order_id)
    return charge_refund(
        order_id=order.pk,
        amount_minor=order.total_minor,
        reason=reason,
        idempotency_key=idempotency_key,
    )


# ------------------------------------------------------------------------------------ endings
@transaction.atomic
def order_complete(*, order_id: int) -> Order:
    """Every vendor part ended: the order is complete (a no-op when it already ended)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != Order.S.PAID:
        return order
    from_status = order.status
    order.complete()
    order.save()
    order_history_write(
        order=order,
        event=OrderEvent.ORDER_COMPLETED,
        from_status=from_status,
        to_status=order.status,
    )
    return order


@transaction.atomic
def order_cancel_request(*, order: Order, reason: str, user: Any = None) -> Order:
    """Ask the order's process to cancel the whole order (it undoes what was done, once)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status not in (Order.S.RECEIVED, Order.S.PAID):
        raise ApplicationError(f"Order {order.number} is {order.status}: it cannot be cancelled.")
    done = order.sub_orders.filter(
        status__in=[VendorSubOrder.S.DELIVERED, VendorSubOrder.S.COMPLETED]
    )
    if done.exists():
        raise ApplicationError(
            "Part of the order was delivered already: return it instead of cancelling."
        )
    if not reason.strip():
        raise ApplicationError("Say why the order is cancelled.", field="reason")
    order_history_write(
        order=order,
        event=OrderEvent.CANCELLATION_REQUESTED,
        actor=actor_of(user),
        detail={"reason": reason},
    )
    publish_once(
        ORDER_CANCELLED_MESSAGE,
        order.number,
        variables={"cancelReason": reason},
        message_id=f"{ORDER_CANCELLED_MESSAGE}:{order.number}",
    )
    return order


@transaction.atomic
def order_mark_cancelled(*, order_id: int, reason: str = "") -> Order:
    """The process started undoing the order: it is cancelled (first step, so a late capture
    finds it cancelled and charges nothing)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in (Order.S.RECEIVED, Order.S.PAID):
        return order
    from_status = order.status
    order.cancel()
    order.save()
    order_history_write(
        order=order,
        event=OrderEvent.ORDER_CANCELLED,
        from_status=from_status,
        to_status=order.status,
        detail={"reason": reason},
    )
    # Parts no vendor was asked for end now; the process recalls the others from their vendors.
    sub_orders_end_with_order(order_id=order.pk, reason=reason or "Order cancelled.")
    return order


@transaction.atomic
def customer_notify(*, order_id: int, template: str, idempotency_key: str) -> OrderHistory:
    """Send the customer one message per key (repeating the job sends nothing).

    ``template`` names ``templates/notifications/orders/<template>.*.txt``.
    """
    order = Order.objects.select_for_update().select_related("customer").get(pk=order_id)
    sent = order.history.filter(
        event=OrderEvent.CUSTOMER_NOTIFIED, detail__idempotency_key=idempotency_key
    ).first()
    if sent is not None:
        return sent
    notify_customer(
        template=f"orders/{template if template in CUSTOMER_TEMPLATES else 'order_completed'}",
        to=order.customer.email,
        context={"number": order.number},
        key=idempotency_key,
    )
    return order_history_write(
        order=order,
        event=OrderEvent.CUSTOMER_NOTIFIED,
        detail={"template": template, "idempotency_key": idempotency_key},
    )
