"""Reads about vendors, scoped to who is asking."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from .models import Payout, PayoutHold, Product, Vendor, VendorSubOrder


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


def sub_orders_for_user(*, user: Any, status: str = "") -> QuerySet[VendorSubOrder]:
    """Sub-orders of the vendors the user acts for (nothing for anyone else)."""
    sub_orders = VendorSubOrder.objects.filter(vendor__in=vendors_of_user(user=user))
    if status:
        sub_orders = sub_orders.filter(status=status)
    return sub_orders.select_related("vendor", "order").order_by("-created_at", "number")


def sub_order_for_user(*, user: Any, number: str) -> VendorSubOrder:
    """One of the user's vendors' sub-orders; 404 for any other (never reveal that it exists)."""
    sub_order = (
        sub_orders_for_user(user=user)
        .prefetch_related("lines", "history")
        .filter(number=number)
        .first()
    )
    if sub_order is None:
        raise Http404("No such sub-order.")
    return sub_order


def payout_holds_for_user(*, user: Any) -> QuerySet[PayoutHold]:
    return (
        PayoutHold.objects.filter(sub_order__vendor__in=vendors_of_user(user=user))
        .select_related("sub_order", "sub_order__vendor")
        .order_by("-created_at")
    )


def payouts_for_user(*, user: Any) -> QuerySet[Payout]:
    return (
        Payout.objects.filter(sub_order__vendor__in=vendors_of_user(user=user))
        .select_related("sub_order", "sub_order__vendor")
        .order_by("-created_at")
    )
