"""Standard import VAT of all 27 EU member states and Canada's GST and HST by province; the
shipment history's events about the start of its customs process.

Two tables of tuples, one loop each; rows that exist already (0008 seeded twelve member states,
the GST and Ontario) are found, not duplicated. Country and region codes are checked against
ISO 3166 (pycountry) and the labels take their names from it. Each rate is the one in force now,
from the day it took effect; the EU rows start no earlier than 1 July 2021, when import VAT became
due from the first euro (IOSS up to EUR 150).
"""

import datetime as dt

import pycountry
from django.db import migrations, models

D = dt.date
IOSS_START = D(2021, 7, 1)
EC_LIST = (
    "European Commission, VAT rates applied in the Member States of the European Union "
    "(taxation-customs.ec.europa.eu)"
)
# European Commission list (EC_LIST) for every row of this table.
EU_STANDARD_VAT = [
    # member state, standard rate (basis points), in force from
    ("AT", 2000, IOSS_START),  # EC list: Austria 20%
    ("BE", 2100, IOSS_START),  # EC list: Belgium 21%
    ("BG", 2000, IOSS_START),  # EC list: Bulgaria 20%
    ("CY", 1900, IOSS_START),  # EC list: Cyprus 19%
    ("CZ", 2100, IOSS_START),  # EC list: Czechia 21%
    ("DE", 1900, IOSS_START),  # EC list: Germany 19%
    ("DK", 2500, IOSS_START),  # EC list: Denmark 25%
    ("EE", 2400, D(2025, 7, 1)),  # EC list: Estonia 24% from 1 July 2025 (22% before)
    ("ES", 2100, IOSS_START),  # EC list: Spain 21%
    ("FI", 2550, D(2024, 9, 1)),  # EC list: Finland 25.5% from 1 September 2024 (24% before)
    ("FR", 2000, IOSS_START),  # EC list: France 20%
    ("GR", 2400, IOSS_START),  # EC list: Greece (EL) 24%
    ("HR", 2500, IOSS_START),  # EC list: Croatia 25%
    ("HU", 2700, IOSS_START),  # EC list: Hungary 27%
    ("IE", 2300, IOSS_START),  # EC list: Ireland 23%
    ("IT", 2200, IOSS_START),  # EC list: Italy 22%
    ("LT", 2100, IOSS_START),  # EC list: Lithuania 21%
    ("LU", 1700, D(2024, 1, 1)),  # EC list: Luxembourg 17% from 1 January 2024 (16% in 2023)
    ("LV", 2100, IOSS_START),  # EC list: Latvia 21%
    ("MT", 1800, IOSS_START),  # EC list: Malta 18%
    ("NL", 2100, IOSS_START),  # EC list: Netherlands 21%
    ("PL", 2300, IOSS_START),  # EC list: Poland 23%
    ("PT", 2300, IOSS_START),  # EC list: Portugal 23% (mainland)
    ("RO", 2100, D(2025, 8, 1)),  # EC list: Romania 21% from 1 August 2025 (19% before)
    ("SE", 2500, IOSS_START),  # EC list: Sweden 25%
    ("SI", 2200, IOSS_START),  # EC list: Slovenia 22%
    ("SK", 2300, D(2025, 1, 1)),  # EC list: Slovakia 23% from 1 January 2025 (20% before)
]

CUSMA = ["US", "MX"]  # courier shipments from the US or Mexico (CBSA memorandum D8-2-16)
CRA_RATES = "Canada Revenue Agency, GST/HST rates by province (canada.ca)"
CANADA_SALES_TAX = [
    # region ("" for all of Canada), tax, rate (bp), in force from, last day, source
    ("", "GST", 500, D(2020, 7, 1), None, f"CBSA D8-2-16; {CRA_RATES}: GST 5%"),
    ("CA-ON", "HST", 1300, D(2020, 7, 1), None, f"CBSA D8-2-16; {CRA_RATES}: Ontario 13%"),
    ("CA-NB", "HST", 1500, D(2020, 7, 1), None, f"CBSA D8-2-16; {CRA_RATES}: New Brunswick 15%"),
    ("CA-NL", "HST", 1500, D(2020, 7, 1), None, f"CBSA D8-2-16; {CRA_RATES}: Newfoundland and Labrador 15%"),
    ("CA-PE", "HST", 1500, D(2020, 7, 1), None, f"CBSA D8-2-16; {CRA_RATES}: Prince Edward Island 15%"),
    ("CA-NS", "HST", 1500, D(2020, 7, 1), D(2025, 3, 31), f"CBSA D8-2-16; {CRA_RATES}: Nova Scotia 15% until 31 March 2025"),
    ("CA-NS", "HST", 1400, D(2025, 4, 1), None, f"CBSA D8-2-16; {CRA_RATES}: Nova Scotia 14% from 1 April 2025"),
]  # fmt: skip


