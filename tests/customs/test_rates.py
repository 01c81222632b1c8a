"""Currency rates: the ECB XML adapter (with a fake feed, no network) and recorded conversion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import ApplicationError
from orders.customs import rates
from orders.customs.models import CurrencyRate

pytestmark = pytest.mark.django_db

ECB_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
  xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <Cube><Cube time="2026-11-30">
    <Cube currency="USD" rate="1.0512"/><Cube currency="JPY" rate="158.31"/>
    <Cube currency="GBP" rate="0.83215"/>
  </Cube></Cube>
</gesmes:Envelope>"""


class FakeEcb:
    name = "ecb"

    def __init__(self, xml: bytes = ECB_XML) -> None:
        self.xml = xml
        self.calls = 0

    def fetch(self):
        self.calls += 1
        return rates.parse_ecb_xml(self.xml)


def test_refresh_stores_dated_rows_once():
    provider = FakeEcb()
    assert rates.rates_refresh(provider=provider) == 3
    assert rates.rates_refresh(provider=provider) == 0
    usd = CurrencyRate.objects.get(quote="USD")
    assert usd.rate == Decimal("1.0512") and usd.rate_date == dt.date(2026, 11, 30)


def test_a_feed_without_rates_is_refused():
    with pytest.raises(ValueError, match="no reference rates"):
        rates.parse_ecb_xml(b"<Envelope><Cube/></Envelope>")


def test_the_http_provider_reads_the_feed(monkeypatch):
    class Response:
        content = ECB_XML

        def raise_for_status(self):
            return None

    seen = {}

    def fake_get(url, timeout):
        seen.update(url=url, timeout=timeout)
        return Response()

    monkeypatch.setattr(rates.requests, "get", fake_get)
    assert len(rates.EcbRatesProvider().fetch()) == 3
    assert seen["url"] == rates.ECB_DAILY_URL and seen["timeout"] == 10.0


def test_conversion_uses_the_latest_rate_on_or_before_the_day_and_rounds_half_up():
    rates.rates_refresh(provider=FakeEcb())
    conversion = rates.convert(
        amount_minor=10_000, currency="EUR", to_currency="JPY", on=dt.date(2026, 12, 2)
    )
    assert conversion.converted_minor == 15_831  # JPY has no minor unit
    assert conversion.rate_date == dt.date(2026, 11, 30) and conversion.source == "ecb"
    cross = rates.convert(
        amount_minor=10_000, currency="USD", to_currency="GBP", on=dt.date(2026, 12, 1)
    )
    assert cross.converted_minor == 7_916  # 100 USD / 1.0512 * 0.83215 = 79.162...


def test_no_rate_or_a_stale_rate_is_an_error():
    rates.rates_refresh(provider=FakeEcb())
    with pytest.raises(ApplicationError, match="No EUR/USD"):
        rates.convert(amount_minor=1, currency="EUR", to_currency="USD", on=dt.date(2026, 11, 1))
    with pytest.raises(ApplicationError, match="No EUR/USD"):
        rates.convert(amount_minor=1, currency="EUR", to_currency="USD", on=dt.date(2027, 1, 31))
