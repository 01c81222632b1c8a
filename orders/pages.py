"""Reads for support's order page: a summary of what the order waits for, and one timeline.

The timeline merges the order's own history, its international shipments' customs and carrier
history, the notable records of its workflow (translated into business words with the names the
process model gives its elements) and administrators' workflow stops. The raw engine log is kept
for the "engine records" disclosure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils import timezone

from config.roles import MANAGERS, SUPPORT, WAREHOUSE, has_role
from core.money import format_currency
from processes import port
from processes.selectors import error_type_words
from vendors.models import SubOrderEvent, SubOrderStatus

from . import actions
from .customs.models import ShipmentEvent
from .customs.selectors import shipment_event_words
from .models import Order, OrderEvent, OrderHistory, OrderStatus

EVENT_LABELS = dict(OrderEvent.choices) | dict(SubOrderEvent.choices)
STATUS_LABELS = dict(OrderStatus.choices) | dict(SubOrderStatus.choices)


@dataclass
class Waiting:
    """One thing the order waits for: what, for whom, since when, what to do (and where)."""

    what: str
    who: str = ""
    since: dt.datetime | None = None
    due: dt.datetime | None = None
    late: bool = False
    todo: str = ""
    url: str = ""
    url_label: str = ""


@dataclass
class Summary:
    headline: str
    tone: str  # ok | warn | bad
    waiting: list[Waiting] = field(default_factory=list)


def _can(user: Any, *roles: str) -> bool:
    return user is not None and has_role(user, *roles)


def order_summary(order: Order, *, user: Any, detail: Any = None) -> Summary:
    now = timezone.now()
    if order.status == OrderStatus.COMPLETED:
        return Summary("Completed: every vendor part ended. Nothing to do.", "ok")
    if order.status == OrderStatus.CANCELLED:
        return Summary("Cancelled: the customer was refunded for what was charged.", "bad")
    if order.status == OrderStatus.PAYMENT_DECLINED:
        return Summary(
            "The payment was declined, so nothing was shipped. The customer was told; "
            "nothing to do unless they place the order again.",
            "bad",
        )
    summary = Summary(
        "In progress: it moves on by itself unless a step below needs someone.", "warn"
    )
    requested = actions.cancellation_requested(order)
    if requested is not None:
        summary.headline = "Cancellation requested: everything done is being undone."
    if order.status == OrderStatus.RECEIVED:
        summary.waiting.append(
            Waiting("Payment to be captured", "payment provider", order.created_at)
        )
    for sub_order in order.sub_orders.select_related("vendor").order_by("number"):
        vendor = sub_order.vendor.name
        if sub_order.status == SubOrderStatus.REQUESTED:
            late = bool(sub_order.sla_due_at and sub_order.sla_due_at < now)
            summary.waiting.append(
                Waiting(
                    f"{vendor} to accept {sub_order.number}",
                    vendor,
                    sub_order.requested_at,
                    sub_order.sla_due_at,
                    late,
                    "Chase the vendor (a task appears in the support queue)" if late else "",
                )
            )
        elif sub_order.status == SubOrderStatus.ACCEPTED:
            summary.waiting.append(
                Waiting(f"{vendor} to ship {sub_order.number}", vendor, sub_order.accepted_at)
            )
        elif sub_order.status == SubOrderStatus.SHIPPED:
            summary.waiting.append(
                Waiting(
                    f"Delivery of {sub_order.number} ({sub_order.carrier.upper()} "
                    f"{sub_order.tracking_number})",
                    "carrier",
                    sub_order.shipped_at,
                )
            )
    if detail is not None:
        names = {el.id: el.name or el.id for el in detail.model.elements.values()}
        for task in detail.tasks:
            if task.state != "CREATED":
                continue
            who = task.assignee or ", ".join(task.candidate_groups) or "anyone"
            summary.waiting.append(
                Waiting(
                    f"Task: {task.name}",
                    who,
                    task.created_at,
                    task.due_date,
                    bool(task.due_date and task.due_date < now),
                    "Open the task and complete it",
                    reverse("tasks:detail", args=[task.key]),
                    "Open task",
                )
            )
        for incident in detail.incidents:
            if incident.state != "ACTIVE":
                continue
            can_open = _can(user, SUPPORT, MANAGERS)
            summary.waiting.append(
                Waiting(
                    f"Stuck at “{names.get(incident.element_id, incident.element_id)}”: "
                    f"{error_type_words(incident.error_type).lower()}",
                    "support",
                    incident.created_at,
                    todo="Fix the cause, then retry the step",
                    url=reverse("incidents:detail", args=[incident.key]) if can_open else "",
                    url_label="Open incident",
                )
            )
            summary.tone = "bad"
    return summary


# ------------------------------------------------------------------------------ timeline
@dataclass
class Entry:
    at: dt.datetime
    text: str
    actor: str = ""
    kind: str = "order"  # order | vendor | customs | workflow | admin
    url: str = ""
    url_label: str = ""


def _actor_words(actor: str) -> str:
    if actor.startswith("vendor:"):
        return "the vendor"
    if actor.startswith("carrier:"):
        return "the carrier"
    if actor.startswith("broker:"):  # customs updates
        return "the customs broker"
    return actor


def _history_entry(h: OrderHistory, *, user: Any, currency: str) -> Entry:
    text = EVENT_LABELS.get(h.event, h.event.replace("_", " ").capitalize())
    detail = h.detail or {}
    sub_order = h.sub_order if h.sub_order_id else None
    if sub_order is not None:
        text = f"{sub_order.vendor.name} ({sub_order.number}): {text[0].lower()}{text[1:]}"
    amount = detail.get("amount_minor", detail.get("total_minor"))
    if isinstance(amount, int):
        text += f", {format_currency(amount, detail.get('currency') or currency)}"
    for key in ("reason", "decline_code", "units"):
        if detail.get(key):
            label = {"decline_code": "declined as", "units": "units"}.get(key, "")
            text += f" ({label + ' ' if label else ''}{detail[key]})"
    entry = Entry(h.at, text, _actor_words(h.actor), "vendor" if h.sub_order_id else "order")
    number = detail.get("return")
    if number:
        entry.text += f" {number}"
        if _can(user, SUPPORT, WAREHOUSE, MANAGERS):
            entry.url, entry.url_label = reverse("returns:detail", args=[number]), number
    return entry


ENGINE_ENTRIES = {
    ("USER_TASK", "CREATED"): "Task “{name}” created",
    ("USER_TASK", "ASSIGNED"): "Task “{name}” assigned",
    ("USER_TASK", "COMPLETED"): "Task “{name}” completed",
    ("INCIDENT", "CREATED"): "Stuck at “{name}”: {error}",
    ("INCIDENT", "RESOLVED"): "“{name}” retried after the problem was fixed",
    ("TIMER", "TRIGGERED"): "{name}",
    ("JOB", "ERROR_THROWN"): "“{name}” reported a problem and the process took its other path",
}


def _engine_entry(record: port.HistoryEntry, names: dict[str, str]) -> Entry | None:
    detail = record.detail or {}
    name = names.get(record.element_id, "") or str(detail.get("name") or "a step")
    if record.value_type == "PROCESS_INSTANCE" and record.element_type == "PROCESS":
        if record.intent == "ELEMENT_TERMINATED":
            return Entry(record.at, "Workflow stopped", record.actor, "workflow")
        if record.intent == "ELEMENT_COMPLETED":
            return Entry(record.at, "Workflow finished", record.actor, "workflow")
        return None
    template = ENGINE_ENTRIES.get((record.value_type, record.intent))
    if template is None:
        return None
    error = error_type_words(str(detail.get("errorType", ""))).lower()
    text = template.format(name=name, error=error)
    return Entry(record.at, text, record.actor, "workflow")


def _customs_entries(order: Order, *, user: Any, limit: int) -> list[Entry]:
    """The history of the order's international shipments (customs, carrier, delivery)."""
    rows = ShipmentEvent.objects.filter(shipment__order=order).select_related(
        "shipment__sub_order__vendor"
    )
    can_open = _can(user, SUPPORT, MANAGERS)  # the shipment page's roles
    entries = []
    for event in rows.order_by("-at", "-id")[:limit]:
        shipment = event.shipment
        text = shipment_event_words(event)
        text = f"{shipment.sub_order.vendor.name} ({shipment.sub_order.number}), customs: {text}"
        entry = Entry(event.at, text, _actor_words(event.actor), "customs")
        if can_open:
            entry.url = reverse("customs:shipment", args=[shipment.number])
            entry.url_label = shipment.number
        entries.append(entry)
    return entries


def order_timeline(order: Order, *, user: Any, model: Any = None, limit: int = 300) -> list[Entry]:
    """The order's history, its workflow's notable records and workflow stops, newest first."""
    rows = OrderHistory.objects.filter(order=order).select_related("sub_order__vendor")
    entries = [_history_entry(h, user=user, currency=order.currency) for h in rows[:limit]]
    if order.process_instance_key:
        names = {el.id: el.name for el in model.elements.values()} if model is not None else {}
        for record in port.history(order.process_instance_key, limit=limit, notable=True):
            entry = _engine_entry(record, names)
            if entry is not None:
                entries.append(entry)
    entries += _customs_entries(order, user=user, limit=limit)
    for stop in actions.workflow_stops(order):
        entries.append(
            Entry(stop.action_time, stop.change_message, stop.user.get_username(), "admin")
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
