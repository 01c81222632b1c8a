"""Writes about orders: placing them, moving their money and stock, and their status changes.

Every status change locks its row (``select_for_update``), checks the transition, and writes an
``OrderHistory`` row in the same transaction. Money movements are keyed by an idempotency key
derived from the process job that asked for them: repeating the job finds the earlier row.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError
from processes import port
from vendors.models import Product, StockItem, Vendor, VendorSubOrder

from .models import Charge, Customer, Order, OrderHistory, OrderLine, Refund
from .money import allocate, split_commission
from .payments import PaymentDeclined, get_provider

logger = logging.getLogger(__name__)

PROCESS_ID = "marketplace-order"
ORDER_CANCELLED_MESSAGE = "order-cancelled"
# Buffered messages wait this long for an instance that is not yet listening (out-of-order events).
MESSAGE_TTL_MS = 30 * 24 * 3600 * 1000


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


# ------------------------------------------------------------------------------------ history
def history_write(
    *,
    order: Order,
    event: str,
    sub_order: VendorSubOrder | None = None,
    from_status: str = "",
    to_status: str = "",
    actor: str = "",
    detail: dict[str, Any] | None = None,
) -> OrderHistory:
    """Append a history row (call inside the transaction that made the change)."""
    return OrderHistory.objects.create(
        order=order,
        sub_order=sub_order,
        event=event,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:150],
        detail=detail or {},
    )


def actor_of(user: Any) -> str:
    """How a user appears in the history (``""`` for the process itself)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return str(user.get_username())


