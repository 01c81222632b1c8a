"""Returns fixtures: delivered marketplace orders (built directly), staff of every role, the
return-request process deployed with its real job handlers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone

from config.roles import MANAGERS, SUPPORT, WAREHOUSE
from core.money import split_commission
from orders.models import Charge, Customer, Order, OrderLine
from orders.payments import sandbox
from processes.testing.fixtures import process  # noqa: F401
from tests.factories import make_user
from tests.vendors.factories import ProductFactory, VendorFactory
from vendors.models import Payout, PayoutHold, Product, Vendor, VendorSubOrder

BPMN = Path(__file__).resolve().parents[2] / "processes" / "bpmn" / "return-request.bpmn"


@pytest.fixture(autouse=True)
def sandbox_payments(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    sandbox.reset()


@dataclass
class Shop:
    acme: Vendor
    bolt: Vendor
    headphones: Product  # acme, 129.00, commission 15%
    cable: Product  # acme, 14.90
    helmet: Product  # bolt, 89.00, commission 12%
    speaker: Product  # acme, 649.99
    orders: list[Order] = field(default_factory=list)


@pytest.fixture
def shop(db) -> Shop:
    acme = VendorFactory(handle="acme-audio", name="Acme Audio", commission_rate_bp=1500)
    bolt = VendorFactory(handle="bolt-bikes", name="Bolt Bikes", commission_rate_bp=1200)
    return Shop(
        acme=acme,
        bolt=bolt,
        headphones=ProductFactory(vendor=acme, sku="AA-HP-100", price_minor=12_900),
        cable=ProductFactory(vendor=acme, sku="AA-CBL-3", price_minor=1_490),
        helmet=ProductFactory(vendor=bolt, sku="BB-HLM-M", price_minor=8_900),
        speaker=ProductFactory(vendor=acme, sku="AA-SPK-9", price_minor=64_999),
    )


_counter = {"n": 0}


def delivered_order(
    *,
    customer: Customer,
    items: list[tuple[Product, int]],
    delivered_days_ago: int = 3,
    paid_out: bool = False,
    shipping_minor: int = 0,
) -> Order:
    """An order delivered ``delivered_days_ago`` days ago: charge captured, one sub-order per
    vendor with its commission, and either a payout hold (held) or a payout (paid)."""
    _counter["n"] += 1
    n = _counter["n"]
    subtotal = sum(p.price_minor * q for p, q in items)
    order = Order.objects.create(
        number=f"ORD-T-{n:04d}",
        customer=customer,
        currency="EUR",
        subtotal_minor=subtotal,
        shipping_minor=shipping_minor,
        total_minor=subtotal + shipping_minor,
        payment_method="tok_visa",
    )
    Order.objects.filter(pk=order.pk).update(status=Order.S.COMPLETED)
    Charge.objects.create(
        order=order,
        provider="sandbox",
        provider_charge_id=f"pi_sandbox_{n}",
        amount_minor=order.total_minor,
        currency="EUR",
        idempotency_key=f"charge-test-{n}",
    )
    delivered_at = timezone.now() - dt.timedelta(days=delivered_days_ago)
    vendors: dict[int, list[tuple[Product, int]]] = {}
    for product, quantity in items:
        vendors.setdefault(product.vendor_id, []).append((product, quantity))
    for vendor_id, vendor_items in vendors.items():
        vendor = Vendor.objects.get(pk=vendor_id)
        amount = sum(p.price_minor * q for p, q in vendor_items)
        split = split_commission(amount_minor=amount, rate_bp=vendor.commission_rate_bp)
        sub_order = VendorSubOrder.objects.create(
            order=order,
            vendor=vendor,
            number=f"{order.number}-{vendor.handle}",
            currency="EUR",
            subtotal_minor=amount,
            commission_rate_bp=vendor.commission_rate_bp,
            commission_minor=split.commission_minor,
            payout_minor=split.payout_minor,
            delivered_at=delivered_at,
        )
        VendorSubOrder.objects.filter(pk=sub_order.pk).update(
            status=VendorSubOrder.S.COMPLETED if paid_out else VendorSubOrder.S.DELIVERED
        )
        hold = PayoutHold.objects.create(
            sub_order=sub_order,
            amount_minor=split.payout_minor,
            currency="EUR",
            idempotency_key=f"hold-test-{sub_order.pk}",
        )
        if paid_out:
            PayoutHold.objects.filter(pk=hold.pk).update(status=PayoutHold.S.RELEASED)
            Payout.objects.create(
                sub_order=sub_order,
                amount_minor=split.payout_minor,
                currency="EUR",
                provider_transfer_id=f"tr_sandbox_{sub_order.pk}",
                idempotency_key=f"payout-test-{sub_order.pk}",
            )
        for product, quantity in vendor_items:
            OrderLine.objects.create(
                order=order,
                product=product,
                vendor=vendor,
                sub_order=sub_order,
                sku=product.sku,
                name=product.name,
                quantity=quantity,
                unit_price_minor=product.price_minor,
                total_minor=product.price_minor * quantity,
            )
    return order


@pytest.fixture
def make_order(shop):
    return delivered_order


@pytest.fixture
def customer_user(db):
    return make_user("carla")


@pytest.fixture
def customer(customer_user) -> Customer:
    """A customer with a long-standing account (so account age does not fire)."""
    customer = Customer.objects.create(
        email="carla@example.com", name="Carla Customer", country="DE", user=customer_user
    )
    old = timezone.now() - dt.timedelta(days=400)
    Customer.objects.filter(pk=customer.pk).update(created_at=old)
    type(customer_user).objects.filter(pk=customer_user.pk).update(date_joined=old)
    customer.refresh_from_db()
    return customer


@pytest.fixture
def support(db):
    return make_user("sue", role=SUPPORT)


@pytest.fixture
def warehouse(db):
    return make_user("walt", role=WAREHOUSE)


@pytest.fixture
def manager(db):
    return make_user("mona", role=MANAGERS)


@pytest.fixture
def manager2(db):
    return make_user("max", role=MANAGERS)


@pytest.fixture
def deployed(process):  # noqa: F811
    """The harness with the return-request process deployed."""
    process.deploy(BPMN)
    return process
