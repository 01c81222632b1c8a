"""Writes about subscriptions: sign-up, payment methods, the daily renewal run, payment attempts,
dunning e-mails, pause/resume/cancel.

Every status change locks the subscription (``select_for_update``), checks the FSM transition and
writes a ``SubscriptionHistory`` row in the same transaction. Money is keyed: a payment attempt
is one row per (invoice, attempt number) whose idempotency key goes to the provider, so a
repeated job finds the row (or the provider's first answer) instead of charging twice. E-mails
are one row per (invoice, attempt, kind), sent after commit.

Scale: the daily run starts one small process instance per due subscription, in batches of
``SUBSCRIPTION_RENEWAL_BATCH`` (see ``renewals_open_batch``), instead of one instance holding a
collection of every due subscription: Camunda 8 limits a variable document to 4 MB, and one
instance per subscription lets any number of workers charge in parallel, lets one subscription
wait weeks in dunning without holding the others, and lets staff see each one on its own diagram.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from core.errors import ApplicationError
from core.history import actor_of, history_write
from core.money import format_money
from core.notifications import notify_customer
from orders.models import Customer
from orders.payments import PaymentError, get_provider
from orders.payments.retry_caps import retry_cap_reached
from processes import port

from . import clock
from .durations import describe, parse_duration
from .models import (
    BILLABLE_STATUSES,
    AttemptOutcome,
    BillingInterval,
    CardBrand,
    CustomerEmail,
    DunningSchedule,
    EmailKind,
    Invoice,
    PaymentAttempt,
    PaymentMethod,
    Plan,
    Subscription,
    SubscriptionEvent,
    SubscriptionHistory,
)

logger = logging.getLogger(__name__)

PROCESS_ID = "subscription-renewal"
PAYMENT_METHOD_UPDATED = "payment-method-updated"
RETRY_REQUESTED = "subscription-retry-requested"
MESSAGE_TTL_MS = 10 * 60 * 1000
S = Subscription.S
DEFAULT_RETRY_INTERVALS = ["P3D", "P7D", "P14D"]


class EngineUnavailable(Exception):
    """The process engine refused or failed a command."""


class PaymentPending(Exception):
    """The provider has not decided yet; the job is retried and the webhook may answer first."""


# ------------------------------------------------------------------------------ helpers
def _locked(subscription_id: int) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "customer", "payment_method")
        .get(pk=subscription_id)
    )


def _record(
    subscription: Subscription,
    event: SubscriptionEvent,
    from_status: str,
    actor: str = "",
    **detail: Any,
) -> SubscriptionHistory:
    return history_write(
        SubscriptionHistory,
        event,
        from_status=from_status,
        to_status=subscription.status,
        actor=actor,
        detail=detail,
        subscription=subscription,
        at=clock.now(),
    )


def add_interval(day: dt.date, *, interval: str, count: int) -> dt.date:
    """``day`` plus ``count`` weeks, months or years (Jan 31 + 1 month = Feb 28/29)."""
    if interval == BillingInterval.WEEK:
        return day + dt.timedelta(weeks=count)
    months = count * (12 if interval == BillingInterval.YEAR else 1)
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule_in_force(at: dt.datetime | None = None) -> DunningSchedule:
    """The newest dunning schedule not in the future (the default one if none is stored)."""
    at = at or clock.now()
    schedule = DunningSchedule.objects.filter(effective_from__lte=at).first()
    if schedule is None:
        schedule, _ = DunningSchedule.objects.get_or_create(
            effective_from=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            defaults={"retry_intervals": DEFAULT_RETRY_INTERVALS, "note": "Default"},
        )
    return schedule


def _publish(name: str, correlation_key: str, variables: dict[str, Any], message_id: str) -> None:
    try:
        port.publish_message(
            name, correlation_key, variables=variables, ttl_ms=MESSAGE_TTL_MS, message_id=message_id
        )
    except Exception as error:
        if getattr(error, "rejection_type", "") != "ALREADY_EXISTS":
            raise
        logger.info("Message %s already published; dropped the repeat", message_id)


# ------------------------------------------------------------------------------ sign-up
def _new_number(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5).upper()}"


@transaction.atomic
def payment_method_add(
    *,
    customer: Customer,
    provider_token: str,
    brand: str,
    last4: str,
    exp_month: int,
    exp_year: int,
    provider_customer: str = "",
    make_default: bool = True,
) -> PaymentMethod:
    """Save a card the provider tokenised; the new default replaces the old one."""
    if brand not in CardBrand.values:
        raise ApplicationError("Unknown card brand.", field="brand")
    if not (len(last4) == 4 and last4.isdigit()):
        raise ApplicationError("Give the card's last four digits.", field="last4")
    if not 1 <= exp_month <= 12:
        raise ApplicationError("The expiry month is 1 to 12.", field="exp_month")
    today = clock.today()
    if (exp_year, exp_month) < (today.year, today.month):
        raise ApplicationError("This card has expired.", field="exp_year")
    Customer.objects.select_for_update().get(pk=customer.pk)
    if make_default:
        PaymentMethod.objects.filter(customer=customer, is_default=True).update(is_default=False)
    return PaymentMethod.objects.create(
        customer=customer,
        provider=getattr(settings, "PAYMENT_PROVIDER", "sandbox"),
        provider_token=provider_token,
        provider_customer=provider_customer,
        brand=brand,
        last4=last4,
        exp_month=exp_month,
        exp_year=exp_year,
        is_default=make_default,
    )


@transaction.atomic
def subscription_create(
    *,
    customer: Customer,
    plan: Plan,
    quantity: int = 1,
    payment_method: PaymentMethod | None = None,
    start_date: dt.date | None = None,
    user: Any = None,
    idempotency_key: str = "",
) -> tuple[Subscription, bool]:
    """Subscribe a customer to a plan: a trial first if the plan has one, else billed on the start
    date by the daily run. ``(subscription, created)``; the same key answers with the first one."""
    if idempotency_key:
        existing = Subscription.objects.filter(
            customer=customer, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            if existing.plan_id != plan.pk or existing.quantity != quantity:
                raise ApplicationError(
                    "This key was already used for a different subscription.",
                    field="idempotency_key",
                    code="conflict",
                )
            return existing, False
    if not plan.is_active:
        raise ApplicationError("This plan is not offered any more.", field="plan")
    if quantity < 1:
        raise ApplicationError("The quantity is at least 1.", field="quantity")
    if payment_method is None:
        payment_method = PaymentMethod.objects.filter(customer=customer, is_default=True).first()
    elif payment_method.customer_id != customer.pk:
        raise ApplicationError(
            "That payment method belongs to someone else.", field="payment_method"
        )
    if payment_method is None and not plan.trial_days:
        raise ApplicationError("Add a payment method first.", field="payment_method")
    start = start_date or clock.today()
    trial_end = start + dt.timedelta(days=plan.trial_days) if plan.trial_days else None
    subscription = Subscription(
        number=_new_number("SUB"),
        customer=customer,
        plan=plan,
        quantity=quantity,
        payment_method=payment_method,
        current_period_start=start,
        current_period_end=trial_end or start,
        next_billing_date=trial_end or start,
        trial_end=trial_end,
        idempotency_key=idempotency_key,
        status=S.TRIALING if trial_end else S.ACTIVE,
    )
    subscription.save()
    _record(
        subscription,
        SubscriptionEvent.CREATED,
        "",
        actor_of(user),
        plan=plan.code,
        quantity=quantity,
    )
    return subscription, True


# ------------------------------------------------------------------------------ daily run
@dataclass(frozen=True)
class RenewalBatch:
    started: int
    resumed: int
    canceled: int
    more: bool


def renewal_process_variables(*, invoice: Invoice) -> dict[str, Any]:
    """Ids and small values only; everything else is read from the database by the handlers."""
    subscription = invoice.subscription
    return {
        "subscriptionId": subscription.pk,
        "subscriptionNumber": subscription.number,
        "invoiceId": invoice.pk,
        "invoiceNumber": invoice.number,
        "billable": subscription.status in BILLABLE_STATUSES,
        "attempt": 0,
        "graceWait": invoice.schedule.hard_decline_grace,
    }


def _invoice_number(subscription: Subscription, period_start: dt.date) -> str:
    # Deterministic: a re-run after a crash names (and keys) the same invoice.
    return f"INV-{subscription.number}-{period_start:%Y%m%d}"


def _open_invoices_and_start(subscription_ids: list[int], schedule: DunningSchedule) -> int:
    """Create each due period's invoice and its process instance, once, in one transaction.

    One transaction per batch (not per subscription): a commit per renewal would cost more
    than the renewal itself. The subscriptions stay locked until the batch commits, so a
    concurrent run or a staff action waits for it instead of seeing a half-opened invoice.
    """
    with transaction.atomic():
        subscriptions = list(
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan")
            .filter(pk__in=subscription_ids, status__in=BILLABLE_STATUSES)
            .order_by("pk")
        )
        existing = {
            (invoice.subscription_id, invoice.period_start): invoice
            for invoice in Invoice.objects.filter(subscription__in=subscriptions)
        }
        new = [
            Invoice(
                number=_invoice_number(subscription, subscription.next_billing_date),
                subscription=subscription,
                period_start=subscription.next_billing_date,
                period_end=add_interval(
                    subscription.next_billing_date,
                    interval=subscription.plan.interval,
                    count=subscription.plan.interval_count,
                ),
                amount_minor=subscription.amount_minor,
                currency=subscription.plan.currency,
                schedule=schedule,
            )
            for subscription in subscriptions
            if (subscription.pk, subscription.next_billing_date) not in existing
        ]
        for invoice in Invoice.objects.bulk_create(new):
            existing[(invoice.subscription_id, invoice.period_start)] = invoice
        to_start = []
        for subscription in subscriptions:
            invoice = existing[(subscription.pk, subscription.next_billing_date)]
            if not invoice.process_instance_key:
                invoice.subscription, invoice.schedule = subscription, schedule
                to_start.append(invoice)
        now = clock.now()
        history = []
        # One engine command for the whole batch (one definition lookup, one savepoint).
        keys = port.start_many(
            PROCESS_ID,
            [(renewal_process_variables(invoice=invoice), invoice.number) for invoice in to_start],
        )
        for invoice, key in zip(to_start, keys, strict=True):
            invoice.process_instance_key = int(key)
            history.append(
                SubscriptionHistory(
                    subscription=invoice.subscription,
                    event=SubscriptionEvent.INVOICE_OPENED,
                    from_status=invoice.subscription.status,
                    to_status=invoice.subscription.status,
                    detail={"invoice": invoice.number, "amount_minor": invoice.amount_minor},
                    at=now,
                )
            )
        Invoice.objects.bulk_update(to_start, ["process_instance_key"])
        SubscriptionHistory.objects.bulk_create(history)
        return len(to_start)


@transaction.atomic
def _resume_due(subscription_id: int, run_date: dt.date) -> bool:
    subscription = _locked(subscription_id)
    if subscription.status != S.PAUSED or not subscription.resume_on:
        return False
    if subscription.resume_on > run_date:
        return False
    _resume(subscription, on=subscription.resume_on, actor="")
    return True


@transaction.atomic
def _cancel_at_period_end(subscription_id: int) -> bool:
    subscription = _locked(subscription_id)
    if not subscription.cancel_at_period_end or subscription.status not in BILLABLE_STATUSES:
        return False
    _cancel(subscription, reason="Canceled at the end of the period", actor="")
    return True


def _due(run_date: dt.date) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(
            status__in=BILLABLE_STATUSES,
            next_billing_date__lte=run_date,
            cancel_at_period_end=False,
        )
        .exclude(
            Q(invoices__period_start=F("next_billing_date"))
            & Q(invoices__process_instance_key__isnull=False)
        )
        .order_by("pk")
    )


def renewal_batches(*, run_date: dt.date, size: int | None = None) -> list[dict[str, int]]:
    """The due subscriptions as id ranges of at most ``size`` each, for parallel batch jobs.

    About 100 ``{"from", "to"}`` pairs for 50,000 subscriptions: a few kilobytes of process
    variables, where the ids themselves would be a collection of 50,000.
    """
    size = size or int(getattr(settings, "SUBSCRIPTION_RENEWAL_BATCH", 500))
    ids = list(_due(run_date).values_list("pk", flat=True))
    return [
        {"from": chunk[0], "to": chunk[-1]}
        for chunk in (ids[i : i + size] for i in range(0, len(ids), size))
    ]


def renewals_open_batch(
    *, run_date: dt.date, limit: int | None = None, id_range: tuple[int, int] | None = None
) -> RenewalBatch:
    """Open the invoices due on ``run_date`` (and before) and start their processes, one batch.

    Safe to repeat: a subscription whose invoice for its billing date exists with a process is
    skipped, so a re-run of the daily job after a crash starts only what is missing.
    """
    limit = limit or int(getattr(settings, "SUBSCRIPTION_RENEWAL_BATCH", 500))
    if id_range is not None:
        limit = max(limit, id_range[1] - id_range[0] + 1)
    resumed = canceled = started = 0
    for sub_id in Subscription.objects.filter(status=S.PAUSED, resume_on__lte=run_date).values_list(
        "pk", flat=True
    )[:limit]:
        resumed += _resume_due(sub_id, run_date)
    for sub_id in Subscription.objects.filter(
        status__in=BILLABLE_STATUSES, cancel_at_period_end=True, next_billing_date__lte=run_date
    ).values_list("pk", flat=True)[:limit]:
        canceled += _cancel_at_period_end(sub_id)
    schedule = schedule_in_force()
    due = _due(run_date).values_list("pk", flat=True)
    if id_range is not None:
        due = due.filter(pk__gte=id_range[0], pk__lte=id_range[1])
    ids = list(due[: limit + 1])
    try:
        started = _open_invoices_and_start(ids[:limit], schedule)
    except IntegrityError:
        # Another run opened some of these meanwhile; the next batch skips what it opened.
        logger.info("Renewal batch collided with a concurrent run; it is picked up again")
        return RenewalBatch(started=0, resumed=resumed, canceled=canceled, more=True)
    except Exception as error:
        raise EngineUnavailable(str(error)) from error
    return RenewalBatch(started=started, resumed=resumed, canceled=canceled, more=len(ids) > limit)


def renewals_opened(run_date: dt.date) -> int:
    """Invoices of ``run_date`` with their renewal started (the daily run's count)."""
    return Invoice.objects.filter(period_start=run_date, process_instance_key__isnull=False).count()


def renewal_run_plan() -> tuple[dt.date, dt.datetime]:
    """Today's run: its billing date and the moment it starts (``SUBSCRIPTION_RENEWAL_TIME``).

    The daily timer fires at midnight UTC; renewals wait for the configured time of day, so
    that operations choose the hour (say, when issuers' systems are least busy) in settings.
    """
    now = clock.now()
    hours, _, minutes = str(getattr(settings, "SUBSCRIPTION_RENEWAL_TIME", "02:00")).partition(":")
    run_at = now.replace(hour=int(hours), minute=int(minutes or 0), second=0, microsecond=0)
    return now.date(), max(run_at, now)


# ------------------------------------------------------------------------------ attempts
@dataclass(frozen=True)
class AttemptResult:
    attempt: PaymentAttempt
    retries_left: bool
    retry_wait: str


def _declines_of_card(method: PaymentMethod, at: dt.datetime) -> list[dt.datetime]:
    window_start = at - dt.timedelta(days=30)
    return list(
        PaymentAttempt.objects.filter(
            payment_method=method,
            outcome__in=(AttemptOutcome.SOFT_DECLINE, AttemptOutcome.HARD_DECLINE),
            attempted_at__gt=window_start,
        ).values_list("attempted_at", flat=True)
    )


def _attempt_result(invoice: Invoice, attempt: PaymentAttempt) -> AttemptResult:
    intervals = list(invoice.schedule.retry_intervals)
    n = attempt.attempt_number
    retries_left = n <= len(intervals)
    wait = intervals[n - 1] if retries_left else ""
    if attempt.outcome == AttemptOutcome.HARD_DECLINE:
        wait = invoice.schedule.hard_decline_grace
    return AttemptResult(attempt=attempt, retries_left=retries_left, retry_wait=wait)


# What a decided attempt changes on its row (an earlier pending one is updated, not inserted).
_DECIDED_FIELDS = [
    "outcome",
    "provider_reference",
    "decline_code",
    "decline_message",
    "next_retry_at",
]
# PostgreSQL's "lock not available": a NOWAIT lock found the row held by another transaction.
_LOCK_NOT_AVAILABLE = "55P03"


class _RowsBusy(Exception):
    """A row this command locks without waiting is held by another transaction."""


def _locked_invoice(invoice_id: int, *related: str) -> Invoice:
    """The invoice and its subscription, both locked by one query; ``related`` rows (say the
    schedule, or the subscription's plan) come with it, unlocked."""
    return (
        Invoice.objects.select_for_update(of=("self", "subscription"))
        .select_related("subscription", *related)
        .get(pk=invoice_id)
    )


def _invoice_for_attempt(
    invoice_id: int, attempt_number: int, *, wait: bool
) -> tuple[Invoice, PaymentAttempt | None]:
    """The invoice and its subscription locked, with the schedule, plan and card, and the earlier
    try of this attempt (a repeated job) if there is one.

    Without ``wait`` it is one query: the locks are taken with ``NOWAIT`` and the earlier try is
    looked up in the same statement. That lookup reads the attempts as they were when the
    statement began, so it would miss a try committed by a transaction this one waited for (a
    repeat of the job still running, say); when a row is held, ``_RowsBusy`` sends the caller to
    the waiting path, which looks for the earlier try in a statement after the locks.
    """
    query = Invoice.objects.select_related(
        "schedule", "subscription__plan", "subscription__payment_method"
    )
    tries = PaymentAttempt.objects.filter(attempt_number=attempt_number)
    if wait:
        invoice = query.select_for_update(of=("self", "subscription")).get(pk=invoice_id)
        return invoice, tries.filter(invoice=invoice).first()
    earlier = Subquery(tries.filter(invoice=OuterRef("pk")).order_by().values("pk")[:1])
    try:
        invoice = (
            query.select_for_update(of=("self", "subscription"), nowait=True)
            .annotate(earlier_attempt_id=earlier)
            .get(pk=invoice_id)
        )
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise _RowsBusy from error
        raise
    earlier_id = invoice.earlier_attempt_id
    return invoice, (tries.get(pk=earlier_id) if earlier_id is not None else None)


def payment_attempt_make(*, invoice_id: int, attempt_number: int) -> AttemptResult:
    """Try to collect the invoice once (attempt ``attempt_number``); repeats find the first try.

    Skipped (no charge) when the invoice is not open or the subscription was paused or canceled
    meanwhile; not sent when the card network's retry cap is reached (counted as a soft decline,
    so dunning goes on and ends as the schedule says). The provider sees idempotency key
    ``<invoice number>:attempt-<n>``. A first attempt that pays is three statements: the locks
    (with the lookup of an earlier try), the attempt's insert and the invoice's update.
    """
    try:
        attempt, result = _attempt(invoice_id, attempt_number, wait=False)
    except _RowsBusy:
        attempt, result = _attempt(invoice_id, attempt_number, wait=True)
    if result is None:
        raise PaymentPending(f"Payment {attempt.provider_reference} is still processing")
    return result


def _attempt(
    invoice_id: int, attempt_number: int, *, wait: bool
) -> tuple[PaymentAttempt, AttemptResult | None]:
    """One try in one transaction; no result while the provider is still deciding."""
    with transaction.atomic():
        invoice, existing = _invoice_for_attempt(invoice_id, attempt_number, wait=wait)
        subscription = invoice.subscription
        if existing is not None and existing.outcome != AttemptOutcome.PENDING:
            return existing, _attempt_result(invoice, existing)
        key = f"{invoice.number}:attempt-{attempt_number}"
        now = clock.now()
        method = subscription.payment_method
        skip = ""
        if invoice.status != Invoice.S.OPEN:
            skip = f"invoice {invoice.get_status_display().lower()}"
        elif subscription.status not in (*BILLABLE_STATUSES, S.PAST_DUE):
            skip = f"subscription {subscription.get_status_display().lower()}"
        if skip:
            attempt = PaymentAttempt.objects.create(
                invoice=invoice,
                attempt_number=attempt_number,
                payment_method=method,
                outcome=AttemptOutcome.SKIPPED,
                decline_message=skip,
                idempotency_key=key,
                attempted_at=now,
            )
            if invoice.status == Invoice.S.OPEN:
                invoice.void()
                invoice.closed_at = now
                invoice.next_retry_at = None
                invoice.save(update_fields=["status", "closed_at", "next_retry_at"])
            return attempt, AttemptResult(attempt, retries_left=False, retry_wait="")
        cap = None
        if method is not None and attempt_number > 1:
            cap = retry_cap_reached(
                brand=method.brand, declined_at=_declines_of_card(method, now), at=now
            )
        if method is None or cap is not None:
            attempt = PaymentAttempt(
                invoice=invoice,
                attempt_number=attempt_number,
                payment_method=method,
                card_brand=method.brand if method else "",
                outcome=AttemptOutcome.CAPPED if cap else AttemptOutcome.HARD_DECLINE,
                decline_code="network_retry_cap" if cap else "no_payment_method",
                decline_message=(
                    f"{method.get_brand_display()} allows {cap.describe()}"
                    if cap and method
                    else "No payment method on file"
                ),
                idempotency_key=key,
                attempted_at=now,
            )
            return attempt, _after_attempt(invoice, subscription, attempt)
        # The provider call runs under the subscription's row lock: a staff action on this
        # subscription waits the second it takes instead of landing between the charge and
        # its record. A retryable failure rolls back, and the job repeats it with the same key.
        answer = get_provider().charge_off_session(
            customer_reference=method.provider_customer,
            payment_method=method.provider_token,
            amount_minor=invoice.amount_minor,
            currency=invoice.currency,
            description=f"{subscription.plan.name} {invoice.period_start:%Y-%m-%d}",
            idempotency_key=key,
        )
        attempt = existing or PaymentAttempt(
            invoice=invoice,
            attempt_number=attempt_number,
            payment_method=method,
            card_brand=method.brand,
            outcome=AttemptOutcome.PENDING,
            idempotency_key=key,
            attempted_at=now,
        )
        attempt.provider_reference = answer.reference or attempt.provider_reference
        if answer.outcome == "processing":
            attempt.save()  # settled by the webhook (or by this job's retry)
            return attempt, None
        if answer.outcome not in (
            AttemptOutcome.SUCCEEDED,
            AttemptOutcome.SOFT_DECLINE,
            AttemptOutcome.HARD_DECLINE,
        ):
            raise PaymentError(f"Unknown payment outcome {answer.outcome!r}")
        attempt.outcome = answer.outcome
        attempt.decline_code = answer.decline_code[:80]
        attempt.decline_message = answer.message[:300]
        return attempt, _after_attempt(invoice, subscription, attempt)


@transaction.atomic
def payment_attempt_settle(
    *, attempt_id: int, outcome: str, reference: str = "", decline_code: str = "", message: str = ""
) -> AttemptResult:
    """Record the provider's answer on a pending attempt (from the job or from the webhook)."""
    attempt = PaymentAttempt.objects.select_related("invoice").get(pk=attempt_id)
    invoice = _locked_invoice(attempt.invoice_id, "schedule")
    subscription = invoice.subscription
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.outcome != AttemptOutcome.PENDING:
        return _attempt_result(invoice, attempt)
    if outcome == "processing":
        attempt.provider_reference = reference or attempt.provider_reference
        attempt.save(update_fields=["provider_reference"])
        return _attempt_result(invoice, attempt)
    if outcome not in (
        AttemptOutcome.SUCCEEDED,
        AttemptOutcome.SOFT_DECLINE,
        AttemptOutcome.HARD_DECLINE,
    ):
        raise ApplicationError(f"Unknown payment outcome {outcome!r}.", field="outcome")
    attempt.outcome = outcome
    attempt.provider_reference = reference or attempt.provider_reference
    attempt.decline_code = decline_code[:80]
    attempt.decline_message = message[:300]
    return _after_attempt(invoice, subscription, attempt)


def _after_attempt(
    invoice: Invoice, subscription: Subscription, attempt: PaymentAttempt
) -> AttemptResult:
    """Write the decided attempt (a new row, or the earlier pending one) and have the invoice and
    the subscription follow its outcome (inside the caller's transaction)."""
    now = clock.now()
    result = _attempt_result(invoice, attempt)
    succeeded = attempt.outcome == AttemptOutcome.SUCCEEDED
    retry = not succeeded and result.retries_left and bool(result.retry_wait)
    if retry:
        next_retry = now + parse_duration(result.retry_wait)
        attempt.next_retry_at = next_retry if not attempt.is_hard else None
    if attempt.pk is None:
        attempt.save()
    else:
        attempt.save(update_fields=_DECIDED_FIELDS)
    if succeeded:
        invoice.mark_paid()
        invoice.paid_at = now
        invoice.next_retry_at = None
        invoice.save(update_fields=["status", "paid_at", "next_retry_at"])
        return result
    if invoice.first_failed_at is None:
        invoice.first_failed_at = now
    invoice.next_retry_at = attempt.next_retry_at if retry else None
    invoice.save(update_fields=["first_failed_at", "next_retry_at"])
    if subscription.status != S.PAST_DUE:
        from_status = subscription.status
        subscription.fall_past_due()
        subscription.save(update_fields=["status"])
        _record(
            subscription,
            SubscriptionEvent.PAST_DUE,
            from_status,
            invoice=invoice.number,
            decline_code=attempt.decline_code,
        )
    else:
        _record(
            subscription,
            SubscriptionEvent.PAYMENT_FAILED,
            S.PAST_DUE,
            invoice=invoice.number,
            attempt=attempt.attempt_number,
            decline_code=attempt.decline_code,
        )
    return result


@transaction.atomic
def subscription_period_extend(*, invoice_id: int) -> Subscription:
    """The invoice is paid: the subscription's period moves on (once per invoice)."""
    invoice = _locked_invoice(invoice_id)
    subscription = invoice.subscription
    if invoice.status != Invoice.S.PAID:
        raise ApplicationError(f"Invoice {invoice.number} is not paid.", field="invoice")
    if subscription.current_period_start >= invoice.period_start and (
        subscription.next_billing_date >= invoice.period_end
    ):
        return subscription  # extended already (a repeated job)
    from_status = subscription.status
    subscription.current_period_start = invoice.period_start
    subscription.current_period_end = invoice.period_end
    subscription.next_billing_date = invoice.period_end
    if subscription.status in (S.TRIALING, S.ACTIVE, S.PAST_DUE):
        subscription.renew()
    subscription.save(
        update_fields=["current_period_start", "current_period_end", "next_billing_date", "status"]
    )
    _record(
        subscription,
        SubscriptionEvent.RENEWED,
        from_status,
        invoice=invoice.number,
        period_end=invoice.period_end.isoformat(),
    )
    return subscription


@transaction.atomic
def dunning_cancel(*, invoice_id: int) -> Subscription:
    """Dunning ended without payment: the invoice is uncollectible, the subscription canceled."""
    invoice = _locked_invoice(invoice_id)
    subscription = invoice.subscription
    if invoice.status == Invoice.S.OPEN:
        invoice.mark_uncollectible()
        invoice.closed_at = clock.now()
        invoice.next_retry_at = None
        invoice.save(update_fields=["status", "closed_at", "next_retry_at"])
    if subscription.status != S.CANCELED:
        _cancel(subscription, reason="Payment failed after every retry", actor="")
    return subscription


# ------------------------------------------------------------------------------ e-mails
# The e-mail kind of a dunning step: picked by attempt number and the invoice's schedule.
DUNNING = "dunning"


def dunning_email_kind(*, attempt_number: int, max_attempts: int, hard: bool) -> str:
    """Attempt 1 a gentle reminder, then "update your payment method", the last a final notice.

    A hard decline always asks for a new payment method: the same card will not work.
    """
    if hard:
        return EmailKind.UPDATE_PAYMENT_METHOD
    if attempt_number >= max_attempts - 1:
        return EmailKind.FINAL_NOTICE
    if attempt_number == 1:
        return EmailKind.GENTLE_REMINDER
    return EmailKind.UPDATE_PAYMENT_METHOD


@transaction.atomic
def customer_email_send(
    *, invoice_id: int, attempt_number: int, kind: str, hard: bool = False
) -> CustomerEmail:
    """E-mail the subscriber once per invoice, attempt and kind; repeats find the first row.

    ``kind`` ``DUNNING``: the e-mail of that dunning step (``dunning_email_kind``, ``hard`` for a
    hard decline), by the invoice's schedule.
    """
    tried = PaymentAttempt.objects.filter(
        invoice=OuterRef("pk"), attempt_number=attempt_number
    ).order_by()
    invoice = (  # locked as _locked_invoice locks it, with what the e-mail names in the same query
        Invoice.objects.select_for_update(of=("self",))
        .select_related("schedule", "subscription__plan", "subscription__customer")
        .annotate(
            decline_code=Subquery(tried.values("decline_code")[:1]),
            decline_message=Subquery(tried.values("decline_message")[:1]),
        )
        .get(pk=invoice_id)
    )
    if kind == DUNNING:
        kind = dunning_email_kind(
            attempt_number=attempt_number, max_attempts=invoice.schedule.max_attempts, hard=hard
        )
    key = f"{invoice.number}:{attempt_number}:{kind}"
    sent = CustomerEmail.objects.filter(idempotency_key=key).first()
    if sent is not None:
        return sent
    subscription = invoice.subscription
    retry_at = invoice.next_retry_at
    decline_message = invoice.decline_message  # None: no such attempt
    context = {
        "plan": subscription.plan.name,
        "amount": format_money(invoice.amount_minor, invoice.currency),
        "period": f"{invoice.period_start:%d %b %Y} to {invoice.period_end:%d %b %Y}",
        "invoice": invoice.number,
        "subscription": subscription.number,
        "retry": f"{retry_at:%d %b %Y}" if retry_at else "our next try",
        "retry_words": (
            f"in {describe(retry_at - clock.now())}" if retry_at else "as soon as you do"
        ),
        "reason": (
            (decline_message or invoice.decline_code) if decline_message is not None else "declined"
        ),
    }
    # Sent after commit by the shared notifications (once per key); the row here is the
    # subscription's own log, unique per invoice, attempt and kind.
    sent = notify_customer(
        template=f"subscriptions/{kind}",
        to=subscription.customer.email,
        context=context,
        key=f"subscription-email:{key}",
    )
    return CustomerEmail.objects.create(
        invoice=invoice,
        attempt_number=attempt_number,
        kind=kind,
        to=subscription.customer.email,
        subject=sent.notification.subject[:200],
        body=sent.notification.body,
        idempotency_key=key,
        sent_at=clock.now(),
    )


# ------------------------------------------------------------------------------ staff actions
def _resume(subscription: Subscription, *, on: dt.date, actor: str) -> None:
    from_status = subscription.status
    subscription.resume()
    subscription.paused_at = None
    subscription.resume_on = None
    # Billing starts again on the resume date: the paused time is not charged.
    subscription.next_billing_date = max(on, subscription.next_billing_date)
    subscription.save()
    _record(
        subscription,
        SubscriptionEvent.RESUMED,
        from_status,
        actor,
        next_billing=str(subscription.next_billing_date),
    )


def _cancel(subscription: Subscription, *, reason: str, actor: str) -> None:
    from_status = subscription.status
    subscription.cancel()
    subscription.canceled_at = clock.now()
    subscription.cancel_reason = reason[:200]
    subscription.cancel_at_period_end = False
    subscription.save()
    _record(subscription, SubscriptionEvent.CANCELED, from_status, actor, reason=reason)


def _open_invoices(subscription: Subscription) -> list[Invoice]:
    return list(
        Invoice.objects.select_for_update().filter(subscription=subscription, status=Invoice.S.OPEN)
    )


@transaction.atomic
def subscription_pause(
    *, subscription: Subscription, user: Any, resume_on: dt.date | None = None
) -> Subscription:
    """Stop billing (renewals skip it) until resumed, by hand or on ``resume_on``."""
    subscription = _locked(subscription.pk)
    if subscription.status not in BILLABLE_STATUSES:
        raise ApplicationError(
            f"A {subscription.get_status_display().lower()} subscription cannot be paused.",
            field="status",
            code="conflict",
        )
    if resume_on is not None and resume_on <= clock.today():
        raise ApplicationError("The resume date must be in the future.", field="resume_on")
    from_status = subscription.status
    subscription.pause()
    subscription.paused_at = clock.now()
    subscription.resume_on = resume_on
    subscription.save()
    _record(
        subscription,
        SubscriptionEvent.PAUSED,
        from_status,
        actor_of(user),
        resume_on=resume_on.isoformat() if resume_on else None,
    )
    return subscription


@transaction.atomic
def subscription_resume(*, subscription: Subscription, user: Any) -> Subscription:
    """Billing starts again; the next billing date is today if it had passed while paused."""
    subscription = _locked(subscription.pk)
    if subscription.status != S.PAUSED:
        raise ApplicationError(
            "Only a paused subscription can be resumed.", field="status", code="conflict"
        )
    _resume(subscription, on=clock.today(), actor=actor_of(user))
    return subscription


@transaction.atomic
def subscription_cancel(
    *, subscription: Subscription, user: Any, at_period_end: bool = False, reason: str = ""
) -> Subscription:
    """Cancel now (open invoices are voided, their dunning stops) or at the period's end."""
    subscription = _locked(subscription.pk)
    if subscription.status == S.CANCELED:
        raise ApplicationError(
            "The subscription is canceled already.", field="status", code="conflict"
        )
    actor = actor_of(user)
    if at_period_end:
        if subscription.status not in BILLABLE_STATUSES:
            raise ApplicationError(
                "Only an active subscription can end at its period's end; cancel it now instead.",
                field="at_period_end",
                code="conflict",
            )
        subscription.cancel_at_period_end = True
        subscription.save(update_fields=["cancel_at_period_end"])
        _record(
            subscription,
            SubscriptionEvent.CANCEL_SCHEDULED,
            subscription.status,
            actor,
            reason=reason,
        )
        return subscription
    instance_keys = []
    for invoice in _open_invoices(subscription):
        invoice.void()
        invoice.closed_at = clock.now()
        invoice.next_retry_at = None
        invoice.save()
        if invoice.process_instance_key:
            instance_keys.append(int(invoice.process_instance_key))
    _cancel(subscription, reason=reason or "Canceled by staff", actor=actor)

    def stop_dunning() -> None:
        for key in instance_keys:
            try:
                port.cancel(key)
            except Exception:  # ended meanwhile; the voided invoice stops any retry anyway
                logger.info("Renewal instance %s was not running any more", key)

    transaction.on_commit(stop_dunning)
    return subscription


def _dunning_invoice(subscription: Subscription) -> Invoice | None:
    return (
        Invoice.objects.filter(subscription=subscription, status=Invoice.S.OPEN)
        .exclude(first_failed_at=None)
        .order_by("-period_start")
        .first()
    )


@transaction.atomic
def subscription_retry_now(*, subscription: Subscription, user: Any) -> Invoice:
    """Staff ask for the next dunning retry now instead of at its scheduled time."""
    subscription = _locked(subscription.pk)
    invoice = _dunning_invoice(subscription)
    if subscription.status != S.PAST_DUE or invoice is None:
        raise ApplicationError(
            "The subscription is not in dunning.", field="status", code="conflict"
        )
    last = invoice.attempts.order_by("-attempt_number").first()
    if last is not None and last.is_hard:
        raise ApplicationError(
            "The card was declined for good: only a new payment method can be retried.",
            field="payment_method",
            code="conflict",
        )
    _record(
        subscription,
        SubscriptionEvent.RETRY_REQUESTED,
        subscription.status,
        actor_of(user),
        invoice=invoice.number,
    )
    number, attempt = subscription.number, last.attempt_number if last else 0
    transaction.on_commit(
        lambda: _publish(
            RETRY_REQUESTED,
            number,
            {"retryRequestedBy": actor_of(user)},
            f"{RETRY_REQUESTED}:{number}:{attempt}",
        )
    )
    return invoice


@transaction.atomic
def subscription_payment_method_update(
    *, subscription: Subscription, payment_method: PaymentMethod, user: Any
) -> Subscription:
    """Use another saved card; during dunning this retries at once (message to the process)."""
    subscription = _locked(subscription.pk)
    if payment_method.customer_id != subscription.customer_id:
        raise ApplicationError(
            "That payment method belongs to someone else.", field="payment_method"
        )
    if subscription.status == S.CANCELED:
        raise ApplicationError("The subscription is canceled.", field="status", code="conflict")
    from_status = subscription.status
    subscription.payment_method = payment_method
    subscription.save(update_fields=["payment_method"])
    _record(
        subscription,
        SubscriptionEvent.PAYMENT_METHOD_UPDATED,
        from_status,
        actor_of(user),
        card=str(payment_method),
    )
    if subscription.status == S.PAST_DUE:
        number, pm = subscription.number, payment_method.pk
        transaction.on_commit(
            lambda: _publish(
                PAYMENT_METHOD_UPDATED,
                number,
                {"paymentMethodId": pm},
                f"{PAYMENT_METHOD_UPDATED}:{number}:{pm}",
            )
        )
    return subscription
