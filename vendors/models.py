"""Vendors and their people and products."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

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
