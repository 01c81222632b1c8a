"""Customers, orders, money movements and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from vendors.models import (
    Product,
    SubOrderEvent,
    Vendor,
    VendorSubOrder,
    country_validator,
    currency_validator,
)


class Customer(models.Model):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, validators=[country_validator])
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class OrderStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PAID = "paid", "Paid"
    COMPLETED = "completed", "Completed"
    PAYMENT_DECLINED = "payment_declined", "Payment declined"
    CANCELLED = "cancelled", "Cancelled"


class Order(ConcurrentTransitionMixin, models.Model):
    S = OrderStatus
    number = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    currency = models.CharField(max_length=3, validators=[currency_validator])
    subtotal_minor = models.BigIntegerField()
    shipping_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()
    shipping_address = models.JSONField(default=dict)
    status = FSMField(default=S.RECEIVED, choices=S.choices, protected=True)
    payment_method = models.CharField(max_length=80, help_text="Provider token of the card.")
    # The workflow behind the order: {"instance_key", "process_id", "version"}.
    metadata = models.JSONField(default=dict, blank=True)
    process_instance_key = models.BigIntegerField(null=True, blank=True, db_index=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.number

    @transition(field=status, source=S.RECEIVED, target=S.PAID)
    def mark_paid(self) -> None:
        """The charge was captured."""

    @transition(field=status, source=S.RECEIVED, target=S.PAYMENT_DECLINED)
    def decline(self) -> None:
        """The card was declined: the order ends without any money moved."""

    @transition(field=status, source=S.PAID, target=S.COMPLETED)
    def complete(self) -> None:
        """Every vendor part ended (delivered and paid out, or compensated)."""

    @transition(field=status, source=[S.RECEIVED, S.PAID], target=S.CANCELLED)
    def cancel(self) -> None:
        """The whole order was cancelled; everything done is undone."""


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    sub_order = models.ForeignKey(
        VendorSubOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="lines"
    )
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class ChargeStatus(models.TextChoices):
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    DECLINED = "declined", "Declined"


class Charge(ConcurrentTransitionMixin, models.Model):
    """The one charge of an order at the payment provider."""

    S = ChargeStatus
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="charge")
    provider = models.CharField(max_length=30)
    provider_charge_id = models.CharField(max_length=120, blank=True)
    amount_minor = models.BigIntegerField()
    refunded_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, validators=[currency_validator])
    status = FSMField(default=S.CAPTURED, choices=S.choices, protected=True)
    decline_code = models.CharField(max_length=60, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"charge {self.order.number}: {self.amount_minor} {self.currency} {self.status}"

    @transition(
        field=status, source=[S.CAPTURED, S.PARTIALLY_REFUNDED], target=S.PARTIALLY_REFUNDED
    )
    def refund_part(self) -> None:
        """Part of the charge went back to the customer."""

    @transition(field=status, source=[S.CAPTURED, S.PARTIALLY_REFUNDED], target=S.REFUNDED)
    def refund_all(self) -> None:
        """All of the charge went back to the customer."""


class Refund(models.Model):
    """Money returned to the customer; keyed so that repeating a job never refunds twice."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    sub_order = models.ForeignKey(
        VendorSubOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, validators=[currency_validator])
    reason = models.CharField(max_length=200)
    provider_refund_id = models.CharField(max_length=120, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refund {self.order.number}: {self.amount_minor} {self.currency}"


class OrderEvent(models.TextChoices):
    """What happens to an order as a whole (its vendor parts' events are ``SubOrderEvent``)."""

    ORDER_PLACED = "order_placed", "Order placed"
    PROCESS_STARTED = "process_started", "Process started"
    PAYMENT_CAPTURED = "payment_captured", "Payment captured"
    PAYMENT_DECLINED = "payment_declined", "Payment declined"
    REFUND_ISSUED = "refund_issued", "Refund issued"
    CANCELLATION_REQUESTED = "cancellation_requested", "Cancellation requested"
    ORDER_CANCELLED = "order_cancelled", "Order cancelled"
    ORDER_COMPLETED = "order_completed", "Order completed"
    CUSTOMER_NOTIFIED = "customer_notified", "Customer notified"
    RETURN_REQUESTED = "return_requested", "Return requested"
    RETURN_VENDOR_SHARE_REVERSED = "return_vendor_share_reversed", "Vendor share of a return"


class OrderHistory(models.Model):
    """Who did what to an order (or one of its sub-orders), and when. Append-only.

    Written only through ``orders.history.order_history_write``.
    """

    EVENTS = (OrderEvent, SubOrderEvent)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    sub_order = models.ForeignKey(
        VendorSubOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="history"
    )
    event = models.CharField(max_length=60, choices=OrderEvent.choices + SubOrderEvent.choices)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order.number} {self.event}"
