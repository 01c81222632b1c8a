"""Carriers come from a list, one shipment per carrier and tracking number, and no vendor or
carrier action moves a sub-order of an order that ended (or sideways through its states)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from core.errors import ApplicationError, NotYet
from orders.models import Order
from vendors import services
from vendors.models import Carrier, VendorSubOrder

from .helpers import LINES, place_paid_order, post_signed

S = VendorSubOrder.S


@pytest.fixture(autouse=True)
def carrier_secrets(settings):
    settings.CARRIER_WEBHOOK_SECRETS = {"dhl": "dhl-secret", "ups": "ups-secret"}


@pytest.fixture
def order(deployed, market):
    return place_paid_order(deployed)


def subs(order, market):
    return order.sub_orders.get(vendor=market.acme), order.sub_orders.get(vendor=market.bolt)


def fresh(sub_order):
    return VendorSubOrder.objects.get(pk=sub_order.pk)


# ------------------------------------------------------------------------------ carriers
def test_the_migration_seeds_the_known_carriers(db):
    assert set(Carrier.objects.values_list("code", flat=True)) >= {"dhl", "ups", "dpd"}


def test_a_carrier_is_named_by_code_or_name_and_stored_by_code(order, market):
    acme, _ = subs(order, market)

    services.sub_order_ship(sub_order=acme, carrier="DHL", tracking_number=" JD01 ")

    assert (fresh(acme).carrier, fresh(acme).tracking_number) == ("dhl", "JD01")


def test_an_unknown_or_inactive_carrier_is_refused_naming_the_field(order, market):
    acme, _ = subs(order, market)
    Carrier.objects.filter(code="ups").update(is_active=False)

    for name in ("Royal Mail", "ups"):
        with pytest.raises(ApplicationError) as refused:
            services.sub_order_ship(sub_order=acme, carrier=name, tracking_number="RM1")
        assert refused.value.field == "carrier"
        assert "Unknown carrier" in refused.value.message and "dhl" in refused.value.message
    assert fresh(acme).status == S.REQUESTED


def test_a_second_vendor_using_the_same_tracking_number_is_refused(order, market):
    acme, bolt = subs(order, market)
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="SAME")

    with pytest.raises(ApplicationError) as refused:
        services.sub_order_ship(sub_order=bolt, carrier="dhl", tracking_number="SAME")

    assert refused.value.code == "conflict" and refused.value.field == "tracking_number"
    assert fresh(bolt).status == S.REQUESTED
    # Another carrier's number space is its own.
    services.sub_order_ship(sub_order=bolt, carrier="ups", tracking_number="SAME")


def test_the_database_refuses_two_shipments_with_one_carrier_and_tracking_number(order, market):
    acme, bolt = subs(order, market)
    VendorSubOrder.objects.filter(pk=acme.pk).update(carrier="dhl", tracking_number="T1")

    with pytest.raises(IntegrityError), transaction.atomic():
        VendorSubOrder.objects.filter(pk=bolt.pk).update(carrier="dhl", tracking_number="T1")
    # Sub-orders not shipped yet (no tracking number) are not shipments.
    assert VendorSubOrder.objects.filter(tracking_number="").count() == 1


def test_a_second_shipped_with_a_new_tracking_number_updates_the_shipment(order, market):
    acme, _ = subs(order, market)
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="OLD")

    services.sub_order_ship(sub_order=acme, carrier="ups", tracking_number="NEW")

    acme = fresh(acme)
    assert (acme.status, acme.carrier, acme.tracking_number) == (S.SHIPPED, "ups", "NEW")
    update = acme.history.filter(event="vendor_shipped").last()
    assert update.detail["updated_from"] == {"carrier": "dhl", "tracking": "OLD"}
    # The same pair again changes nothing.
    services.sub_order_ship(sub_order=acme, carrier="ups", tracking_number="NEW")
    assert acme.history.filter(event="vendor_shipped").count() == 2


def test_a_new_tracking_number_after_delivery_is_refused_visibly(order, market):
    acme, _ = subs(order, market)
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="D1")
    services.sub_order_deliver(sub_order=acme)

    with pytest.raises(ApplicationError) as refused:
        services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="D2")

    assert refused.value.code == "conflict" and "delivered" in refused.value.message
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="D1")  # a repeat


def test_a_carrier_event_names_one_shipment_and_delivers_it(client, order, market):
    acme, bolt = subs(order, market)
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="X1")
    services.sub_order_ship(sub_order=bolt, carrier="ups", tracking_number="X1")

    body = {"id": "c-1", "type": "delivered", "tracking_number": "X1"}
    response = post_signed(APIClient(), "/api/webhooks/carriers/dhl/", body, "dhl-secret")

    assert response.status_code == 200, response.data
    assert (fresh(acme).status, fresh(bolt).status) == (S.DELIVERED, S.SHIPPED)


def test_the_vendor_api_lists_carriers_and_refuses_an_unknown_one(order, market, acme_user):
    acme, _ = subs(order, market)
    api = APIClient()
    api.force_authenticate(acme_user)

    carriers = api.get("/api/vendor/carriers")
    refused = api.post(
        f"/api/vendor/sub-orders/{acme.number}/ship",
        {"carrier": "Royal Mail", "tracking_number": "RM1"},
        format="json",
    )

    assert carriers.status_code == 200
    assert {"code": "dhl", "name": "DHL"} in carriers.json()
    assert refused.status_code == 400 and "carrier" in refused.json()


def test_the_portal_offers_the_carriers_as_a_select(order, market, acme_user):
    acme, _ = subs(order, market)
    services.sub_order_accept(sub_order=acme, actor="vendor:acme")  # shipping follows acceptance
    portal = Client()
    portal.force_login(acme_user)

    page = portal.get(f"/vendor/sub-orders/{acme.number}/").content.decode()

    assert '<select id="carrier" name="carrier" required>' in page
    assert '<option value="dhl">DHL</option>' in page


# ------------------------------------------------------------------------------ order state
def _declined(deployed):
    from orders import services as order_services
    from orders.services import CustomerInput

    order = order_services.order_place(
        customer=CustomerInput(email="dan@example.com", name="Dan", country="DE"),
        currency="EUR",
        lines=LINES,
        payment_method="tok_chargeDeclined",
    )
    deployed.run_handlers()
    return Order.objects.get(pk=order.pk)


def test_a_declined_orders_sub_orders_end_with_it(deployed, market):
    order = _declined(deployed)

    assert order.status == Order.S.PAYMENT_DECLINED
    assert set(order.sub_orders.values_list("status", flat=True)) == {S.CANCELLED}
    assert order.history.filter(event="sub_order_cancelled").count() == 2


def test_no_vendor_action_moves_a_declined_orders_sub_order(deployed, market, acme_user):
    order = _declined(deployed)
    acme = order.sub_orders.get(vendor=market.acme)
    api = APIClient()
    api.force_authenticate(acme_user)
    portal = Client()
    portal.force_login(acme_user)
    body = {"id": "v-1", "type": "shipped", "sub_order": acme.number}
    body |= {"carrier": "dhl", "tracking_number": "Z1"}

    webhook = post_signed(
        APIClient(), "/api/webhooks/vendors/acme-audio/", body, market.acme.callback_secret
    )
    accept = api.post(f"/api/vendor/sub-orders/{acme.number}/accept")
    ship = api.post(
        f"/api/vendor/sub-orders/{acme.number}/ship",
        {"carrier": "dhl", "tracking_number": "Z2"},
        format="json",
    )
    portal.post(
        f"/vendor/sub-orders/{acme.number}/ship", {"carrier": "dhl", "tracking_number": "Z3"}
    )

    assert (webhook.status_code, accept.status_code, ship.status_code) == (409, 409, 409)
    assert fresh(acme).status == S.CANCELLED and fresh(acme).tracking_number == ""


def test_a_cancelled_order_refuses_its_carriers_delivery(order, market):
    acme, _ = subs(order, market)
    services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="C1")
    Order.objects.filter(pk=order.pk).update(status=Order.S.CANCELLED)

    with pytest.raises(ApplicationError) as refused:
        services.sub_order_deliver(sub_order=acme)

    assert not isinstance(refused.value, NotYet) and "cancelled" in refused.value.message
    assert fresh(acme).status == S.SHIPPED


def test_before_payment_vendor_actions_wait_and_do_not_move_the_sub_order(deployed, market):
    from orders import services as order_services
    from orders.services import CustomerInput

    order = order_services.order_place(
        customer=CustomerInput(email="eve@example.com", name="Eve", country="DE"),
        currency="EUR",
        lines=LINES,
        payment_method="tok_visa",
    )
    acme = order.sub_orders.get(vendor=market.acme)

    with pytest.raises(NotYet):
        services.sub_order_accept(sub_order=acme)
    assert fresh(acme).status == S.PENDING


def test_a_rejected_sub_order_cannot_be_shipped_or_accepted(order, market):
    acme, _ = subs(order, market)
    services.sub_order_reject(sub_order=acme, reason="out of stock")

    for act in (
        lambda: services.sub_order_accept(sub_order=acme),
        lambda: services.sub_order_ship(sub_order=acme, carrier="dhl", tracking_number="R1"),
        lambda: services.sub_order_deliver(sub_order=acme),
    ):
        with pytest.raises(ApplicationError) as refused:
            act()
        assert refused.value.code == "conflict"
    assert fresh(acme).status == S.REJECTED


def test_a_database_without_the_seeded_carriers_offers_the_known_ones(order, market):
    acme, _ = subs(order, market)
    Carrier.objects.all().delete()  # a flushed database (transactional tests)

    services.sub_order_ship(sub_order=acme, carrier="DHL", tracking_number="F1")

    assert fresh(acme).carrier == "dhl"
    assert set(services.carriers_active().values_list("code", flat=True)) == {"dhl", "dpd", "ups"}
