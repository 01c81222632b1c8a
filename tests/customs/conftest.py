"""Customs fixtures: a German exporter, products, reference rates, both processes deployed."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from core.webhooks import sign
from orders import services as order_services
from orders.customs import carriers
from orders.customs import services as customs_services
from orders.customs.models import CurrencyRate, ExporterProfile, InternationalShipment
from orders.models import Order
from orders.payments import sandbox
from orders.services import CustomerInput, LineInput
from processes.testing.fixtures import process  # noqa: F401
from tests.vendors.factories import ProductFactory, VendorFactory
from vendors import services as vendor_services
from vendors.models import Product, Vendor

BPMN_DIR = Path(__file__).resolve().parents[2] / "processes" / "bpmn"
BROKER_SECRET = "broker-secret-for-tests"
CARRIER_SECRET = "carrier-secret-for-tests"

# 1 EUR = ... (fixed for the tests; the ECB adapter is tested on its own)
RATES = {"USD": "1.1000", "GBP": "0.8500", "CAD": "1.5000", "AUD": "1.6000", "JPY": "160.00",
         "CHF": "0.9500"}  # fmt: skip


@dataclass
class Shop:
    vendor: Vendor
    headphones: Product  # 129.00 EUR, HS 851830
    cable: Product  # 14.90 EUR, HS 854442
    rifle_scope: Product  # HS 930590 (arms parts)
    sample: Product  # "sample" in the name: the sandbox broker holds it once


@pytest.fixture(autouse=True)
def customs_settings(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.CUSTOMS_BROKER = "sandbox"
    settings.CUSTOMS_BROKER_SECRETS = {"sandbox": BROKER_SECRET}
    settings.CUSTOMS_CARRIER_SECRETS = {"sandbox": CARRIER_SECRET}
    sandbox.reset()
    carriers.use_carrier(None)
    yield
    sandbox.reset()
    carriers.use_carrier(None)


@pytest.fixture(autouse=True)
def seeded_rules(request):
    """The seeded rule set (a transactional test elsewhere may have flushed the migration's)."""
    if "db" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        return
    request.getfixturevalue("db")
    from orders.customs import seed
    from orders.customs.models import CustomsTerritory, DutyTaxRule, ExportRestriction

    seed.load(
        territory_model=CustomsTerritory,
        rule_model=DutyTaxRule,
        restriction_model=ExportRestriction,
    )
    rates_migration().load(territory_model=CustomsTerritory, rule_model=DutyTaxRule)


def rates_migration():
    """The data migration with every EU member's VAT and Canada's GST/HST (module name: digits)."""
    return importlib.import_module("orders.migrations.0010_customs_tax_rates_and_start_events")


@pytest.fixture
def rates(db):
    today = dt.date.today()
    for quote, rate in RATES.items():
        CurrencyRate.objects.create(
            quote=quote, rate=Decimal(rate), rate_date=today - dt.timedelta(days=1)
        )


@pytest.fixture
def shop(db, rates) -> Shop:
    vendor = VendorFactory(handle="acme-audio", name="Acme Audio")
    ExporterProfile.objects.create(
        vendor=vendor,
        legal_name="Acme Audio GmbH",
        address="Hafenstr. 5, 20457 Hamburg",
        country="DE",
        tax_id="DE123456789012345",
    )
    return Shop(
        vendor=vendor,
        headphones=ProductFactory(vendor=vendor, sku="AA-HP-100", name="Studio headphones",
                                  price_minor=12_900, hs_code="851830", weight_grams=350),
        cable=ProductFactory(vendor=vendor, sku="AA-CBL-3", name="Speaker cable 3 m",
                             price_minor=1_490, hs_code="854442", origin_country="CN"),
        rifle_scope=ProductFactory(vendor=vendor, sku="AA-SCOPE", name="Telescopic sight",
                                   price_minor=9_900, hs_code="930590"),
        sample=ProductFactory(vendor=vendor, sku="AA-SMP", name="Headphone sample",
                              price_minor=2_000, hs_code="851830"),
    )  # fmt: skip


@pytest.fixture
def deployed(process):  # noqa: F811
    process.deploy(BPMN_DIR / "marketplace-order.bpmn")
    process.deploy(BPMN_DIR / "international-shipment.bpmn")
    return process


def place(
    deployed,
    shop: Shop,
    *,
    country: str,
    lines: list[tuple[Product, int]] | None = None,
    shipping: int = 1_000,
    address: dict | None = None,
    start: bool = True,
) -> tuple[Order, InternationalShipment | None]:
    order = order_services.order_place(
        customer=CustomerInput(email=f"buyer-{country.lower()}@example.com", name="Pat Buyer",
                               country=country),
        currency="EUR",
        lines=[LineInput("acme-audio", p.sku, q) for p, q in (lines or [(shop.headphones, 1)])],
        payment_method="tok_visa",
        shipping_minor=shipping,
        shipping_address={"name": "Pat Buyer", "line1": "1 Main St", "city": "Springfield",
                          "country": country, **(address or {})},
    )  # fmt: skip
    deployed.run_handlers()
    if start:
        start_waiting_processes(deployed)
    return order, InternationalShipment.objects.filter(order=order).first()


def start_waiting_processes(deployed) -> int:
    """A test runs in one transaction, so the start after commit never fires: the sweep on beat
    starts the shipments' processes instead (``test_process_start`` covers the commit path)."""
    started = customs_services.shipment_process_starts_retry()
    deployed.run_handlers()
    return started


def post_signed(client: Client, url: str, body: dict, secret: str, *, timestamp=None):
    raw = json.dumps(body).encode()
    return client.post(
        url,
        raw,
        content_type="application/json",
        headers={"X-Orderly-Signature": sign(raw, secret, timestamp)},
    )


def customs_update(client: Client, shipment, status: str, *, event_id: str, **extra):
    body = {"id": event_id, "type": "customs-update", "shipment": shipment.number,
            "status": status, **extra}  # fmt: skip
    if status in ("held", "rejected"):
        body.setdefault("reason", "Proof of value missing")
    return post_signed(client, reverse("webhook-customs", args=["sandbox"]), body, BROKER_SECRET)


def tracking_event(client: Client, shipment, status: str, *, event_id: str, **extra):
    body = {"id": event_id, "type": status, "tracking_number": shipment.tracking_number, **extra}
    return post_signed(
        client, reverse("webhook-shipment-tracking", args=[shipment.carrier]), body, CARRIER_SECRET
    )


def vendor_accepts(deployed, shipment) -> None:
    vendor_services.sub_order_accept(sub_order=shipment.sub_order, actor="vendor")
    deployed.run_handlers()
