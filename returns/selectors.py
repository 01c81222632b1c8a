"""Reads about returns: the policy in force, returnable quantities, queues, store credit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from orders.models import Customer, Order

from .models import COUNTING_STATUSES, ReturnLine, ReturnPolicy, ReturnRequest

REVIEW_FORM = "return-review"
INSPECTION_FORM = "return-inspection"
APPROVAL_FORM = "refund-approval"


def policy_in_force(*, at: dt.datetime | None = None) -> ReturnPolicy:
    """The newest policy whose effective date has come (the seeded one at least)."""
    at = at or timezone.now()
    policy = ReturnPolicy.objects.filter(effective_from__lte=at).order_by("-effective_from").first()
    if policy is None:
        policy = ReturnPolicy.objects.order_by("effective_from").first()
    if policy is None:  # a database without the seed migration's row
        policy = ReturnPolicy.objects.create(effective_from=at, note="Defaults")
    return policy


def returnable_quantities(*, order: Order, exclude: ReturnRequest | None = None) -> dict[int, int]:
    """Order line id -> units that can still be returned (ordered minus open/done returns)."""
    returned = ReturnLine.objects.filter(
        order_line__order=order, return_request__status__in=COUNTING_STATUSES
    )
    if exclude is not None:
        returned = returned.exclude(return_request=exclude)
    taken = dict(
        returned.values("order_line").annotate(n=Sum("quantity")).values_list("order_line", "n")
    )
    return {
        line_id: quantity - (taken.get(line_id) or 0)
        for line_id, quantity in order.lines.values_list("pk", "quantity")
    }


def store_credit_balance(*, customer: Customer, currency: str) -> int:
    """The customer's store credit in ``currency``: the sum of the ledger's entries."""
    total = customer.store_credit.filter(currency=currency).aggregate(total=Sum("amount_minor"))
    return int(total["total"] or 0)


def return_list(*, status: str = "", q: str = "", flagged: bool = False) -> QuerySet[ReturnRequest]:
    """Returns for the staff list, newest first, filtered by status, text and fraud flag."""
    returns = ReturnRequest.objects.select_related("order", "customer", "fraud_assessment")
    if status:
        returns = returns.filter(status=status)
    if q:
        returns = returns.filter(
            Q(number__icontains=q)
            | Q(order__number__icontains=q)
            | Q(customer__email__icontains=q)
            | Q(customer__name__icontains=q)
        )
    if flagged:
        returns = returns.filter(fraud_assessment__route="review")
    return returns.order_by("-created_at")


def open_task_count(*, user: Any, form_key: str) -> int:
    """Open user tasks of ``form_key`` the user could take (its own or unassigned in its groups)."""
    from processes import port
    from processes.selectors import audience

    query = port.TaskQuery(state="CREATED", actionable_by=audience(user), form_key=form_key)
    return port.count_user_tasks(query)


def returns_nav_count(user: Any) -> int | None:
    """The number next to "Returns": reviews for support, approvals for managers, inspections
    for the warehouse (the queues a role works on)."""
    from config.roles import MANAGERS, SUPPORT, WAREHOUSE, has_role

    keys = []
    if has_role(user, SUPPORT):
        keys.append(REVIEW_FORM)
    if has_role(user, MANAGERS):
        keys.append(APPROVAL_FORM)
    if has_role(user, WAREHOUSE):
        keys.append(INSPECTION_FORM)
    if not keys:
        return None
    return sum(open_task_count(user=user, form_key=key) for key in keys)
