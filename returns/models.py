"""Return requests, their fraud assessment, label, inspection, refund and the store credit ledger.

A return request's status is a state machine (``FSMField(protected=True)``): only the services in
``returns/services.py`` move it, under a row lock, with a ``ReturnHistory`` row. Policy values
(return window, approval threshold, score cut-offs) and fraud indicator thresholds are rows, so
that operations can change them without a deploy and the history keeps which values applied.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from orders.models import Customer, Order, OrderLine
from orders.models import Refund as OrderRefund
from vendors.models import VendorSubOrder, currency_validator


class ReturnPolicy(models.Model):
    """The rules in force from ``effective_from`` (the newest row not in the future applies)."""

    effective_from = models.DateTimeField(unique=True)
    return_window_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(14)], help_text="Statutory minimum is 14 days."
    )
    # In minor units of the order's currency (50000 = 500.00).
    approval_threshold_minor = models.PositiveBigIntegerField(default=50_000)
    review_score_above = models.PositiveSmallIntegerField(
        default=75, validators=[MaxValueValidator(100)]
    )
    auto_approve_score_below = models.PositiveSmallIntegerField(
        default=30, validators=[MaxValueValidator(100)]
    )
    item_wait_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "return policies"

    def __str__(self) -> str:
        return f"Return policy from {self.effective_from:%Y-%m-%d}"


class FraudIndicator(models.Model):
    """One fraud signal: when it fires (``threshold``) and what it adds to the score (``weight``).

    ``warn_threshold`` (optional) fires the indicator at half its weight: the return-to-purchase
    ratio is normal below 0.2 and suspicious above 0.6, with the band between them half-weighted.
    Ratios are stored in basis points (2000 = 0.2), money in minor units.
    """

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    threshold = models.BigIntegerField()
    warn_threshold = models.BigIntegerField(null=True, blank=True)
    weight = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} (weight {self.weight})"


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
    SIZE = "size", "Does not fit"
    OTHER = "other", "Other"


class RefundMethod(models.TextChoices):
    ORIGINAL = "original", "Original payment method"
    STORE_CREDIT = "store_credit", "Store credit"


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    AWAITING_ITEM = "awaiting_item", "Waiting for the item"
    RECEIVED = "received", "Item received"
    ACCEPTED = "accepted", "Accepted, refund pending"
    REFUNDED = "refunded", "Refunded"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Closed: item never arrived"


OPEN_STATUSES = (
    ReturnStatus.REQUESTED,
    ReturnStatus.IN_REVIEW,
    ReturnStatus.APPROVED,
    ReturnStatus.AWAITING_ITEM,
    ReturnStatus.RECEIVED,
    ReturnStatus.ACCEPTED,
)
# Returns whose items no longer count as returnable quantities of the order line.
COUNTING_STATUSES = (*OPEN_STATUSES, ReturnStatus.REFUNDED, ReturnStatus.COMPLETED)


class ReturnRequest(ConcurrentTransitionMixin, models.Model):
    """A customer's request to send back some units of an order's lines."""

    S = ReturnStatus
    number = models.CharField(max_length=40, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="returns")
    reason = models.CharField(max_length=30, choices=ReturnReason.choices)
    customer_comment = models.TextField(blank=True, max_length=2000)
    refund_method = models.CharField(
        max_length=20, choices=RefundMethod.choices, default=RefundMethod.ORIGINAL
    )
    status = FSMField(default=S.REQUESTED, choices=S.choices, protected=True)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    amount_minor = models.BigIntegerField(help_text="Value of the returned units.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_decision = models.CharField(max_length=20, blank=True)
    inspection_required = models.BooleanField(default=False)
    rejection_reason = models.CharField(max_length=500, blank=True)
    # Idempotent intake: the same key (or client reference) from the same customer finds the row.
    idempotency_key = models.CharField(max_length=200, blank=True)
    client_reference = models.CharField(max_length=100, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    policy = models.ForeignKey(ReturnPolicy, on_delete=models.PROTECT, related_name="+")
    process_instance_key = models.BigIntegerField(null=True, blank=True, db_index=True)
    item_received_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_return_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["customer", "client_reference"],
                condition=~models.Q(client_reference=""),
                name="unique_return_client_reference",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=[S.REQUESTED], target=S.IN_REVIEW)
    def flag_for_review(self) -> None:
        """The fraud score asks a person to look at it."""

    @transition(field=status, source=[S.REQUESTED, S.IN_REVIEW], target=S.APPROVED)
    def approve(self) -> None:
        """Approved (automatically, with inspection, or by support)."""

    @transition(field=status, source=S.APPROVED, target=S.AWAITING_ITEM)
    def send_label(self) -> None:
        """The return label went to the customer."""

    @transition(field=status, source=S.AWAITING_ITEM, target=S.RECEIVED)
    def receive(self) -> None:
        """The carrier or warehouse reported the item back."""

    @transition(field=status, source=S.RECEIVED, target=S.ACCEPTED)
    def accept(self) -> None:
        """The item passed inspection (or needed none)."""

    @transition(field=status, source=S.ACCEPTED, target=S.REFUNDED)
    def mark_refunded(self) -> None:
        """The money went back (card or store credit)."""

    @transition(field=status, source=S.REFUNDED, target=S.COMPLETED)
    def complete(self) -> None:
        """Restocked; nothing left to do."""

    @transition(
        field=status,
        source=[S.REQUESTED, S.IN_REVIEW, S.RECEIVED, S.ACCEPTED],
        target=S.REJECTED,
    )
    def reject(self) -> None:
        """Not eligible, refused in review, failed inspection, or refund not approved."""

    @transition(field=status, source=S.AWAITING_ITEM, target=S.EXPIRED)
    def expire(self) -> None:
        """Nothing arrived within the waiting time."""


class ReturnLine(models.Model):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    amount_minor = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="one_return_line_per_order_line"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="return_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.order_line.sku}"


class FraudAssessment(models.Model):
    """The score of a return and every indicator evaluated (fired or not), with its value."""

    return_request = models.OneToOneField(
        ReturnRequest, on_delete=models.CASCADE, related_name="fraud_assessment"
    )
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    route = models.CharField(max_length=20)  # review | inspect | auto
    # [{"code", "name", "value", "threshold", "warn_threshold", "weight", "points", "fired"}]
    indicators = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.return_request.number}: {self.score}"

    @property
    def fired(self) -> list[dict]:
        return [item for item in self.indicators if item.get("fired")]


class ReturnLabel(models.Model):
    return_request = models.OneToOneField(
        ReturnRequest, on_delete=models.CASCADE, related_name="label"
    )
    carrier = models.CharField(max_length=80)
    tracking_number = models.CharField(max_length=120, unique=True)
    label_url = models.URLField(blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ItemCondition(models.TextChoices):
    AS_NEW = "as_new", "As new, unopened"
    OPENED = "opened", "Opened, no wear"
    USED = "used", "Used"
    DAMAGED = "damaged", "Damaged"


class Inspection(models.Model):
    return_request = models.OneToOneField(
        ReturnRequest, on_delete=models.CASCADE, related_name="inspection"
    )
    condition = models.CharField(max_length=20, choices=ItemCondition.choices)
    matches_order = models.BooleanField()
    restockable = models.BooleanField()
    passed = models.BooleanField()
    notes = models.TextField(blank=True)
    photos = models.JSONField(default=list, blank=True, help_text="Photo URLs (optional).")
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"inspection {self.return_request.number}: {'passed' if self.passed else 'failed'}"


class RefundStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Waiting for a manager"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Not approved"
    ISSUED = "issued", "Issued"


class ReturnRefund(ConcurrentTransitionMixin, models.Model):
    """The refund a return asks for; above the policy threshold a manager approves it."""

    S = RefundStatus
    return_request = models.OneToOneField(
        ReturnRequest, on_delete=models.PROTECT, related_name="refund"
    )
    amount_minor = models.BigIntegerField(validators=[MinValueValidator(1)])
    currency = models.CharField(max_length=3, validators=[currency_validator])
    method = models.CharField(max_length=20, choices=RefundMethod.choices)
    status = FSMField(default=S.PENDING_APPROVAL, choices=S.choices, protected=True)
    needs_approval = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True)
    order_refund = models.OneToOneField(
        OrderRefund, null=True, blank=True, on_delete=models.PROTECT, related_name="return_refund"
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refund {self.return_request.number}: {self.amount_minor} {self.currency}"

    @transition(field=status, source=S.PENDING_APPROVAL, target=S.APPROVED)
    def approve(self) -> None:
        """Below the threshold (automatically) or by a manager who is not the requester/reviewer."""

    @transition(field=status, source=S.PENDING_APPROVAL, target=S.REJECTED)
    def reject(self) -> None:
        """A manager refused it."""

    @transition(field=status, source=S.APPROVED, target=S.ISSUED)
    def issue(self) -> None:
        """The money moved (payment provider refund or store credit entry)."""


class StoreCreditEntry(models.Model):
    """One movement on a customer's store credit; the balance is the sum of the entries."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="store_credit")
    amount_minor = models.BigIntegerField(help_text="Positive: credit given; negative: spent.")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    reason = models.CharField(max_length=200)
    return_request = models.ForeignKey(
        ReturnRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="credits"
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "store credit entries"

    def __str__(self) -> str:
        return f"{self.customer.email}: {self.amount_minor} {self.currency}"


class AdjustmentKind(models.TextChoices):
    PAYOUT_REVERSED = "payout_reversed", "Payout reversed"
    HOLD_REDUCED = "hold_reduced", "Payout hold reduced"
    NONE = "none", "Nothing paid or held"


class VendorReturnAdjustment(models.Model):
    """A vendor's share of a return taken back: its payout part and the platform's commission.

    Parts add up: ``amount_minor = payout_minor + commission_minor``. The commission part is the
    sub-order's commission scaled to the returned value, rounded half-up once on the running total
    so that returning everything reverses exactly the commission charged.
    """

    K = AdjustmentKind
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.PROTECT, related_name="vendor_adjustments"
    )
    sub_order = models.ForeignKey(
        VendorSubOrder, on_delete=models.PROTECT, related_name="return_adjustments"
    )
    amount_minor = models.BigIntegerField()
    commission_minor = models.BigIntegerField()
    payout_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, validators=[currency_validator])
    kind = models.CharField(max_length=20, choices=AdjustmentKind.choices)
    provider_reversal_id = models.CharField(max_length=120, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["return_request", "sub_order"], name="one_adjustment_per_vendor_return"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.return_request.number} {self.sub_order.number}: {self.kind}"


class ReturnEvent(models.TextChoices):
    """What happens to a return (rows in its history)."""

    REQUESTED = "requested", "Requested"
    FRAUD_SCORED = "fraud_scored", "Fraud scored"
    REVIEWED = "reviewed", "Reviewed"
    REJECTED = "rejected", "Rejected"
    LABEL_SENT = "label_sent", "Label sent"
    ITEM_RECEIVED = "item_received", "Item received"
    EXPIRED = "expired", "Expired"
    INSPECTED = "inspected", "Inspected"
    ACCEPTED = "accepted", "Accepted"
    REFUND_PREPARED = "refund_prepared", "Refund prepared"
    REFUND_APPROVED = "refund_approved", "Refund approved"
    REFUND_ISSUED = "refund_issued", "Refund issued"
    COMPLETED = "completed", "Completed"
    CUSTOMER_NOTIFIED = "customer_notified", "Customer notified"


class ReturnHistory(models.Model):
    """Who did what to a return, and when. Append-only; written by ``returns.services._record``
    only."""

    EVENTS = ReturnEvent

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="history"
    )
    event = models.CharField(max_length=60, choices=ReturnEvent.choices)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "return history"

    def __str__(self) -> str:
        return f"{self.return_request.number} {self.event}"
