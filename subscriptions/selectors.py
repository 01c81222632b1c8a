"""Reads about subscriptions: the staff list, one subscription's dunning state in business words,
a customer's invoices, and the managers' dunning overview."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum

from . import clock
from .durations import describe, parse_duration
from .models import AttemptOutcome, Invoice, PaymentAttempt, Plan, Subscription

S = Subscription.S


def _dunning_invoices() -> QuerySet[Invoice]:
    return Invoice.objects.filter(status=Invoice.S.OPEN).exclude(first_failed_at=None)


def subscription_list(
    *, status: str = "", q: str = "", plan: str = "", in_dunning: bool = False
) -> QuerySet[Subscription]:
    """Subscriptions for the staff list, newest first, with their dunning invoice's figures."""
    dunning = _dunning_invoices().filter(subscription=OuterRef("pk")).order_by("-period_start")
    rows = Subscription.objects.select_related("plan", "customer", "payment_method").annotate(
        dunning_next_retry_at=Subquery(dunning.values("next_retry_at")[:1]),
        dunning_invoice_id=Subquery(dunning.values("pk")[:1]),
    )
    if status:
        rows = rows.filter(status=status)
    if plan:
        rows = rows.filter(plan__code=plan)
    if in_dunning:
        rows = rows.filter(status=S.PAST_DUE)
    if q:
        rows = rows.filter(
            Q(number__icontains=q)
            | Q(customer__email__icontains=q)
            | Q(customer__name__icontains=q)
            | Q(invoices__number__iexact=q)
        ).distinct()
    return rows.order_by("-created_at", "-pk")


@dataclass(frozen=True)
class DunningState:
    """Where a past-due subscription stands, for staff and the API."""

    invoice: Invoice
    attempts_made: int
    max_attempts: int
    last_attempt: PaymentAttempt | None
    next_retry_at: dt.datetime | None
    ends_at: dt.datetime | None
    hard: bool

    @property
    def summary(self) -> str:
        last = self.last_attempt
        reason = (last.decline_message or last.decline_code) if last else "declined"
        if last is not None and last.decline_code:
            reason = last.decline_code.replace("_", " ")
        head = f"Attempt {self.attempts_made} of {self.max_attempts} failed ({reason})"
        now = clock.now()
        if self.hard:
            until = f"{self.ends_at:%d %b %Y}" if self.ends_at else "the end of the grace period"
            return f"{head}: card declined for good, waiting for a new card until {until}"
        if self.next_retry_at is None:
            return f"{head}: no retries left"
        if self.next_retry_at <= now:
            return f"{head}: retry due now"
        wait = describe(self.next_retry_at - now)
        return f"{head}: next retry in {wait} ({self.next_retry_at:%d %b %Y, %H:%M} UTC)"


def dunning_state(subscription: Subscription) -> DunningState | None:
    invoice = (
        _dunning_invoices()
        .filter(subscription=subscription)
        .select_related("schedule")
        .order_by("-period_start")
        .first()
    )
    if invoice is None:
        return None
    attempts = list(invoice.attempts.exclude(outcome=AttemptOutcome.PENDING))
    last = attempts[-1] if attempts else None
    hard = last is not None and last.is_hard
    ends_at = None
    if hard and last is not None:
        ends_at = last.attempted_at + parse_duration(invoice.schedule.hard_decline_grace)
    elif invoice.next_retry_at is not None:
        remaining = invoice.schedule.retry_intervals[len(attempts) :]
        ends_at = invoice.next_retry_at + sum(
            (parse_duration(v) for v in remaining), dt.timedelta(0)
        )
    return DunningState(
        invoice=invoice,
        attempts_made=len(attempts),
        max_attempts=invoice.schedule.max_attempts,
        last_attempt=last,
        next_retry_at=invoice.next_retry_at,
        ends_at=ends_at,
        hard=hard,
    )


def customer_invoices(*, customer_id: int) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(subscription__customer_id=customer_id)
        .select_related("subscription__plan")
        .order_by("-period_start", "-pk")
    )


@dataclass(frozen=True)
class DunningOverview:
    by_attempt: list[tuple[int, int]]  # (failed attempts so far, subscriptions)
    in_dunning: int
    revenue_at_risk: dict[str, int]  # currency -> minor units
    recovered: int
    lost: int
    since: dt.datetime

    @property
    def recovery_rate_percent(self) -> int | None:
        total = self.recovered + self.lost
        return None if total == 0 else round(100 * self.recovered / total)

    @property
    def max_count(self) -> int:
        return max([count for _n, count in self.by_attempt] or [0])


def dunning_overview(*, days: int = 30) -> DunningOverview:
    """How many are in each attempt, what they owe, and how many failed invoices were recovered
    (paid after a failure) versus lost (uncollectible) in the last ``days``."""
    since = clock.now() - dt.timedelta(days=days)
    open_invoices = _dunning_invoices().annotate(
        failed=Count("attempts", filter=~Q(attempts__outcome=AttemptOutcome.SUCCEEDED))
    )
    counts: dict[int, int] = {}
    for failed in open_invoices.values_list("failed", flat=True):
        counts[failed] = counts.get(failed, 0) + 1
    max_attempts = max([3, *counts.keys()])
    by_attempt = [(n, counts.get(n, 0)) for n in range(1, max_attempts + 1)]
    at_risk = {
        row["currency"]: int(row["total"] or 0)
        for row in _dunning_invoices().values("currency").annotate(total=Sum("amount_minor"))
    }
    failed_recently = Invoice.objects.exclude(first_failed_at=None).filter(
        first_failed_at__gte=since
    )
    return DunningOverview(
        by_attempt=by_attempt,
        in_dunning=sum(counts.values()),
        revenue_at_risk=at_risk,
        recovered=failed_recently.filter(status=Invoice.S.PAID).count(),
        lost=failed_recently.filter(status=Invoice.S.UNCOLLECTIBLE).count(),
        since=since,
    )


def plans() -> QuerySet[Plan]:
    return Plan.objects.order_by("name")


def past_due_count(user: Any) -> int:
    """The number next to "Subscriptions" in the navigation: those in dunning."""
    return Subscription.objects.filter(status=S.PAST_DUE).count()


def attempts_made(invoice: Invoice) -> int:
    return int(invoice.attempts.aggregate(n=Max("attempt_number"))["n"] or 0)
