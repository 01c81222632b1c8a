"""Plans, saved payment methods, subscriptions, invoices, payment attempts and dunning.

A subscription's status is a state machine (``FSMField(protected=True)``): only the services in
``subscriptions/services.py`` move it, under a row lock, with a ``SubscriptionHistory`` row.
The dunning schedule is data with an effective date, so operations can change the retry rhythm
without a deploy and every invoice keeps the schedule it started with.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from orders.models import Customer
from vendors.models import Vendor, currency_validator

from .durations import parse_duration


class BillingInterval(models.TextChoices):
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class Plan(models.Model):
    """What a subscriber pays, how often; optionally a vendor's plan on the marketplace."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    price_minor = models.PositiveBigIntegerField(help_text="Per interval, in minor units.")
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    interval = models.CharField(
        max_length=10, choices=BillingInterval.choices, default=BillingInterval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    trial_days = models.PositiveSmallIntegerField(default=0)
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="plans"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def interval_label(self) -> str:
        unit = self.get_interval_display().lower()
        return (
            f"every {unit}" if self.interval_count == 1 else f"every {self.interval_count} {unit}s"
        )


class CardBrand(models.TextChoices):
    VISA = "visa", "Visa"
    MASTERCARD = "mastercard", "Mastercard"
    AMEX = "amex", "American Express"
    OTHER = "other", "Other"


class PaymentMethod(models.Model):
    """A card the customer saved with the provider (we keep its token, never the number)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    provider = models.CharField(max_length=20, default="sandbox")
    provider_token = models.CharField(max_length=200)
    provider_customer = models.CharField(max_length=200, blank=True)
    brand = models.CharField(max_length=20, choices=CardBrand.choices, default=CardBrand.VISA)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default=True),
                name="one_default_payment_method",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_brand_display()} •••• {self.last4}"


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", "In trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due (in dunning)"
    PAUSED = "paused", "Paused"
    CANCELED = "canceled", "Canceled"


BILLABLE_STATUSES = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)


class Subscription(ConcurrentTransitionMixin, models.Model):
    """A customer's subscription to a plan, billed on ``next_billing_date``."""

    S = SubscriptionStatus
    number = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = FSMField(default=S.ACTIVE, choices=S.choices, protected=True)
    current_period_start = models.DateField()
    current_period_end = models.DateField()
    next_billing_date = models.DateField(db_index=True)
    trial_end = models.DateField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    resume_on = models.DateField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_subscription_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["status", "next_billing_date"])]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_minor(self) -> int:
        return int(self.plan.price_minor) * int(self.quantity)

    @transition(field=status, source=[S.TRIALING, S.ACTIVE, S.PAST_DUE], target=S.ACTIVE)
    def renew(self) -> None:
        """The period's invoice was paid."""

    @transition(field=status, source=[S.TRIALING, S.ACTIVE, S.PAST_DUE], target=S.PAST_DUE)
    def fall_past_due(self) -> None:
        """A renewal payment failed: dunning runs."""

    @transition(field=status, source=[S.TRIALING, S.ACTIVE], target=S.PAUSED)
    def pause(self) -> None:
        """Billing stops until resumed."""

    @transition(field=status, source=S.PAUSED, target=S.ACTIVE)
    def resume(self) -> None:
        """Billing starts again from the resume date."""

    @transition(
        field=status, source=[S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED], target=S.CANCELED
    )
    def cancel(self) -> None:
        """Ended: by the customer or staff, at period end, or after dunning failed."""


class DunningSchedule(models.Model):
    """How failed renewals are retried, from ``effective_from`` (the newest row not in the future).

    ``retry_intervals``: ISO 8601 durations between attempts (default 3, 7 and 14 days: attempts
    on days 0, 3, 10 and 24, then the subscription is canceled). A hard decline is never retried;
    the customer has ``hard_decline_grace`` to update the card before the subscription ends.
    """

    effective_from = models.DateTimeField(unique=True)
    retry_intervals = models.JSONField(default=list)
    hard_decline_grace = models.CharField(max_length=20, default="P14D")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"Dunning schedule from {self.effective_from:%Y-%m-%d}"

    def clean(self) -> None:
        if not isinstance(self.retry_intervals, list):
            raise ValidationError({"retry_intervals": "A list of ISO 8601 durations."})
        for value in [*self.retry_intervals, self.hard_decline_grace]:
            try:
                parse_duration(str(value))
            except ValueError as error:
                raise ValidationError({"retry_intervals": str(error)}) from error

    @property
    def max_attempts(self) -> int:
        return len(self.retry_intervals) + 1


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"
    VOID = "void", "Void"


