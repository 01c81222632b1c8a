"""Currency rates as dated rows, a provider port (ECB reference rates) and recorded conversion.

The ECB publishes euro reference rates each working day around 16:00 CET as XML
(https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html).
Every conversion names the rate and the rate's date it used, so a document can be re-checked.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

import requests
from babel.numbers import get_currency_precision
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from core.errors import ApplicationError

from .models import CurrencyRate

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
ECB_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
# A rate older than this on the day of a conversion is too stale to use.
MAX_RATE_AGE_DAYS = 10


@dataclass(frozen=True)
class Rate:
    quote: str
    rate: Decimal
    rate_date: dt.date


class RatesProvider(Protocol):
    name: str

    def fetch(self) -> list[Rate]: ...


def parse_ecb_xml(xml: str | bytes) -> list[Rate]:
    """The rates of an ECB ``eurofxref`` document (1 EUR = rate quote)."""
    root = ET.fromstring(xml)  # noqa: S314 (the standard library refuses external entities)
    rates: list[Rate] = []
    for day in root.iter(f"{ECB_NS}Cube"):
        when = day.get("time")
        if not when:
            continue
        rate_date = dt.date.fromisoformat(when)
        for cube in day:
            currency, value = cube.get("currency"), cube.get("rate")
            if currency and value:
                rates.append(Rate(currency.upper(), Decimal(value), rate_date))
    if not rates:
        raise ValueError("The document has no reference rates.")
    return rates


class EcbRatesProvider:
    """Reads the ECB's daily reference-rate XML over HTTP."""

    name = "ecb"

    def __init__(self, url: str = ECB_DAILY_URL, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def fetch(self) -> list[Rate]:
        response = requests.get(self.url, timeout=self.timeout)
        response.raise_for_status()
        return parse_ecb_xml(response.content)


def rates_store(*, rates: list[Rate], source: str) -> int:
    """Store rates (one row per base, quote, day and source); returns how many were new."""
    created = 0
    with transaction.atomic():
        for rate in rates:
            _row, was_created = CurrencyRate.objects.get_or_create(
                base="EUR",
                quote=rate.quote,
                rate_date=rate.rate_date,
                source=source,
                defaults={"rate": rate.rate},
            )
            created += int(was_created)
    return created


def get_rates_provider() -> RatesProvider:
    """The configured provider: ``CUSTOMS_RATES_PROVIDER`` is ``"ecb"`` (the default, over HTTP)
    or the dotted path of a class whose instances have ``name`` and ``fetch()``."""
    kind = getattr(settings, "CUSTOMS_RATES_PROVIDER", "ecb") or "ecb"
    if kind == "ecb":
        return EcbRatesProvider(getattr(settings, "CUSTOMS_RATES_URL", ECB_DAILY_URL))
    provider: RatesProvider = import_string(kind)()
    return provider


def rates_refresh(*, provider: RatesProvider | None = None) -> int:
    """Fetch today's rates from the provider (the configured one unless told) and store them."""
    provider = provider or get_rates_provider()
    return rates_store(rates=provider.fetch(), source=provider.name)


def minor_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


@dataclass(frozen=True)
class Conversion:
    amount_minor: int
    currency: str
    converted_minor: int
    to_currency: str
    rate: Decimal  # 1 ``currency`` = rate ``to_currency``
    rate_date: dt.date
    source: str


def _eur_rate(currency: str, on: dt.date) -> tuple[Decimal, dt.date, str]:
    if currency == "EUR":
        return Decimal(1), on, "identity"
    row = (
        CurrencyRate.objects.filter(base="EUR", quote=currency, rate_date__lte=on)
        .order_by("-rate_date")
        .first()
    )
    if row is None or (on - row.rate_date).days > MAX_RATE_AGE_DAYS:
        raise ApplicationError(
            f"No EUR/{currency} reference rate on file for {on.isoformat()}.", code="no_rate"
        )
    return Decimal(row.rate), row.rate_date, row.source


def convert(*, amount_minor: int, currency: str, to_currency: str, on: dt.date) -> Conversion:
    """Convert minor units between currencies through EUR reference rates, rounded half-up."""
    if currency == to_currency:
        return Conversion(amount_minor, currency, amount_minor, to_currency, Decimal(1), on, "")
    from_rate, from_date, from_source = _eur_rate(currency, on)
    to_rate, to_date, to_source = _eur_rate(to_currency, on)
    rate = to_rate / from_rate
    major = Decimal(amount_minor).scaleb(-minor_digits(currency))
    converted = (major * rate).scaleb(minor_digits(to_currency))
    converted_minor = int(converted.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    source = to_source if from_source == "identity" else from_source
    return Conversion(
        amount_minor,
        currency,
        converted_minor,
        to_currency,
        rate.quantize(Decimal("0.000000000001")),
        min(from_date, to_date),
        source,
    )
