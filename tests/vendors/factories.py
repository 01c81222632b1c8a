"""factory_boy factories of the vendors app: vendors and their products (with stock)."""

from __future__ import annotations

import factory

from vendors.models import Product, StockItem, Vendor


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
