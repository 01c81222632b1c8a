"""The demo simulator files returns of delivered items, and leaves the parcel to the warehouse."""

from __future__ import annotations

from orders.simulator import Simulator, SimulatorConfig
from returns.models import ReturnRequest

from .conftest import delivered_order
from .helpers import loyal


def test_the_simulator_files_a_return_for_a_delivered_order(deployed, shop, customer):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 1)])
    ReturnRequest.objects.all().delete()

    created = Simulator(SimulatorConfig(seed=7)).file_return()

    assert created is not None and created.order in (order, *customer.orders.all())
    assert created.requested_by is None  # the customer asked, not staff
    assert created.lines.count() == 1 and created.lines.get().quantity == 1
    deployed.run_handlers()
    created.refresh_from_db()
    assert created.item_received_at is None


def test_paid_out_orders_can_be_returned_too(deployed, shop, customer):
    loyal(customer, shop)
    ReturnRequest.objects.all().delete()
    paid_out = delivered_order(customer=customer, items=[(shop.cable, 1)], paid_out=True)
    created = Simulator(SimulatorConfig(seed=3)).file_return()
    # The loyal customer's earlier order is outside the return window: only the paid-out one.
    assert created is not None and created.order == paid_out
    assert paid_out.sub_orders.get().status == "completed"


def test_without_delivered_orders_the_simulator_files_nothing(deployed, shop):
    assert Simulator(SimulatorConfig(seed=7)).file_return() is None


def test_the_demo_setting_shortens_every_vendor_sla(settings, shop):
    from vendors.sla import vendor_sla, vendor_sla_iso

    shop.acme.sla_hours = 24
    assert vendor_sla_iso(shop.acme) == "PT24H"
    settings.DEMO_VENDOR_SLA_MINUTES = 3
    assert vendor_sla_iso(shop.acme) == "PT3M"
    assert vendor_sla(shop.acme).total_seconds() == 180
