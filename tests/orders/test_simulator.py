"""The simulator plays the marketplace through the signed webhooks until orders finish."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from core.models import WebhookEvent
from orders import simulator
from orders.models import Order
from orders.simulator import Simulator, SimulatorConfig
from tests.orders.factories import CustomerFactory

from .conftest import BPMN


def test_simulated_orders_run_to_the_end(deployed, market, settings):
    settings.DEBUG = True  # carriers sign with the local development secret
    settings.CARRIER_WEBHOOK_SECRETS = None
    CustomerFactory()
    # The simulator also files a return now and then: its process is deployed too.
    deployed.deploy(BPMN.with_name("return-request.bpmn"))
    sim = Simulator(
        SimulatorConfig(
            order_probability=1.0,
            reject_probability=0.2,
            late_probability=0.0,
            answer_delay_seconds=(0, 0),
            ship_delay_seconds=(0, 0),
            deliver_delay_seconds=(0, 0),
            seed=7,
        )
    )

    for _ in range(3):
        sim.tick()
        deployed.run_handlers()
    sim.config.order_probability = 0.0
    for _ in range(4):
        sim.tick()
        deployed.run_handlers()

    orders = list(Order.objects.all())
    assert len(orders) == 3
    ended = {Order.S.COMPLETED, Order.S.PAYMENT_DECLINED}
    assert {o.status for o in orders} <= ended, [o.status for o in orders]
    assert WebhookEvent.objects.filter(status=WebhookEvent.S.PROCESSED).exists()
    assert not WebhookEvent.objects.filter(status=WebhookEvent.S.FAILED).exists()


def test_late_vendor_answers_after_the_sla(deployed, market, settings):
    settings.DEBUG = True
    CustomerFactory()
    sim = Simulator(
        SimulatorConfig(
            order_probability=1.0,
            reject_probability=0.0,
            late_probability=1.0,
            seed=1,
        )
    )
    sim.tick()
    deployed.run_handlers()
    assert sim.play_vendors() == 0  # nobody answers before the SLA

    deployed.increase_time(dt.timedelta(hours=25))
    from vendors.models import VendorSubOrder

    VendorSubOrder.objects.update(sla_due_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    assert sim.play_vendors() >= 1


def test_simulator_can_be_switched_off(settings):
    settings.SIMULATOR = "off"

    assert simulator.start_simulator() is None
    with pytest.raises(CommandError):
        call_command("simulate", "--ticks", "1")


def test_start_simulator_starts_once_and_stops(settings, monkeypatch):
    settings.SIMULATOR = "on"
    ran = []
    monkeypatch.setattr(Simulator, "run", lambda self, **kw: ran.append(kw))

    first = simulator.start_simulator(interval_seconds=0.01)
    again = simulator.start_simulator()
    simulator.stop_simulator()

    assert first is again
    assert first.stop_event.is_set()
