"""Reads for the back-office pages."""

from __future__ import annotations

from typing import Any

from vendors.models import Product, Vendor

from .models import Customer


def dashboard_figures() -> list[dict[str, Any]]:
    """Headline counts for the staff dashboard."""
    return [
        {"label": "Active vendors", "value": Vendor.objects.filter(is_active=True).count()},
        {"label": "Products", "value": Product.objects.filter(is_active=True).count()},
        {"label": "Customers", "value": Customer.objects.count()},
    ]
