"""Helpers for return tests: request a return and drive its process."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from orders.models import Customer, Order
from returns import services
from returns.models import ReturnRequest

from .conftest import delivered_order


def request_return(
    deployed: Any,
    order: Order,
    items: list[tuple[str, int]],
    *,
    user: Any = None,
    refund_method: str = "original",
    reason: str = "no_longer_needed",
) -> tuple[ReturnRequest, Any]:
    return_request, _ = services.return_request_create(
        order=order,
        lines=[services.ReturnLineInput(sku, qty) for sku, qty in items],
        reason=reason,
        user=user or order.customer.user,
        refund_method=refund_method,
    )
    deployed.run_handlers()
    return_request.refresh_from_db()
    return return_request, deployed.instance(return_request.process_instance_key)


def receive(deployed: Any, return_request: ReturnRequest) -> ReturnRequest:
    services.return_item_receive(return_request=return_request, actor="carrier:dhl")
    deployed.run_handlers()
    return_request.refresh_from_db()
    return return_request


def complete(deployed: Any, element_id: str, instance: Any, user: Any, **variables: Any) -> None:
    deployed.complete_user_task(element_id, variables, user=user.username, instance=instance)
    deployed.run_handlers()


def loyal(customer: Customer, shop: Any) -> Order:
    """Give the customer a large purchase history, so the return ratio stays normal."""
    return delivered_order(customer=customer, items=[(shop.speaker, 10)], delivered_days_ago=60)


def new_account(customer: Customer) -> None:
    """Make the customer's account a day old (the account-age indicator fires)."""
    young = timezone.now() - dt.timedelta(days=1)
    Customer.objects.filter(pk=customer.pk).update(created_at=young)
    get_user_model().objects.filter(pk=customer.user_id).update(date_joined=young)
    customer.refresh_from_db()
