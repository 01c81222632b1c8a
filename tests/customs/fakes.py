"""Offline stand-ins for the customs adapters (configured by dotted path in tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from orders.customs.rates import Rate

FAKE_RATES_DAY = dt.date(2026, 11, 30)


class FakeRatesProvider:
    """A reference-rate provider that never reaches the network (1 EUR = rate quote)."""

    name = "ecb"
    calls = 0

    def fetch(self) -> list[Rate]:
        type(self).calls += 1
        return [
            Rate("USD", Decimal("1.0512"), FAKE_RATES_DAY),
            Rate("GBP", Decimal("0.83215"), FAKE_RATES_DAY),
            Rate("CAD", Decimal("1.4730"), FAKE_RATES_DAY),
        ]
