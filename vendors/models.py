"""Vendors and their people and products."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

hs_code_validator = RegexValidator(
    r"^\d{6}(\d{2}){0,2}$", "An HS code has 6 digits, or 8 or 10 with a national extension."
)
country_validator = RegexValidator(r"^[A-Z]{2}$", "Use the two-letter ISO 3166 country code.")
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use the three-letter ISO 4217 currency code.")


def new_callback_secret() -> str:
    return secrets.token_hex(32)


class Vendor(models.Model):
    handle = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Commission in basis points (1500 = 15.00%) so that money maths stays in integers.
    commission_rate_bp = models.PositiveIntegerField(
        default=1500, validators=[MaxValueValidator(10_000)]
    )
    sla_hours = models.PositiveIntegerField(default=24, validators=[MinValueValidator(1)])
    callback_secret = models.CharField(max_length=128, default=new_callback_secret)
    api_endpoint = models.URLField(blank=True)
    # The vendor's connected account at the payment provider (Stripe: "acct_..."); payouts go there.
    payout_account_id = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VendorMembership(models.Model):
    """A user who acts for a vendor in the portal and the vendor API."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_memberships"
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "vendor"], name="unique_vendor_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor}"


class Product(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="products")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    hs_code = models.CharField(max_length=10, validators=[hs_code_validator])
    origin_country = models.CharField(max_length=2, validators=[country_validator])
    weight_grams = models.PositiveIntegerField()
    price_minor = models.PositiveBigIntegerField(help_text="Unit price in minor units (cents).")
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["vendor__name", "sku"]
        constraints = [models.UniqueConstraint(fields=["vendor", "sku"], name="unique_vendor_sku")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class StockItem(models.Model):
    """Units of a product on hand, and how many of them are promised to open sub-orders."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="stock")
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reserved__lte=models.F("on_hand")), name="stock_not_oversold"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product.sku}: {self.available} available"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Carrier(models.Model):
    """A carrier vendors may ship with; staff keep the list (admin). ``code`` is the carrier's
    name in its webhook URL (``/api/webhooks/carriers/<code>/``) and on shipments."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubOrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    REQUESTED = "requested", "Waiting for vendor"
    ACCEPTED = "accepted", "Accepted"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Paid out"
    REJECTED = "rejected", "Rejected by vendor"
    FAILED = "failed", "Vendor failed"
    CANCELLED = "cancelled", "Cancelled"


class VendorSubOrder(ConcurrentTransitionMixin, models.Model):
    """The part of an order that one vendor fulfils (one per vendor in an order)."""

    S = SubOrderStatus
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="sub_orders")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="sub_orders")
    number = models.CharField(max_length=80, unique=True)
    status = FSMField(default=S.PENDING, choices=S.choices, protected=True)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    subtotal_minor = models.BigIntegerField()
    shipping_minor = models.BigIntegerField(default=0)
    commission_rate_bp = models.PositiveIntegerField()
    commission_minor = models.BigIntegerField()
    payout_minor = models.BigIntegerField()
    carrier = models.CharField(max_length=80, blank=True, help_text="A ``Carrier.code``.")
    tracking_number = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Stock promised to this sub-order: set once each, so repeating a job never moves stock twice.
    stock_reserved_at = models.DateTimeField(null=True, blank=True)
    stock_released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "vendor__name"]
        constraints = [
            models.UniqueConstraint(fields=["order", "vendor"], name="one_sub_order_per_vendor"),
            # One shipment per carrier and tracking number: a carrier event names one sub-order.
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=~models.Q(tracking_number=""),
                name="one_shipment_per_tracking_number",
            ),
        ]
        indexes = [models.Index(fields=["vendor", "status"])]

    def __str__(self) -> str:
        return self.number

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.shipping_minor

    @transition(field=status, source=S.PENDING, target=S.REQUESTED)
    def request(self) -> None:
        """Fulfilment was requested from the vendor."""

    @transition(field=status, source=[S.REQUESTED, S.PENDING], target=S.ACCEPTED)
    def accept(self) -> None:
        """The vendor accepted."""

    @transition(field=status, source=[S.PENDING, S.REQUESTED, S.ACCEPTED], target=S.REJECTED)
    def reject(self) -> None:
        """The vendor rejected the sub-order."""

    @transition(field=status, source=[S.REQUESTED, S.ACCEPTED], target=S.SHIPPED)
    def ship(self) -> None:
        """The vendor shipped (a shipment without an explicit acceptance accepts)."""

    @transition(field=status, source=S.SHIPPED, target=S.DELIVERED)
    def deliver(self) -> None:
        """The carrier confirmed delivery."""

    @transition(field=status, source=S.DELIVERED, target=S.COMPLETED)
    def complete(self) -> None:
        """The vendor's payout hold was released."""

    @transition(field=status, source=[S.PENDING, S.REQUESTED, S.ACCEPTED], target=S.FAILED)
    def fail(self) -> None:
        """The vendor could not be reached or could not fulfil."""

    @transition(
        field=status,
        source=[S.PENDING, S.REQUESTED, S.ACCEPTED, S.SHIPPED, S.REJECTED, S.FAILED],
        target=S.CANCELLED,
    )
    def cancel(self) -> None:
        """The sub-order (or the whole order) was cancelled."""


class HoldStatus(models.TextChoices):
    HELD = "held", "Held"
    RELEASED = "released", "Released to vendor"
    CANCELLED = "cancelled", "Cancelled"


