"""Customs demo data: exporter profiles for the demo vendors and a day of reference rates.

The rates are marked ``source="demo"`` and dated today so that a machine without network access
can assess duties; ``manage.py customs_rates_refresh`` stores the ECB's real ones.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from vendors.models import Vendor

from .models import CurrencyRate, ExporterProfile

DEMO_EXPORTERS = {
    # handle: legal name, address, country, tax id (demo numbers)
    "acme-audio": ("Acme Audio GmbH", "Hafenstr. 5, 20457 Hamburg", "DE", "DE000000000000001"),
    "bolt-bikes": ("Bolt Bikes S.r.l.", "Via Roma 10, 20121 Milano", "IT", "IT00000000000000002"),
    "cedar-home": ("Cedar Home GmbH", "Lindenallee 2, 10115 Berlin", "DE", "DE000000000000003"),
    "dune-outdoor": ("Dune Outdoor Ltd", "1 Harbour Rd, Dover", "GB", "GB000000000003"),
}
# Approximate euro rates for the demo only (1 EUR = ...).
DEMO_RATES = {"USD": "1.08", "GBP": "0.85", "JPY": "160", "CHF": "0.95", "CAD": "1.50",
              "AUD": "1.65"}  # fmt: skip


def load_customs_demo() -> dict[str, int]:
    exporters = 0
    for handle, (legal_name, address, country, tax_id) in DEMO_EXPORTERS.items():
        vendor = Vendor.objects.filter(handle=handle).first()
        if vendor is None:
            continue
        ExporterProfile.objects.update_or_create(
            vendor=vendor,
            defaults={
                "legal_name": legal_name,
                "address": address,
                "country": country,
                "tax_id": tax_id,
            },
        )
        exporters += 1
    today = timezone.localdate()
    for quote, rate in DEMO_RATES.items():
        CurrencyRate.objects.get_or_create(
            base="EUR",
            quote=quote,
            rate_date=today,
            source="demo",
            defaults={"rate": Decimal(rate)},
        )
    return {"exporters": exporters}
