"""factory_boy factories of the orders app (vendors' are in tests/vendors/factories.py, users'
in tests/factories.py)."""

from __future__ import annotations

import factory

from orders.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = "Lena Fischer"
    country = "DE"
