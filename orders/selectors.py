"""Reads for the back-office pages, each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from processes import port
from processes.selectors import InstanceSummary, instance_summaries
from vendors.models import Product, Vendor

from .models import Charge, Customer, Order, OrderHistory


def dashboard_figures() -> list[dict[str, Any]]:
    """Headline counts for the staff dashboard."""
    return [
        {
            "label": "Open orders",
            "value": Order.objects.filter(status__in=["received", "paid"]).count(),
        },
        {"label": "Open tasks", "value": port.count_user_tasks(port.TaskQuery(state="CREATED"))},
        {"label": "Open incidents", "value": port.incidents().count()},
        {"label": "Active vendors", "value": Vendor.objects.filter(is_active=True).count()},
        {"label": "Products", "value": Product.objects.filter(is_active=True).count()},
        {"label": "Customers", "value": Customer.objects.count()},
    ]


# Up to this many customers matching a search are looked up by id; more fall back to the join.
SEARCH_CUSTOMERS_MAX = 500

MARKETPLACE = "marketplace-order"

ORDER_SORTS = {
    "newest": ["-created_at", "-id"],
    "oldest": ["created_at", "id"],
    "total": ["-total_minor", "-id"],
    "number": ["number"],
}


@dataclass
class OrderFilters:
    status: str = ""
    vendor: str = ""
    waiting_at: str = ""
    has_incident: bool = False
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    search: str = ""
    sort: str = "newest"


def order_list(filters: OrderFilters) -> QuerySet[Order]:
    """Orders matching the filters; one query for the page and one for the count."""
    orders = Order.objects.select_related("customer")
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.vendor:
        orders = orders.filter(sub_orders__vendor__handle=filters.vendor)
    if filters.waiting_at:
        orders = orders.filter(
            process_instance_key__in=port.instances_waiting_at(filters.waiting_at)
        )
    if filters.has_incident:
        orders = orders.filter(process_instance_key__in=port.instances_with_open_incident())
    if filters.created_from:
        orders = orders.filter(created_at__date__gte=filters.created_from)
    if filters.created_to:
        orders = orders.filter(created_at__date__lte=filters.created_to)
    if filters.search:
        term = filters.search.strip()
        # Matching customers first (a small table), then one condition on the orders table
        # itself: an OR across the join made the database look up every order's customer.
        customer_ids = list(
            Customer.objects.filter(Q(email__icontains=term) | Q(name__icontains=term)).values_list(
                "id", flat=True
            )[: SEARCH_CUSTOMERS_MAX + 1]
        )
        by_customer = (
            Q(customer_id__in=customer_ids)
            if len(customer_ids) <= SEARCH_CUSTOMERS_MAX
            else Q(customer__email__icontains=term) | Q(customer__name__icontains=term)
        )
        orders = orders.filter(Q(number__icontains=term) | by_customer)
    return orders.order_by(*ORDER_SORTS.get(filters.sort, ORDER_SORTS["newest"]))


PAGE_SIZE = 25


@dataclass
class OrderPage:
    """One page of the order list, reached by keyset (the sort values of a neighbouring row),
    so a deep page costs what the first does; cursors are opaque strings for links."""

    orders: list[Order]
    count: int
    next_cursor: str = ""
    previous_cursor: str = ""


def _sort_key(sort: str) -> list[str]:
    """The ordering of ``sort``: total (ends with a unique column), one direction for all."""
    return ORDER_SORTS.get(sort, ORDER_SORTS["newest"])


def _cursor_of(order: Order, fields: list[str]) -> str:
    values = []
    for field in fields:
        value = getattr(order, field.lstrip("-"))
        values.append(value.isoformat() if isinstance(value, dt.datetime) else str(value))
    return "~".join(values)


def cursor_of(order: Order, sort: str) -> str:
    """The cursor of the page that starts right after ``order`` in ``sort``."""
    return _cursor_of(order, _sort_key(sort))


def _parse_cursor(cursor: str, fields: list[str]) -> list[Any] | None:
    parts = cursor.split("~")
    if len(parts) != len(fields):
        return None
    values: list[Any] = []
    for field, part in zip(fields, parts, strict=True):
        name = field.lstrip("-")
        try:
            if name == "created_at":
                values.append(dt.datetime.fromisoformat(part))
            elif name in ("id", "total_minor"):
                values.append(int(part))
            else:
                values.append(part)
        except ValueError:
            return None
    return values


def _beyond(fields: list[str], values: list[Any], *, backwards: bool) -> Any:
    """Rows after (``backwards``: before) the row with sort values ``values``, as one row
    comparison ``(a, b) < (x, y)``: an index on the sort columns starts the scan right there
    (every sort runs all its columns in one direction)."""
    from django.db.models import F
    from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

    descending = fields[0].startswith("-") != backwards
    columns = Tuple(*(F(field.lstrip("-")) for field in fields))
    return (TupleLessThan if descending else TupleGreaterThan)(columns, list(values))


def order_page(
    orders: QuerySet[Order], sort: str, *, after: str = "", before: str = "", size: int = PAGE_SIZE
) -> OrderPage:
    """The page of ``orders`` (``order_list``) after or before a cursor (first page without
    one): one query for the rows, one for the count."""
    fields = _sort_key(sort)
    cursor, backwards = (before, True) if before else (after, False)
    values = _parse_cursor(cursor, fields) if cursor else None
    query = orders.order_by(*fields)
    if values is not None:
        query = orders.filter(_beyond(fields, values, backwards=backwards))
        if backwards:
            reverse = [f[1:] if f.startswith("-") else f"-{f}" for f in fields]
            query = query.order_by(*reverse)
        else:
            query = query.order_by(*fields)
    rows = list(query[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if values is not None and backwards:
        rows.reverse()
    page = OrderPage(rows, orders.count())
    if rows:
        if more or (values is not None and backwards):
            page.next_cursor = _cursor_of(rows[-1], fields)
        if values is not None and (not backwards or more):
            page.previous_cursor = _cursor_of(rows[0], fields)
    return page


def order_rows(orders: list[Order]) -> list[dict[str, Any]]:
    """Each order with what its process is waiting for (five queries for the whole page)."""
    summaries = instance_summaries(o.process_instance_key for o in orders if o.process_instance_key)
    now = timezone.now()
    return [
        {
            "order": order,
            "workflow": summaries.get(order.process_instance_key),
            "age": now - order.created_at,
        }
        for order in orders
    ]


def waiting_step_choices() -> list[tuple[str, str]]:
    """Element ids of the marketplace process that orders can wait at, with their names."""
    definition = port.latest_definition(MARKETPLACE)
    if definition is None:
        return []
    model = port.process_model(definition.key)
    waits = {"userTask", "receiveTask", "serviceTask", "sendTask", "intermediateCatchEvent"}
    return sorted(
        ((el.id, el.name or el.id) for el in model.elements.values() if el.kind in waits),
        key=lambda pair: pair[1],
    )


@dataclass
class TimelineEntry:
    at: dt.datetime
    source: str  # "order" or "process"
    text: str
    actor: str = ""


ENGINE_WORDS = {
    ("USER_TASK", "CREATED"): "task created",
    ("USER_TASK", "ASSIGNED"): "task assigned",
    ("USER_TASK", "COMPLETED"): "task completed",
    ("INCIDENT", "CREATED"): "incident",
    ("INCIDENT", "RESOLVED"): "incident resolved",
    ("MESSAGE", "CORRELATED"): "message received",
    ("TIMER", "TRIGGERED"): "timer fired",
    ("JOB", "FAILED"): "step failed",
    ("JOB", "ERROR_THROWN"): "step reported a business error",
    ("PROCESS_INSTANCE", "ELEMENT_TERMINATED"): "stopped",
}


def order_timeline(order: Order, *, limit: int = 300) -> list[TimelineEntry]:
    """Domain history and the notable engine records of the order's instances, newest first."""
    entries = [
        TimelineEntry(
            at=h.at,
            source="order",
            text=_history_text(h),
            actor=h.actor,
        )
        for h in OrderHistory.objects.filter(order=order).select_related("sub_order")[:limit]
    ]
    if order.process_instance_key:
        records = port.history(order.process_instance_key, limit=limit, notable=True)
        for record in records:
            words = ENGINE_WORDS.get((record.value_type, record.intent))
            if words is None:
                words = (
                    "completed" if record.intent == "ELEMENT_COMPLETED" else record.intent.lower()
                )
            detail = record.detail or {}
            extra = detail.get("name") or detail.get("errorMessage") or ""
            text = f"{record.element_id or 'process'}: {words}"
            if extra:
                text += f" ({str(extra)[:120]})"
            entries.append(
                TimelineEntry(at=record.at, source="process", text=text, actor=record.actor)
            )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def _history_text(h: OrderHistory) -> str:
    text = h.event.replace("_", " ")
    if h.sub_order_id:
        text = f"{h.sub_order.number}: {text}"
    if h.from_status or h.to_status:
        text += f" ({h.from_status or '—'} → {h.to_status or '—'})"
    return text


def order_money(order: Order) -> dict[str, Any]:
    """Charges, holds, payouts and refunds of an order, with totals."""
    from vendors.models import Payout, PayoutHold

    holds = list(PayoutHold.objects.filter(sub_order__order=order).select_related("sub_order"))
    payouts = list(Payout.objects.filter(sub_order__order=order).select_related("sub_order"))
    refunds = list(order.refunds.select_related("sub_order").order_by("created_at"))
    charge = Charge.objects.filter(order=order).first()
    return {
        "charge": charge,
        "holds": holds,
        "payouts": payouts,
        "refunds": refunds,
        "refunded_minor": order.refunds.aggregate(s=Sum("amount_minor"))["s"] or 0,
        "paid_out_minor": sum(p.amount_minor - p.reversed_minor for p in payouts),
    }


def workflow_of(order: Order) -> InstanceSummary | None:
    if not order.process_instance_key:
        return None
    return instance_summaries([order.process_instance_key]).get(order.process_instance_key)