def percent(rate_bp):
    return f"{rate_bp / 100:g}%"


def country_name(code):
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"{code} is not an ISO 3166 country code")
    return getattr(country, "common_name", country.name)


def region_name(code):
    region = pycountry.subdivisions.get(code=code)
    if region is None:
        raise ValueError(f"{code} is not an ISO 3166-2 subdivision code")
    return region.name


def load(*, territory_model, rule_model, actor="seed"):
    """Create the rows that are missing (safe to run again); returns how many were new."""
    territories = {t.code: t for t in territory_model.objects.filter(code__in=["EU", "CA"])}
    created = 0
    for country, rate_bp, valid_from in EU_STANDARD_VAT:
        if country not in territories["EU"].members:
            raise ValueError(f"{country} is not a member of the EU customs territory")
        source = f"{EC_LIST}: {country_name(country)} {percent(rate_bp)}"
        rule, new = rule_model.objects.get_or_create(
            territory=territories["EU"],
            kind="vat",
            country=country,
            region="",
            hs_prefix="",
            valid_from=valid_from,
            defaults={
                "label": f"Import VAT {country}",
                "rate_bp": rate_bp,
                "threshold_currency": "EUR",
                "at_sale_up_to_minor": 15_000,
                "source": source,
                "updated_by": actor,
            },
        )
        created += int(new)
        # A row seeded earlier and not edited by staff since names the same list as its source.
        if not new and rule.updated_by == actor and rule.rate_bp == rate_bp:
            if rule.source != source:
                rule.source = source
                rule.save(update_fields=["source"])
    for region, tax, rate_bp, valid_from, valid_to, source in CANADA_SALES_TAX:
        where = region_name(region) if region else "Canada"
        _rule, new = rule_model.objects.get_or_create(
            territory=territories["CA"],
            kind="vat",
            country="CA" if region else "",
            region=region,
            hs_prefix="",
            valid_from=valid_from,
            defaults={
                "label": f"{where} {tax} {percent(rate_bp)}",
                "rate_bp": rate_bp,
                "threshold_currency": "CAD",
                "value_above_minor": 4_000,  # tax-free up to CAD 40
                "origin_countries": CUSMA,
                "valid_to": valid_to,
                "source": source,
                "updated_by": actor,
            },
        )
        created += int(new)
    return created


def seed(apps, schema_editor):
    load(
        territory_model=apps.get_model("orders", "CustomsTerritory"),
        rule_model=apps.get_model("orders", "DutyTaxRule"),
    )


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_order_keyset_indexes")]

    operations = [
        # The shipment history's two events about the start of its process (no schema change).
        migrations.AlterField(
            model_name="shipmentevent",
            name="event",
            field=models.CharField(choices=[('shipment_opened', 'Shipment opened'), ('customs_process_started', 'Customs workflow started'), ('customs_process_start_delayed', 'Customs workflow could not start yet (retried automatically)'), ('export_allowed', 'Export allowed'), ('export_restricted', 'Export restricted'), ('duties_assessed', 'Duties and taxes assessed'), ('duties_prepaid', 'Duties and taxes paid (DDP)'), ('customer_notified', 'Customer notified'), ('invoice_issued', 'Commercial invoice issued'), ('origin_certificate_issued', 'Certificate of origin issued'), ('submitted_to_broker', 'Submitted to the customs broker'), ('documents_sent', 'Documents sent to the broker'), ('customs_held', 'Held by customs'), ('customs_cleared', 'Cleared by customs'), ('customs_rejected', 'Rejected by customs'), ('customs_update_stale', 'Late customs update (older than the last)'), ('customs_update_ignored', 'Customs update after the decision'), ('cancelled_by_support', 'Cancelled by support'), ('goods_returned', 'Goods returned to the vendor'), ('carrier_booked', 'Handed to the international carrier'), ('withdrawn', 'Withdrawn (part cancelled)'), ('tracking_checked', 'Carrier checked'), ('tracking_event', 'Carrier event'), ('delivered', 'Delivered'), ('completed', 'Completed')], max_length=60),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
