"""The one writer of ``OrderHistory`` rows (the order's own events and its sub-orders')."""

from __future__ import annotations

from typing import Any

from core.history import history_write
from vendors.models import SubOrderEvent, VendorSubOrder

from .models import Order, OrderEvent, OrderHistory


def order_history_write(
    *,
    order: Order,
    event: OrderEvent | SubOrderEvent,
    sub_order: VendorSubOrder | None = None,
    from_status: str = "",
    to_status: str = "",
    actor: str = "",
    detail: dict[str, Any] | None = None,
) -> OrderHistory:
    """Append a history row (call inside the transaction that made the change)."""
    return history_write(
        OrderHistory,
        event,
        order=order,
        sub_order=sub_order,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        detail=detail,
    )


def sub_order_history_write(
    *,
    sub_order: VendorSubOrder,
    event: SubOrderEvent,
    from_status: str = "",
    to_status: str = "",
    actor: str = "",
    detail: dict[str, Any] | None = None,
) -> OrderHistory:
    """The vendors app's writer (installed as its hook): a row about one sub-order."""
    return order_history_write(
        order=sub_order.order,
        sub_order=sub_order,
        event=event,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        detail=detail,
    )
