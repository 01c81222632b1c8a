"""Factories and builders for marketplace tests (vendors, products, stock, users, orders)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from config.roles import SUPPORT, VENDORS
from orders.models import Customer
from vendors.models import Product, StockItem, Vendor, VendorMembership


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    handle = factory.Sequence(lambda n: f"vendor-{n}")
    name = factory.Sequence(lambda n: f"Vendor {n}")
    commission_rate_bp = 1500
    sla_hours = 24
    callback_secret = factory.Sequence(lambda n: f"secret-{n}")
    payout_account_id = factory.Sequence(lambda n: f"acct_{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    vendor = factory.SubFactory(VendorFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    hs_code = "851830"
    origin_country = "DE"
    weight_grams = 300
    price_minor = 10_000
    currency = "EUR"

    @factory.post_generation
    def stock(self, create, extracted, **kwargs):
        if create:
            StockItem.objects.create(product=self, on_hand=10 if extracted is None else extracted)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = "Lena Fischer"
    country = "DE"


def make_user(username: str, *, role: str | None = None, vendor: Vendor | None = None):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-1")
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if vendor is not None:
        user.groups.add(Group.objects.get_or_create(name=VENDORS)[0])
        VendorMembership.objects.create(user=user, vendor=vendor)
    return user


def make_staff(username: str = "sam"):
    return make_user(username, role=SUPPORT)
