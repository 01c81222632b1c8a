"""The one writer of ``StockItem`` rows: reservations for sub-orders, consumption, restocking,
and staff's adjustments (with their ``StockAdjustment`` rows).

Rows are locked in product order, so that two writers sharing products cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError

from .hooks import order_side
from .models import StockAdjustment, StockItem, StockReason, SubOrderEvent, VendorSubOrder


def _sub_order_quantities(sub_order: VendorSubOrder) -> dict[int, int]:
    quantities: dict[int, int] = defaultdict(int)
    for product_id, quantity in sub_order.lines.values_list("product_id", "quantity"):
        quantities[product_id] += quantity
    return dict(quantities)


def _locked_stock(product_ids: list[int]) -> dict[int, StockItem]:
    rows = StockItem.objects.select_for_update().filter(product_id__in=product_ids)
    return {row.product_id: row for row in rows.order_by("product_id")}


def _record(sub_order: VendorSubOrder, event: SubOrderEvent, actor: str, **detail: object) -> None:
    order_side().record(sub_order=sub_order, event=event, actor=actor, detail=detail)


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
        order_side().record(
            sub_order=sub_order,
            event=SubOrderEvent.STOCK_SHORT,
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
    _record(sub_order, SubOrderEvent.STOCK_RESERVED, actor, units=sum(quantities.values()))
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
    _record(sub_order, SubOrderEvent.STOCK_RELEASED, actor, units=sum(quantities.values()))
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


@transaction.atomic
def stock_restock(*, quantities: dict[int, int]) -> list[dict[str, int]]:
    """Put returned units back on hand (product id -> units); what was restocked, per product.

    The caller makes this once per return (it runs in the caller's transaction, keyed there).
    """
    stock = _locked_stock(sorted(quantities))
    restocked = []
    for product_id in sorted(stock):
        stock[product_id].on_hand += quantities[product_id]
        stock[product_id].save(update_fields=["on_hand"])
        restocked.append({"product_id": product_id, "units": quantities[product_id]})
    return restocked


# Which way each reason moves the stock: +1 only adds, -1 only takes off, 0 either way.
REASON_DIRECTION = {
    StockReason.RECEIVED: 1,
    StockReason.COUNT_CORRECTION: 0,
    StockReason.DAMAGED: -1,
    StockReason.LOST: -1,
    StockReason.RETURNED_TO_VENDOR: -1,
}


def _units(n: int) -> str:
    return f"{n} unit" if abs(n) == 1 else f"{n} units"


@transaction.atomic
def stock_adjust(
    *, product_id: int, delta: int, reason: str, note: str = "", actor: str = ""
) -> StockAdjustment:
    """Change a product's units on hand by ``delta`` for ``reason`` and record the adjustment.

    The stock row is locked for the change. Refused (``ApplicationError`` on ``delta``) when
    the result would be below zero or below the units reserved for open sub-orders, and when
    the sign does not fit the reason (units received are added, damaged ones taken off).
    """
    if reason not in REASON_DIRECTION:
        raise ApplicationError("Choose a reason from the list.", field="reason")
    reason = StockReason(reason)
    if delta == 0:
        raise ApplicationError("Enter the number of units to add or take off.", field="delta")
    direction = REASON_DIRECTION[reason]
    if direction > 0 and delta < 0:
        raise ApplicationError(
            f"{reason.label} stock is added: enter a positive number.", field="delta"
        )
    if direction < 0 and delta > 0:
        raise ApplicationError(
            f"{reason.label} stock is taken off: enter a negative number.", field="delta"
        )
    StockItem.objects.get_or_create(product_id=product_id)
    stock = StockItem.objects.select_for_update().get(product_id=product_id)
    on_hand = stock.on_hand + delta
    if on_hand < 0:
        raise ApplicationError(
            f"Only {_units(stock.on_hand)} on hand: on hand cannot go below zero.",
            field="delta",
        )
    if on_hand < stock.reserved:
        raise ApplicationError(
            f"{_units(stock.reserved)} reserved for open orders: on hand cannot go below that,"
            f" so at most {_units(stock.available)} can be taken off.",
            field="delta",
        )
    stock.on_hand = on_hand
    stock.save(update_fields=["on_hand"])
    return StockAdjustment.objects.create(
        product_id=product_id,
        delta=delta,
        reason=reason,
        note=note.strip(),
        on_hand_after=on_hand,
        actor=actor,
    )