class PayoutHold(ConcurrentTransitionMixin, models.Model):
    """A vendor's share of a paid order, held until delivery is confirmed."""

    S = HoldStatus
    sub_order = models.OneToOneField(
        VendorSubOrder, on_delete=models.CASCADE, related_name="payout_hold"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, validators=[currency_validator])
    status = FSMField(default=S.HELD, choices=S.choices, protected=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"hold {self.sub_order.number}: {self.amount_minor} {self.currency}"

    @transition(field=status, source=S.HELD, target=S.RELEASED)
    def release(self) -> None:
        """Delivery confirmed: the vendor gets paid."""

    @transition(field=status, source=S.HELD, target=S.CANCELLED)
    def cancel(self) -> None:
        """The vendor's part was undone: the money goes back to the customer."""


class PayoutStatus(models.TextChoices):
    PAID = "paid", "Paid"
    PARTIALLY_REVERSED = "partially_reversed", "Partially reversed"
    REVERSED = "reversed", "Reversed"


class Payout(ConcurrentTransitionMixin, models.Model):
    """Money transferred to a vendor for a sub-order (a transfer at the payment provider)."""

    S = PayoutStatus
    sub_order = models.OneToOneField(
        VendorSubOrder, on_delete=models.PROTECT, related_name="payout"
    )
    amount_minor = models.BigIntegerField()
    reversed_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    status = FSMField(default=S.PAID, choices=S.choices, protected=True)
    provider_transfer_id = models.CharField(max_length=120, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"payout {self.sub_order.number}: {self.amount_minor} {self.currency}"

    @transition(field=status, source=[S.PAID, S.PARTIALLY_REVERSED], target=S.PARTIALLY_REVERSED)
    def reverse_part(self) -> None:
        """Part of the payout was taken back (a return)."""

    @transition(field=status, source=[S.PAID, S.PARTIALLY_REVERSED], target=S.REVERSED)
    def reverse_all(self) -> None:
        """All of the payout was taken back."""


class SubOrderEvent(models.TextChoices):
    """What happens to a vendor's part of an order (rows in the order's history)."""

    FULFILMENT_REQUESTED = "fulfilment_requested", "Fulfilment requested"
    VENDOR_ACCEPTED = "vendor_accepted", "Vendor accepted"
    VENDOR_REJECTED = "vendor_rejected", "Vendor rejected"
    VENDOR_SHIPPED = "vendor_shipped", "Vendor shipped"
    CARRIER_IN_TRANSIT = "carrier_in_transit", "In transit"
    PACKAGE_DELIVERED = "package_delivered", "Package delivered"
    SUB_ORDER_CANCELLED = "sub_order_cancelled", "Sub-order cancelled"
    STOCK_RESERVED = "stock_reserved", "Stock reserved"
    STOCK_SHORT = "stock_short", "Out of stock"
    STOCK_RELEASED = "stock_released", "Stock released"
    PAYOUT_HOLD_CREATED = "payout_hold_created", "Payout held"
    PAYOUT_HOLD_REDUCED = "payout_hold_reduced", "Payout hold reduced"
    PAYOUT_HOLD_RELEASED = "payout_hold_released", "Payout hold released"
    PAYOUT_HOLD_CANCELLED = "payout_hold_cancelled", "Payout hold cancelled"
    PAYOUT_PAID = "payout_paid", "Payout paid"
    PAYOUT_REVERSED = "payout_reversed", "Payout reversed"


class VendorEvent(models.TextChoices):
    """What staff change in a vendor's settings (rows of ``VendorHistory``)."""

    SETTING_CHANGED = "setting_changed", "Setting changed"
    SECRET_ROTATED = "secret_rotated", "Callback secret rotated"


class VendorHistory(models.Model):
    """Who changed which of a vendor's settings, when, from what to what. Append-only; written
    only through ``core.history.history_write`` (by ``vendors.services``).

    ``old_value`` and ``new_value`` are the values as staff read them ("12.5 %"); a rotated
    callback secret is recorded as the event alone, never its value.
    """

    EVENTS = VendorEvent
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="history")
    event = models.CharField(max_length=60, choices=VendorEvent.choices)
    field = models.CharField(max_length=60, blank=True)
    old_value = models.CharField(max_length=300, blank=True)
    new_value = models.CharField(max_length=300, blank=True)
    # A vendor's settings have no status; the columns are the shape every history table shares.
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "vendor history"

    def __str__(self) -> str:
        return f"{self.vendor.handle} {self.event} {self.field}"


class StockReason(models.TextChoices):
    RECEIVED = "received", "Received"
    COUNT_CORRECTION = "count_correction", "Count correction"
    DAMAGED = "damaged", "Damaged"
    LOST = "lost", "Lost"
    RETURNED_TO_VENDOR = "returned_to_vendor", "Returned to vendor"


class StockAdjustment(models.Model):
    """A change of a product's units on hand made by staff, with its reason. Append-only;
    written only by ``vendors.stock.stock_adjust`` in the transaction that moves the stock."""

    R = StockReason
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="adjustments")
    delta = models.IntegerField(help_text="Units added (positive) or taken off (negative).")
    reason = models.CharField(max_length=30, choices=StockReason.choices)
    note = models.CharField(max_length=500, blank=True)
    on_hand_after = models.PositiveIntegerField()
    actor = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(delta=0), name="stock_adjustment_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} {self.delta:+d} ({self.reason})"