def publish_once(
    name: str, correlation_key: str, *, variables: dict[str, Any], message_id: str
) -> None:
    """Publish a buffered process message; the same message id again is a no-op, not an error.

    The engine drops a message whose id is still buffered (Zeebe's ALREADY_EXISTS rejection):
    a vendor repeating an answer must not fail its webhook.
    """
    try:
        port.publish_message(
            name, correlation_key, variables=variables, ttl_ms=MESSAGE_TTL_MS, message_id=message_id
        )
    except Exception as error:
        if getattr(error, "rejection_type", "") != "ALREADY_EXISTS":
            raise
        logger.info("Message %s already published; dropped the repeat", message_id)


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
    history_write(
        order=order,
        event="order_placed",
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
                "slaDuration": f"PT{so.vendor.sla_hours}H",
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
    history_write(order=order, event="process_started", detail={"instance_key": instance_key})
    return instance_key


@transaction.atomic
def order_place(**kwargs: Any) -> Order:
    """Create an order (see ``order_create``) and start its process, all or nothing."""
    order = order_create(**kwargs)
    order_process_start(order=order)
    order.refresh_from_db()
    return order


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
        history_write(
            order=order,
            event="payment_declined",
            from_status=from_status,
            to_status=order.status,
            detail={"decline_code": declined.code},
        )
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
    history_write(
        order=order,
        event="payment_captured",
        from_status=from_status,
        to_status=order.status,
        detail={"amount_minor": charge.amount_minor, "provider_charge_id": result.id},
    )
    return charge


def _refund(
    *,
    order: Order,
    sub_order: VendorSubOrder | None,
    amount_minor: int,
    reason: str,
    idempotency_key: str,
) -> Refund | None:
    """Refund ``amount_minor`` of the (locked) order's charge, at most what is left."""
    charge = Charge.objects.select_for_update().filter(order=order).first()
    if charge is None or charge.status == Charge.S.DECLINED:
        return None
    amount = min(amount_minor, charge.amount_minor - charge.refunded_minor)
    if amount <= 0:
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
    history_write(
        order=order,
        sub_order=sub_order,
        event="refund_issued",
        detail={"amount_minor": amount, "reason": reason, "provider_refund_id": result.id},
    )
    return refund


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
    return _refund(
        order=order,
        sub_order=sub_order,
        amount_minor=sub_order.total_minor,
        reason=reason,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def refund_order_remaining(*, order_id: int, idempotency_key: str, reason: str) -> Refund | None:
    """Refund whatever of the charge is not refunded yet (whole-order cancellation), once."""
    order = Order.objects.select_for_update().get(pk=order_id)
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    return _refund(
        order=order,
        sub_order=None,
        amount_minor=order.total_minor,
        reason=reason,
        idempotency_key=idempotency_key,
    )


# ------------------------------------------------------------------------------------ stock
def _sub_order_quantities(sub_order: VendorSubOrder) -> dict[int, int]:
    quantities: dict[int, int] = defaultdict(int)
    for product_id, quantity in sub_order.lines.values_list("product_id", "quantity"):
        quantities[product_id] += quantity
    return dict(quantities)


def _locked_stock(product_ids: list[int]) -> dict[int, StockItem]:
    # Locked in product order so that two sub-orders sharing products cannot deadlock.
    rows = StockItem.objects.select_for_update().filter(product_id__in=product_ids)
    return {row.product_id: row for row in rows.order_by("product_id")}


@transaction.atomic
def stock_reserve(*, sub_order_id: int, actor: str = "") -> bool:
    """Promise the sub-order's units to it; False (and the sub-order failed) if out of stock."""
    sub_order = VendorSubOrder.objects.select_for_update().get(pk=sub_order_id)
    if sub_order.stock_reserved_at is not None:
        return True
    if sub_order.status == VendorSubOrder.S.FAILED:
        return False
    quantities = _sub_order_quantities(sub_order)
    stock = _locked_stock(sorted(quantities))
    short = [
        pid for pid, qty in quantities.items() if pid not in stock or stock[pid].available < qty
    ]
    if short:
        from_status = sub_order.status
        sub_order.fail()
        sub_order.reason = "Out of stock when the order was paid."
        sub_order.save()
        history_write(
            order=sub_order.order,
            sub_order=sub_order,
            event="stock_short",
            from_status=from_status,
            to_status=sub_order.status,
            actor=actor,
            detail={"product_ids": short},
        )
        return False
    for product_id, quantity in quantities.items():
        stock[product_id].reserved += quantity
        stock[product_id].save(update_fields=["reserved"])
    sub_order.stock_reserved_at = timezone.now()
    sub_order.save(update_fields=["stock_reserved_at"])
    history_write(
        order=sub_order.order,
        sub_order=sub_order,
        event="stock_reserved",
        actor=actor,
        detail={"units": sum(quantities.values())},
    )
    return True


@transaction.atomic
def stock_release(*, sub_order_id: int, actor: str = "") -> bool:
    """Give the sub-order's reserved units back; True if anything was released (once only)."""
    sub_order = VendorSubOrder.objects.select_for_update().get(pk=sub_order_id)
    if sub_order.stock_reserved_at is None or sub_order.stock_released_at is not None:
        return False
    quantities = _sub_order_quantities(sub_order)
    stock = _locked_stock(sorted(quantities))
    for product_id, quantity in quantities.items():
        stock[product_id].reserved -= quantity
        stock[product_id].save(update_fields=["reserved"])
    sub_order.stock_released_at = timezone.now()
    sub_order.save(update_fields=["stock_released_at"])
    history_write(
        order=sub_order.order,
        sub_order=sub_order,
        event="stock_released",
        actor=actor,
        detail={"units": sum(quantities.values())},
    )
    return True


def stock_consume(*, sub_order: VendorSubOrder) -> None:
    """Delivered: the reserved units leave the stock for good (call with the sub-order locked)."""
    if sub_order.stock_reserved_at is None or sub_order.stock_released_at is not None:
        return
    quantities = _sub_order_quantities(sub_order)
    stock = _locked_stock(sorted(quantities))
    for product_id, quantity in quantities.items():
        stock[product_id].reserved -= quantity
        stock[product_id].on_hand -= quantity
        stock[product_id].save(update_fields=["reserved", "on_hand"])
    sub_order.stock_released_at = timezone.now()
    sub_order.save(update_fields=["stock_released_at"])


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
    history_write(
        order=order, event="order_completed", from_status=from_status, to_status=order.status
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
    history_write(
        order=order, event="cancellation_requested", actor=actor_of(user), detail={"reason": reason}
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
    history_write(
        order=order,
        event="order_cancelled",
        from_status=from_status,
        to_status=order.status,
        detail={"reason": reason},
    )
    return order


CUSTOMER_MESSAGES = {
    "order_completed": "Your order {number} is complete. Thank you!",
    "order_cancelled": "Your order {number} was cancelled; any payment was refunded.",
    "payment_declined": "The payment for order {number} was declined.",
}


@transaction.atomic
def customer_notify(*, order_id: int, template: str, idempotency_key: str) -> OrderHistory:
    """Send the customer one message per key (repeating the job sends nothing)."""
    order = Order.objects.select_for_update().select_related("customer").get(pk=order_id)
    sent = order.history.filter(
        event="customer_notified", detail__idempotency_key=idempotency_key
    ).first()
    if sent is not None:
        return sent
    body = CUSTOMER_MESSAGES.get(template, CUSTOMER_MESSAGES["order_completed"]).format(
        number=order.number
    )
    email = order.customer.email
    transaction.on_commit(
        lambda: send_mail(
            f"Order {order.number}",
            body,
            getattr(settings, "DEFAULT_FROM_EMAIL", None),
            [email],
            fail_silently=True,
        )
    )
    return history_write(
        order=order,
        event="customer_notified",
        detail={"template": template, "idempotency_key": idempotency_key},
    )


def integrity_safe(callable_: Any, **kwargs: Any) -> Any:
    """Run a keyed write; if a concurrent run inserted the same key first, run again to find it."""
    try:
        return callable_(**kwargs)
    except IntegrityError:
        return callable_(**kwargs)