class Invoice(ConcurrentTransitionMixin, models.Model):
    """What one billing period of a subscription costs; one per subscription and period."""

    S = InvoiceStatus
    number = models.CharField(max_length=60, unique=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="invoices"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, validators=[currency_validator])
    status = FSMField(default=S.OPEN, choices=S.choices, protected=True)
    schedule = models.ForeignKey(DunningSchedule, on_delete=models.PROTECT, related_name="+")
    process_instance_key = models.BigIntegerField(null=True, blank=True, db_index=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    first_failed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="one_invoice_per_period"
            )
        ]
        indexes = [models.Index(fields=["status", "period_start"])]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=S.OPEN, target=S.PAID)
    def mark_paid(self) -> None:
        """A payment attempt succeeded."""

    @transition(field=status, source=S.OPEN, target=S.UNCOLLECTIBLE)
    def mark_uncollectible(self) -> None:
        """Dunning ended without payment."""

    @transition(field=status, source=S.OPEN, target=S.VOID)
    def void(self) -> None:
        """Not owed any more (the subscription was canceled or paused before it was paid)."""


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Paid"
    SOFT_DECLINE = "soft_decline", "Declined, will retry"
    HARD_DECLINE = "hard_decline", "Declined, do not retry"
    CAPPED = "capped", "Not sent: card network retry limit"
    PENDING = "pending", "Waiting for the provider's answer"
    SKIPPED = "skipped", "Not attempted"


class PaymentAttempt(models.Model):
    """One try at collecting an invoice; ``idempotency_key`` = invoice + attempt number."""

    O = AttemptOutcome  # noqa: E741
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="attempts")
    attempt_number = models.PositiveSmallIntegerField()
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    card_brand = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=20, choices=O.choices)
    provider_reference = models.CharField(max_length=200, blank=True)
    decline_code = models.CharField(max_length=80, blank=True)
    decline_message = models.CharField(max_length=300, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    attempted_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["invoice", "attempt_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "attempt_number"], name="one_attempt_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice.number} attempt {self.attempt_number}: {self.outcome}"

    @property
    def is_hard(self) -> bool:
        return self.outcome == AttemptOutcome.HARD_DECLINE


class EmailKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    GENTLE_REMINDER = "gentle_reminder", "Payment failed: gentle reminder"
    UPDATE_PAYMENT_METHOD = "update_payment_method", "Please update your payment method"
    FINAL_NOTICE = "final_notice", "Final notice"
    CANCELED = "canceled", "Subscription canceled"


class CustomerEmail(models.Model):
    """An e-mail to the subscriber; at most one per invoice, attempt and kind."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="emails")
    attempt_number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30, choices=EmailKind.choices)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    idempotency_key = models.CharField(max_length=120, unique=True)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "attempt_number", "kind"], name="one_email_per_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.invoice.number} (attempt {self.attempt_number})"


class SubscriptionEvent(models.TextChoices):
    CREATED = "created", "Subscribed"
    INVOICE_OPENED = "invoice_opened", "Invoice opened"
    RENEWED = "renewed", "Renewed"
    PAST_DUE = "past_due", "Payment failed: in dunning"
    PAYMENT_FAILED = "payment_failed", "Payment failed again"
    RETRY_REQUESTED = "retry_requested", "Retry requested"
    PAYMENT_METHOD_UPDATED = "payment_method_updated", "Payment method updated"
    PAUSED = "paused", "Paused"
    RESUMED = "resumed", "Resumed"
    CANCEL_SCHEDULED = "cancel_scheduled", "Cancel at period end"
    CANCELED = "canceled", "Canceled"


class SubscriptionHistory(models.Model):
    """Append-only: what happened to a subscription, when and by whom (``history_write``)."""

    EVENTS = SubscriptionEvent
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="history")
    event = models.CharField(max_length=60, choices=SubscriptionEvent.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "subscription history"

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.event}"
