"""Marketplace fixtures: three vendors with products and stock, staff and vendor users."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from orders.payments import sandbox
from processes.testing.fixtures import process  # noqa: F401
from tests.factories import make_staff, make_user
from tests.vendors.factories import ProductFactory, VendorFactory
from vendors.models import Product, Vendor

BPMN = Path(__file__).resolve().parents[2] / "processes" / "bpmn" / "marketplace-order.bpmn"


@dataclass
class Market:
    acme: Vendor
    bolt: Vendor
    cedar: Vendor
    headphones: Product  # acme, 129.00, commission 15%
    cable: Product  # acme, 14.90
    helmet: Product  # bolt, 89.00, commission 12%
    mug: Product  # cedar, 32.00, commission 15.5%


@pytest.fixture(autouse=True)
def clean_sandbox():
    sandbox.reset()
    yield
    sandbox.reset()


@pytest.fixture(autouse=True)
def sandbox_payments(settings):
    settings.PAYMENT_PROVIDER = "sandbox"


@pytest.fixture
def market(db) -> Market:
    acme = VendorFactory(handle="acme-audio", name="Acme Audio", commission_rate_bp=1500)
    bolt = VendorFactory(handle="bolt-bikes", name="Bolt Bikes", commission_rate_bp=1200)
    cedar = VendorFactory(
        handle="cedar-home", name="Cedar Home", commission_rate_bp=1550, sla_hours=12
    )
    return Market(
        acme=acme,
        bolt=bolt,
        cedar=cedar,
        headphones=ProductFactory(vendor=acme, sku="AA-HP-100", price_minor=12_900),
        cable=ProductFactory(vendor=acme, sku="AA-CBL-3", price_minor=1_490),
        helmet=ProductFactory(vendor=bolt, sku="BB-HLM-M", price_minor=8_900),
        mug=ProductFactory(vendor=cedar, sku="CH-MUG-4", price_minor=3_333),
    )


@pytest.fixture
def staff(db):
    return make_staff("sam")


@pytest.fixture
def acme_user(market):
    return make_user("alex", vendor=market.acme)


@pytest.fixture
def bolt_user(market):
    return make_user("bea", vendor=market.bolt)


@pytest.fixture
def deployed(process):  # noqa: F811
    """The harness with the marketplace-order process deployed."""
    process.deploy(BPMN)
    return process
