"""Reads about vendors, scoped to who is asking."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Product, Vendor


def vendors_of_user(*, user: Any) -> QuerySet[Vendor]:
    """The vendors a user acts for (through a vendor membership)."""
    if not user.is_authenticated:
        return Vendor.objects.none()
    return Vendor.objects.filter(memberships__user=user, is_active=True)


def catalog_products(*, search: str = "") -> QuerySet[Product]:
    products = Product.objects.select_related("vendor").filter(is_active=True)
    if search:
        products = products.filter(name__icontains=search) | products.filter(sku__icontains=search)
    return products
