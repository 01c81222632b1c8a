"""What vendors needs from the app that owns orders, installed by that app when it starts.

orders imports vendors (an order is split into vendor sub-orders), so vendors never imports
orders: ``orders.apps.OrdersConfig.ready`` calls ``install`` with the order side of the few
things a sub-order's services need. Tests and other entry points get the same hooks because
Django runs ``ready`` for every installed app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .models import SubOrderEvent, VendorSubOrder


class SubOrderHistoryWriter(Protocol):
    def __call__(
        self,
        *,
        sub_order: VendorSubOrder,
        event: SubOrderEvent,
        from_status: str = "",
        to_status: str = "",
        actor: str = "",
        detail: dict[str, Any] | None = None,
    ) -> object: ...


@dataclass(frozen=True)
class OrderSide:
    # Appends a row to the order's history about one of its sub-orders.
    record: SubOrderHistoryWriter
    # True if the order (by id) is paid: only then is money held for its vendors.
    order_is_paid: Callable[[int], bool]
    # The payment provider that transfers payouts and reverses them (``transfer``,
    # ``reverse_transfer``, as in ``orders.payments.base.PaymentProvider``).
    payment_provider: Callable[[], Any]
    # Raises unless the order (by id) lets its vendors and carriers act: ``NotYet`` while it
    # is not paid yet, ``ApplicationError`` once it ended (declined, cancelled, completed).
    check_open: Callable[[int], None]


_installed: OrderSide | None = None


def install(side: OrderSide) -> None:
    global _installed
    _installed = side


def order_side() -> OrderSide:
    if _installed is None:
        raise RuntimeError("The orders app did not install its hooks (is it in INSTALLED_APPS?)")
    return _installed
