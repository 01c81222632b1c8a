"""Duty and tax assessment per seeded destination, at, below and above each threshold.

Amounts in minor units of the destination's currency; each line names the rule that fired.
The seeded rules come from the data migration.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from orders.customs import duties, rates
from orders.customs.models import CurrencyRate, CustomsTerritory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 1)


def assess(country, value, *, currency=None, origin="DE", freight=0, region="", day=DAY,
           hs="851830", lines=1):  # fmt: skip
    territory = next(t for t in CustomsTerritory.objects.all() if country in t.members)
    currency = currency or territory.currency
    goods = [duties.GoodsLine(hs, "Headphones", 1, value // lines) for _ in range(lines)]
    goods[0] = duties.GoodsLine(hs, "Headphones", 1, value - (value // lines) * (lines - 1))

    def convert(amount, from_currency, to_currency):
        return rates.convert(
            amount_minor=amount, currency=from_currency, to_currency=to_currency, on=day
        )

    return duties.assess(
        territory=territory, country=country, region=region, origin=origin, goods=goods,
        currency=currency, freight_minor=freight, insurance_minor=0, day=day, convert=convert,
    )  # fmt: skip


def by_kind(result, kind):
    return [line for line in result.lines if line.kind == kind]


def one(result, kind):
    [line] = by_kind(result, kind)
    return line


@pytest.mark.parametrize("value", [14_999, 15_000])
def test_eu_at_or_below_150_vat_at_sale_duty_relief_and_flat_duty(value):
    result = assess("DE", value, freight=1_000, lines=2)
    vat = one(result, "vat")
    assert vat.rule.label == "Import VAT DE" and vat.collected == "at_sale"
    assert vat.amount_minor == round((value + 1_000) * 0.19)
    relief = by_kind(result, "duty")
    assert len(relief) == 2 and all(d.amount_minor == 0 and "relief" in d.label for d in relief)
    flat = one(result, "flat_duty")
    assert flat.amount_minor == 600 and flat.rule.valid_from == dt.date(2026, 7, 1)


def test_eu_above_150_vat_at_border_and_duty_by_tariff():
    result = assess("DE", 15_001)
    vat = one(result, "vat")
    assert vat.collected == "at_border" and vat.amount_minor == 2_850  # 150.01 x 19%, half-up
    duty = one(result, "duty")
    assert duty.amount_minor is None and "No tariff rate on file for heading 8518" in duty.note
    assert duty.rule.label == "EU customs duty"
    assert not by_kind(result, "flat_duty")
    assert result.incomplete


def test_eu_flat_duty_not_before_july_2026():
    result = assess("DE", 10_000, day=dt.date(2026, 6, 30))
    assert not by_kind(result, "flat_duty")


def test_eu_member_without_a_rate_on_file_says_so():
    from orders.customs.models import DutyTaxRule

    DutyTaxRule.objects.filter(kind="vat", country="HU").delete()  # staff removed the row
    vat = one(assess("HU", 5_000), "vat")
    assert vat.amount_minor is None and vat.rule.label == "EU import VAT"


def test_eu_tariff_rate_per_heading_when_staff_add_one():
    from orders.customs.models import DutyTaxRule

    DutyTaxRule.objects.create(
        territory=CustomsTerritory.objects.get(code="EU"), kind="duty", label="EU duty 8518",
        hs_prefix="8518", rate_bp=200, threshold_currency="EUR", value_above_minor=15_000,
        valid_from=dt.date(2024, 1, 1),
    )  # fmt: skip
    result = assess("DE", 20_000)
    duty = one(result, "duty")
    assert duty.amount_minor == 400 and duty.rule.label == "EU duty 8518"
    assert one(result, "vat").amount_minor == round((20_000 + 400) * 0.19)  # VAT on value + duty


@pytest.mark.parametrize(
    ("value", "collected", "duty_due"), [(13_499, "at_sale", False), (13_500, "at_sale", False),
                                         (13_501, "at_border", True)],
)  # fmt: skip
def test_uk_135_pounds(value, collected, duty_due):
    result = assess("GB", value)
    vat = one(result, "vat")
    assert vat.rule.label == "UK import VAT" and vat.collected == collected
    assert vat.amount_minor == (value * 2_000 + 5_000) // 10_000
    duty = one(result, "duty")
    assert (duty.amount_minor is None) is duty_due


@pytest.mark.parametrize("value", [1, 80_000, 80_001])
def test_us_duty_on_every_parcel_since_the_de_minimis_suspension(value):
    duty = one(assess("US", value), "duty")
    assert duty.rule.label == "US customs duty (no de minimis)" and duty.amount_minor is None
    assert not by_kind(assess("US", value), "vat")


@pytest.mark.parametrize(("value", "relief"), [(79_999, True), (80_000, True), (80_001, False)])
def test_us_de_minimis_800_before_29_august_2025(value, relief):
    duty = one(assess("US", value, day=dt.date(2025, 8, 28)), "duty")
    assert duty.rule.label == "US customs duty (de minimis USD 800)"
    assert (duty.amount_minor == 0) is relief


@pytest.mark.parametrize(
    ("value", "gst"), [(3_999, 0), (4_000, 0), (4_001, 200), (15_000, 750), (15_001, 750)]
)
def test_canada_from_the_us_tax_free_40_and_duty_free_150(value, gst):
    result = assess("CA", value, origin="US")
    vat = one(result, "vat")
    assert vat.rule.label == "Canada GST 5%" and vat.amount_minor == gst
    duty = one(result, "duty")
    assert (duty.amount_minor is None) is (value > 15_000)


def test_canada_ontario_hst_replaces_gst():
    vat = one(assess("CA", 10_000, origin="US", region="CA-ON"), "vat")
    assert vat.rule.label == "Ontario HST 13%" and vat.amount_minor == 1_300


def test_canada_from_outside_cusma_has_no_seeded_rule():
    [line] = assess("CA", 10_000, origin="DE").lines
    assert line.rule is None and "broker assesses" in line.note


@pytest.mark.parametrize(
    ("value", "collected", "duty_due"), [(99_999, "at_sale", False), (100_000, "at_sale", False),
                                         (100_001, "at_border", True)],
)  # fmt: skip
def test_australia_1000_dollars(value, collected, duty_due):
    result = assess("AU", value)
    vat = one(result, "vat")
    assert vat.collected == collected and vat.amount_minor == (value * 1_000 + 5_000) // 10_000
    assert (one(result, "duty").amount_minor is None) is duty_due


@pytest.mark.parametrize(("value", "tax"), [(9_999, 0), (10_000, 0), (10_001, 1_000)])
def test_japan_exempt_up_to_10000_yen(value, tax):
    result = assess("JP", value)
    assert one(result, "vat").amount_minor == tax
    assert (one(result, "duty").amount_minor is None) is (value > 10_000)


@pytest.mark.parametrize(
    ("value", "vat"), [(6_000, 0), (6_172, 0), (6_178, 0), (6_180, 501), (6_200, 502)]
)
def test_switzerland_vat_not_levied_up_to_5_francs(value, vat):
    line = one(assess("CH", value), "vat")
    assert line.rule.label == "Swiss import VAT 8.1%" and line.amount_minor == vat


def test_switzerland_reduced_rate_for_books():
    line = one(assess("CH", 30_000, hs="490199"), "vat")
    assert line.rule.label == "Swiss import VAT 2.6% (books)" and line.amount_minor == 780


def test_thresholds_compare_the_converted_value_and_record_the_rate(db):
    CurrencyRate.objects.create(quote="GBP", rate=Decimal("0.8500"), rate_date=DAY)
    # EUR 158.82 = GBP 135.00 (at 0.85): at the UK threshold, VAT still at sale
    result = assess("GB", 15_882, currency="EUR")
    assert one(result, "vat").collected == "at_sale"
    conversions = dict(result.conversions)
    assert {"goods value for thresholds", "duty base 851830", "VAT base 851830"} <= set(conversions)
    conversion = conversions["goods value for thresholds"]
    assert conversion.rate == Decimal("0.85") and conversion.rate_date == DAY
    assert conversion.converted_minor == 13_500
    result = assess("GB", 15_884, currency="EUR")  # GBP 135.01
    assert one(result, "vat").collected == "at_border"
