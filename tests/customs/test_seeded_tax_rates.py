"""The seeded VAT of all EU member states and Canada's GST/HST by province (data migration 0010).

Amounts in minor units of the destination's currency, at, below and above each threshold; each
line names the rule that fired.
"""

from __future__ import annotations

import datetime as dt

import pycountry
import pytest

from orders.customs.models import CustomsTerritory, DutyTaxRule

from .conftest import rates_migration
from .test_duties import DAY, assess, by_kind, one

pytestmark = pytest.mark.django_db

migration = rates_migration()
EU_RATES = {country: (rate, since) for country, rate, since in migration.EU_STANDARD_VAT}


def vat_of(value: int, rate_bp: int) -> int:
    return (value * rate_bp + 5_000) // 10_000  # half-up


def test_the_table_covers_exactly_the_27_members_with_iso_codes():
    members = CustomsTerritory.objects.get(code="EU").members
    assert len(members) == 27 and sorted(EU_RATES) == sorted(members)
    assert all(pycountry.countries.get(alpha_2=code) for code in EU_RATES)


@pytest.mark.parametrize("country", sorted(EU_RATES))
def test_every_member_state_has_its_standard_rate_in_force(country):
    rate, since = EU_RATES[country]
    [rule] = DutyTaxRule.objects.in_force(DAY).filter(kind="vat", country=country)
    assert rule.rate_bp == rate and rule.valid_from == since
    assert rule.source.startswith("European Commission, VAT rates applied in the Member States")
    vat = one(assess(country, 10_000), "vat")
    assert vat.rule == rule and vat.label == f"Import VAT {country}"
    assert vat.amount_minor == vat_of(10_000, rate) and vat.collected == "at_sale"


@pytest.mark.parametrize(
    ("country", "rate", "since"),
    [("FI", 2550, dt.date(2024, 9, 1)), ("EE", 2400, dt.date(2025, 7, 1)),
     ("SK", 2300, dt.date(2025, 1, 1)), ("RO", 2100, dt.date(2025, 8, 1)),
     ("LU", 1700, dt.date(2024, 1, 1))],
)  # fmt: skip
def test_recent_changes_are_seeded_from_their_date(country, rate, since):
    assert one(assess(country, 10_000, day=since), "vat").amount_minor == vat_of(10_000, rate)
    # The day before, the rate then in force is not seeded: the broker assesses it.
    before = one(assess(country, 10_000, day=since - dt.timedelta(days=1)), "vat")
    assert before.rule.label == "EU import VAT" and before.amount_minor is None


@pytest.mark.parametrize(
    ("value", "collected", "flat_duty"),
    [(14_999, "at_sale", 300), (15_000, "at_sale", 300), (15_001, "at_border", None)],
)
def test_ioss_150_euros_and_the_flat_duty_for_a_newly_seeded_member(value, collected, flat_duty):
    result = assess("HU", value)
    vat = one(result, "vat")
    assert vat.label == "Import VAT HU" and vat.collected == collected
    assert vat.amount_minor == vat_of(value, 2700)
    flat = by_kind(result, "flat_duty")
    assert [line.amount_minor for line in flat] == ([flat_duty] if flat_duty else [])
    duty = one(result, "duty")
    if value <= 15_000:
        assert duty.label == "EU customs duty: relief" and duty.amount_minor == 0
    else:
        assert duty.rule.label == "EU customs duty" and duty.amount_minor is None


def test_the_rerun_of_the_migration_adds_nothing():
    assert migration.load(territory_model=CustomsTerritory, rule_model=DutyTaxRule) == 0


HST = [("CA-ON", 1300, "Ontario HST 13%"), ("CA-NB", 1500, "New Brunswick HST 15%"),
       ("CA-NL", 1500, "Newfoundland and Labrador HST 15%"),
       ("CA-PE", 1500, "Prince Edward Island HST 15%"), ("CA-NS", 1400, "Nova Scotia HST 14%"),
       ("CA-QC", 500, "Canada GST 5%"), ("CA-BC", 500, "Canada GST 5%")]  # fmt: skip
VALUES = [3_999, 4_000, 4_001, 14_999, 15_000, 15_001]


@pytest.mark.parametrize(("region", "rate", "label"), HST)
@pytest.mark.parametrize("value", VALUES)
def test_canada_tax_free_40_duty_free_150_by_province(region, rate, label, value):
    result = assess("CA", value, origin="US", region=region)
    vat = one(result, "vat")
    assert vat.rule.label == label and vat.collected == "at_border"
    if value <= 4_000:
        assert vat.amount_minor == 0 and vat.label == f"{label}: exempt"
    else:
        assert vat.amount_minor == vat_of(value, rate) and vat.label == label
    duty = one(result, "duty")
    assert duty.rule.label == "Canada customs duty"
    if value <= 15_000:
        assert duty.amount_minor == 0 and "relief" in duty.label
    else:
        assert duty.amount_minor is None and "assessed by the broker" in duty.note


@pytest.mark.parametrize(
    ("day", "rate", "label"),
    [(dt.date(2025, 3, 31), 1500, "Nova Scotia HST 15%"),
     (dt.date(2025, 4, 1), 1400, "Nova Scotia HST 14%")],
)  # fmt: skip
def test_nova_scotia_hst_went_to_14_percent_on_1_april_2025(day, rate, label):
    vat = one(assess("CA", 10_000, origin="MX", region="CA-NS", day=day), "vat")
    assert vat.rule.label == label and vat.amount_minor == vat_of(10_000, rate)


def test_canadian_regions_are_iso_3166_2_subdivisions():
    regions = [row[0] for row in migration.CANADA_SALES_TAX if row[0]]
    names = {r: pycountry.subdivisions.get(code=r).name for r in regions}
    assert names["CA-PE"] == "Prince Edward Island"
    rules = DutyTaxRule.objects.filter(territory__code="CA", kind="vat").exclude(region="")
    assert sorted(set(rules.values_list("region", flat=True))) == sorted(set(regions))
