"""The shipment's customs process starts after the shipment commits, through the port, on the
embedded engine: a start that fails is retried by the sweep, never lost; a rollback starts
nothing."""

from __future__ import annotations

import pytest
from django.db import transaction

from config.celery import app
from orders import services as order_services
from orders.customs import services
from orders.customs.models import InternationalShipment, ShipmentEventKind
from orders.services import CustomerInput, LineInput
from processes import port
from processes.engine import service as engine_service
from processes.workers import PERIODIC_HOOKS
from vendors import services as vendor_services
from vendors.models import VendorSubOrder

from .conftest import place

S = InternationalShipment.S
E = ShipmentEventKind


@pytest.fixture(autouse=True)
def no_broker_dispatch(monkeypatch):
    """The commit callbacks run here by hand; the engine's job dispatch to a broker stays off."""
    monkeypatch.setattr(engine_service, "JOB_KEYS_CREATED_LISTENERS", [])


def shipment_instances() -> list:
    definition = port.latest_definition(services.PROCESS_ID)
    assert definition is not None
    return port.latest_instances(definition.key, limit=50)


def events(shipment) -> list[str]:
    return list(shipment.events.values_list("event", flat=True))


@pytest.fixture
def engine_down(monkeypatch):
    """port.start refuses the customs process (UNAVAILABLE) until ``up()`` is called."""
    real_start = port.start
    state = {"down": True, "refused": 0}

    def start(process_id, *args, **kwargs):
        if process_id == services.PROCESS_ID and state["down"]:
            state["refused"] += 1
            raise port.PortError("engine unreachable", rejection_type="UNAVAILABLE")
        return real_start(process_id, *args, **kwargs)

    monkeypatch.setattr(port, "start", start)
    state["up"] = lambda: state.update(down=False)
    return state


def test_the_process_starts_only_once_the_shipment_has_committed(
    deployed, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _order, shipment = place(deployed, shop, country="US", start=False)
    # Not committed yet: the shipment and its history exist, the engine has not been told.
    assert shipment.process_instance_key is None and shipment.status == S.OPENED
    assert events(shipment) == [E.OPENED]
    assert shipment_instances() == []

    for callback in callbacks:  # the commit
        callback()
    shipment.refresh_from_db()
    [instance] = shipment_instances()
    assert shipment.process_instance_key == instance.key
    assert events(shipment) == [E.OPENED, E.PROCESS_STARTED]
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == S.SUBMITTED


def test_a_failed_start_leaves_a_whole_shipment_that_the_sweep_starts_once(
    deployed, shop, engine_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order, shipment = place(deployed, shop, country="US", start=False)
    assert engine_down["refused"] == 1
    # The vendor was asked and the shipment opened (nothing rolled back); no process yet.
    shipment.refresh_from_db()
    assert shipment.sub_order.status == VendorSubOrder.S.REQUESTED
    assert shipment.status == S.OPENED and shipment.process_instance_key is None
    assert events(shipment) == [E.OPENED, E.PROCESS_START_DELAYED]
    assert shipment_instances() == []
    assert not port.instance_incidents(order.process_instance_key)

    # Still down: the sweep tries, fails, and records nothing twice.
    assert services.shipment_process_starts_retry() == 0
    assert engine_down["refused"] == 2
    assert events(shipment) == [E.OPENED, E.PROCESS_START_DELAYED]

    engine_down["up"]()
    assert services.shipment_process_starts_retry() == 1
    assert services.shipment_process_starts_retry() == 0  # started once, never twice
    shipment.refresh_from_db()
    [instance] = shipment_instances()
    assert shipment.process_instance_key == instance.key
    assert events(shipment) == [E.OPENED, E.PROCESS_START_DELAYED, E.PROCESS_STARTED]
    deployed.run_handlers()
    shipment.refresh_from_db()
    assert shipment.status == S.SUBMITTED


def test_a_part_cancelled_while_the_start_waited_is_withdrawn_not_started(
    deployed, shop, engine_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _order, shipment = place(deployed, shop, country="US", start=False)
    vendor_services.sub_order_reject(
        sub_order=shipment.sub_order, reason="Out of stock", actor="vendor"
    )
    engine_down["up"]()
    assert services.shipment_process_starts_retry() == 0
    shipment.refresh_from_db()
    assert shipment.status == S.WITHDRAWN and shipment.process_instance_key is None
    assert events(shipment)[-1] == E.WITHDRAWN
    assert shipment_instances() == []
    assert services.shipment_process_starts_retry() == 0  # nothing left waiting


def test_a_start_after_commit_and_the_sweep_do_not_both_start_it(
    deployed, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _order, shipment = place(deployed, shop, country="US", start=False)
    assert services.shipment_process_starts_retry() == 1  # the sweep came first
    for callback in callbacks:
        callback()
    assert len(shipment_instances()) == 1
    assert events(shipment).count(E.PROCESS_STARTED) == 1


def test_a_rolled_back_opening_starts_nothing(deployed, shop, django_capture_on_commit_callbacks):
    order = order_services.order_create(
        customer=CustomerInput(email="buyer-us@example.com", name="Pat Buyer", country="US"),
        currency="EUR",
        lines=[LineInput("acme-audio", shop.headphones.sku, 1)],
        payment_method="tok_visa",
        shipping_address={"name": "Pat Buyer", "city": "Springfield", "country": "US"},
    )
    sub_order = order.sub_orders.get()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assert services.shipment_open(sub_order=sub_order) is not None
        raise RuntimeError("the fulfilment request failed after the shipment was opened")
    assert callbacks == []
    assert not InternationalShipment.objects.exists()
    assert shipment_instances() == []


def test_the_sweep_runs_every_minute_on_beat_and_in_the_in_process_ticker():
    [entry] = [
        e
        for e in app.conf.beat_schedule.values()
        if e["task"] == "customs.start_waiting_shipment_processes"
    ]
    assert entry["schedule"] <= 60 and entry["options"]["expires"] < entry["schedule"]
    assert services.shipment_process_starts_retry in PERIODIC_HOOKS
