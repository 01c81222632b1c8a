"""The customs rule set to start from: embargoes, customs territories, duty and tax thresholds
and rates. Loaded by a data migration (with historical models) and editable by staff after.

Figures and dates come from public law; each row names its source. National tariff rates per
HS heading are not seeded: duty lines show "assessed by the broker" until staff add them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

D = dt.date

EU_MEMBERS = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]  # fmt: skip

TERRITORIES = [
    # code, name, members, currency, default Incoterm
    ("EU", "European Union customs union", EU_MEMBERS, "EUR", "DAP"),
    ("GB", "United Kingdom", ["GB"], "GBP", "DAP"),
    ("US", "United States", ["US"], "USD", "DAP"),
    ("CA", "Canada", ["CA"], "CAD", "DAP"),
    ("AU", "Australia", ["AU"], "AUD", "DAP"),
    ("JP", "Japan", ["JP"], "JPY", "DAP"),
    ("CH", "Switzerland and Liechtenstein", ["CH", "LI"], "CHF", "DAP"),
]

RESTRICTIONS = [
    # country, region, reason, valid from, source
    ("CU", "", "Comprehensive embargo: Cuba", D(2020, 1, 1), "US Cuban Assets Control Regs"),
    ("IR", "", "Comprehensive embargo: Iran", D(2020, 1, 1), "US Iranian Transactions Regs"),
    ("KP", "", "Comprehensive embargo: North Korea", D(2020, 1, 1), "UN SC Res. 1718 ff."),
    ("UA", "UA-43", "Comprehensive embargo: Crimea", D(2014, 6, 23), "EU Reg. 692/2014"),
    ("UA", "UA-14", "Comprehensive embargo: Donetsk region", D(2022, 2, 23), "EU Reg. 2022/263"),
    ("UA", "UA-09", "Comprehensive embargo: Luhansk region", D(2022, 2, 23), "EU Reg. 2022/263"),
]

# Standard VAT rates of the first twelve EU members seeded (0008). Migration 0010 seeds the
# standard rate of all 27 members from the European Commission's list, with the date each came
# into force, and Canada's HST by province.
EU_VAT_BP = {
    "AT": 2000, "BE": 2100, "DE": 1900, "DK": 2500, "ES": 2100, "FR": 2000,
    "IE": 2300, "IT": 2200, "NL": 2100, "PL": 2300, "PT": 2300, "SE": 2500,
}  # fmt: skip

EU_SOURCE = "EU VAT e-commerce package (Dir. 2017/2455), Reg. 1186/2009 art. 23"


def rules() -> list[dict[str, Any]]:
    """Duty and tax rules as field dicts (``territory`` is the territory code)."""
    rows: list[dict[str, Any]] = [
        # ---- EU: VAT from the first euro, IOSS up to EUR 150; duty relief up to EUR 150.
        dict(
            territory="EU",
            kind="duty",
            label="EU customs duty",
            threshold_currency="EUR",
            value_above_minor=15_000,
            valid_from=D(2021, 7, 1),
            source=EU_SOURCE,
        ),
        dict(
            territory="EU",
            kind="flat_duty",
            label="EU flat duty on low-value parcels",
            threshold_currency="EUR",
            flat_minor=300,
            value_up_to_minor=15_000,
            valid_from=D(2026, 7, 1),
            source="Council agreement of 12 Dec 2025: EUR 3 per item line from 1 July 2026",
        ),
        dict(
            territory="EU",
            kind="vat",
            label="EU import VAT",
            threshold_currency="EUR",
            at_sale_up_to_minor=15_000,
            valid_from=D(2021, 7, 1),
            source=EU_SOURCE,
        ),
    ]
    for country, rate in sorted(EU_VAT_BP.items()):
        rows.append(
            dict(
                territory="EU",
                country=country,
                kind="vat",
                label=f"Import VAT {country}",
                rate_bp=rate,
                threshold_currency="EUR",
                at_sale_up_to_minor=15_000,
                valid_from=D(2021, 7, 1),
                source=f"{EU_SOURCE}; standard rate {country}",
            )
        )
    rows += [
        # ---- UK: VAT 20% charged at sale up to GBP 135; duty above GBP 135.
        dict(territory="GB", kind="duty", label="UK customs duty", threshold_currency="GBP",
             value_above_minor=13_500, valid_from=D(2021, 1, 1),
             source="HMRC: goods sent from abroad, GBP 135 threshold"),
        dict(territory="GB", kind="vat", label="UK import VAT", rate_bp=2000,
             threshold_currency="GBP", at_sale_up_to_minor=13_500, valid_from=D(2021, 1, 1),
             source="HMRC VAT Notice 143 / GBP 135 rule"),
        # ---- US: de minimis USD 800 until it was suspended on 29 Aug 2025.
        dict(territory="US", kind="duty", label="US customs duty (de minimis USD 800)",
             threshold_currency="USD", value_above_minor=80_000, valid_from=D(2016, 3, 10),
             valid_to=D(2025, 8, 28), source="19 U.S.C. 1321 (Trade Facilitation Act 2015)"),
        dict(territory="US", kind="duty", label="US customs duty (no de minimis)",
             threshold_currency="USD", valid_from=D(2025, 8, 29),
             source="Executive Order 14324: de minimis suspended from 29 Aug 2025"),
        # ---- Canada, courier shipments from the US or Mexico (CUSMA).
        dict(territory="CA", kind="duty", label="Canada customs duty", threshold_currency="CAD",
             value_above_minor=15_000, origin_countries=["US", "MX"], valid_from=D(2020, 7, 1),
             source="CBSA D8-2-16: CUSMA courier low value shipments"),
        dict(territory="CA", kind="vat", label="Canada GST 5%", rate_bp=500,
             threshold_currency="CAD", value_above_minor=4_000, origin_countries=["US", "MX"],
             valid_from=D(2020, 7, 1), source="CBSA D8-2-16; Excise Tax Act GST 5%"),
        dict(territory="CA", region="CA-ON", country="CA", kind="vat", label="Ontario HST 13%",
             rate_bp=1300, threshold_currency="CAD", value_above_minor=4_000,
             origin_countries=["US", "MX"], valid_from=D(2020, 7, 1),
             source="CBSA D8-2-16; HST Ontario 13%"),
        # ---- Australia: GST 10% at sale up to AUD 1,000; duty and GST at the border above.
        dict(territory="AU", kind="duty", label="Australian customs duty",
             threshold_currency="AUD", value_above_minor=100_000, valid_from=D(2018, 7, 1),
             source="ABF: goods above AUD 1,000"),
        dict(territory="AU", kind="vat", label="Australian GST 10%", rate_bp=1000,
             threshold_currency="AUD", at_sale_up_to_minor=100_000, valid_from=D(2018, 7, 1),
             source="ATO: GST on low value imported goods"),
        # ---- Japan: exempt up to JPY 10,000; consumption tax 10%.
        dict(territory="JP", kind="duty", label="Japanese customs duty",
             threshold_currency="JPY", value_above_minor=10_000, valid_from=D(2019, 10, 1),
             source="Japan Customs: small-value exemption JPY 10,000"),
        dict(territory="JP", kind="vat", label="Japanese consumption tax 10%", rate_bp=1000,
             threshold_currency="JPY", value_above_minor=10_000, valid_from=D(2019, 10, 1),
             source="Japan Customs; consumption tax 10% from 1 Oct 2019"),
        # ---- Switzerland: VAT 8.1% (2.6% reduced), not levied when at most CHF 5.
        dict(territory="CH", kind="duty", label="Swiss customs duty (by weight)",
             threshold_currency="CHF", valid_from=D(2024, 1, 1),
             source="Swiss tariff Tares: duty per gross weight and heading"),
        dict(territory="CH", kind="vat", label="Swiss import VAT 8.1%", rate_bp=810,
             threshold_currency="CHF", waived_up_to_minor=500, valid_from=D(2024, 1, 1),
             source="BAZG: import VAT 8.1%; amounts up to CHF 5 not levied"),
        dict(territory="CH", kind="vat", label="Swiss import VAT 2.6% (books)", rate_bp=260,
             hs_prefix="4901", threshold_currency="CHF", waived_up_to_minor=500,
             valid_from=D(2024, 1, 1), source="BAZG: reduced rate 2.6% (printed books)"),
    ]  # fmt: skip
    return rows


def load(
    *, territory_model: Any, rule_model: Any, restriction_model: Any, actor: str = "seed"
) -> None:
    """Create the seed rows that are missing (safe to run again)."""
    territories = {}
    for code, name, members, currency, incoterm in TERRITORIES:
        territories[code], _ = territory_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "members": members,
                "currency": currency,
                "default_incoterm": incoterm,
            },
        )
    for country, region, reason, valid_from, source in RESTRICTIONS:
        restriction_model.objects.get_or_create(
            kind="embargo",
            country=country,
            region=region,
            hs_prefix="",
            valid_from=valid_from,
            defaults={"reason": reason, "source": source, "updated_by": actor},
        )
    for row in rules():
        row = dict(row)
        territory = territories[row.pop("territory")]
        key = {
            "territory": territory,
            "kind": row["kind"],
            "country": row.pop("country", ""),
            "region": row.pop("region", ""),
            "hs_prefix": row.pop("hs_prefix", ""),
            "valid_from": row.pop("valid_from"),
        }
        rule_model.objects.get_or_create(**key, defaults={**row, "updated_by": actor})
