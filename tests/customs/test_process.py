"""The international-shipment process, one test per path, with the real job handlers.

The marketplace order runs alongside: the customs process starts when fulfilment of a
cross-border part is requested, and moves that part (shipped, delivered, cancelled) through the
vendors' services, which the marketplace order listens to.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from core.models import Notification
from orders.customs.models import CustomsDocument, InternationalShipment, OriginCertificateRule
from orders.models import Charge, Order, Refund
from processes.engine.bpmn import parse_bpmn
from processes.jobs import registry
from vendors.models import PayoutHold, StockItem, VendorSubOrder

from .conftest import BPMN_DIR, customs_update, place, tracking_event, vendor_accepts

S = InternationalShipment.S
pytestmark = pytest.mark.django_db


def test_every_service_task_has_a_handler():
    path = BPMN_DIR / "international-shipment.bpmn"
    [model] = parse_bpmn(path.read_text(), path.name)
    types = {el.task.type_expr for el in model.elements.values() if el.task is not None}
    assert len(types) >= 15
    assert types <= set(registry()), types - set(registry())


def test_domestic_and_eu_parts_open_no_shipment(deployed, shop):
    for country in ("DE", "FR"):
        order, shipment = place(deployed, shop, country=country)
        assert shipment is None
        assert order.sub_orders.get().status == VendorSubOrder.S.REQUESTED


def test_allowed_and_cleared_ships_tracks_and_delivers_and_the_vendor_is_paid(deployed, shop):
    client = Client()
    order, shipment = place(deployed, shop, country="US")
    instance = deployed.instance(shipment.process_instance_key)
    instance.is_waiting_at("Catch_customs_update")
    instance.has_passed("Task_notify_duties").has_not_passed("Task_prepay_duties")
    shipment.refresh_from_db()
    assert shipment.status == S.SUBMITTED and shipment.broker_reference == f"SBX-{shipment.number}"
    assert shipment.documents.get().kind == CustomsDocument.INVOICE
    vendor_accepts(deployed, shipment)

    assert customs_update(client, shipment, "cleared", event_id="u1").status_code == 200
    deployed.run_handlers()

    instance.is_waiting_at("Gateway_track_event")
    shipment.refresh_from_db()
    sub_order = shipment.sub_order
    sub_order.refresh_from_db()
    assert shipment.status == S.SHIPPED and sub_order.status == VendorSubOrder.S.SHIPPED
    assert sub_order.tracking_number == shipment.tracking_number

    assert tracking_event(client, shipment, "delivered", event_id="t1").status_code == 200
    deployed.run_handlers()

    instance.is_completed().has_passed("End_delivered")
    shipment.refresh_from_db()
    assert shipment.status == S.DELIVERED and shipment.completed_at
    order.refresh_from_db()
    assert order.status == Order.S.COMPLETED
    assert PayoutHold.objects.get(sub_order=sub_order).status == PayoutHold.S.RELEASED
    assert not Refund.objects.exists()


def test_embargoed_destination_cancels_and_refunds_that_part_only(deployed, shop):
    order, shipment = place(deployed, shop, country="UA", address={"region": "UA-43"}, shipping=500)
    instance = deployed.instance(shipment.process_instance_key)
    instance.is_completed().has_passed("End_restricted").has_not_passed("Task_calculate_duties")
    shipment.refresh_from_db()
    assert shipment.status == S.RESTRICTED
    assert "Crimea" in shipment.reason
    [refund] = Refund.objects.filter(order=order)
    assert refund.amount_minor == 12_900 + 500
    assert "Crimea" in refund.reason
    sub_order = shipment.sub_order
    sub_order.refresh_from_db()
    assert sub_order.status == VendorSubOrder.S.REJECTED
    assert StockItem.objects.get(product=shop.headphones).reserved == 0
    assert PayoutHold.objects.get(sub_order=sub_order).status == PayoutHold.S.CANCELLED
    assert Charge.objects.get(order=order).status == Charge.S.REFUNDED
    assert shipment.events.filter(event="customer_notified").count() == 1


def test_other_ukrainian_regions_are_not_embargoed(deployed, shop):
    _order, shipment = place(deployed, shop, country="UA", address={"region": "UA-30"})
    deployed.instance(shipment.process_instance_key).has_passed("Task_calculate_duties")


def test_restricted_hs_code_for_one_destination_only(deployed, shop):
    from orders.customs.models import ExportRestriction

    ExportRestriction.objects.create(
        kind="hs_code", country="JP", hs_prefix="9305", reason="Arms parts need a licence",
        valid_from=dt.date(2020, 1, 1),
    )  # fmt: skip
    _order, to_japan = place(deployed, shop, country="JP", lines=[(shop.rifle_scope, 1)])
    deployed.instance(to_japan.process_instance_key).has_passed("End_restricted")
    _order, to_japan_ok = place(deployed, shop, country="JP", lines=[(shop.headphones, 1)])
    deployed.instance(to_japan_ok.process_instance_key).is_waiting_at("Catch_customs_update")


def test_held_then_cleared_notifies_opens_a_task_and_keeps_waiting(deployed, shop):
    client = Client()
    _order, shipment = place(deployed, shop, country="GB")
    instance = deployed.instance(shipment.process_instance_key)

    customs_update(client, shipment, "held", event_id="h1", missing_documents=["proof of value"])
    deployed.run_handlers()

    task = deployed.user_task("UserTask_customs_hold", instance)
    assert task.form_key == "customs-hold" and "support" in str(task.candidate_groups)
    instance.is_waiting_at("Catch_customs_update", "UserTask_customs_hold")
    shipment.refresh_from_db()
    assert shipment.status == S.HELD and shipment.missing_documents == ["proof of value"]
    assert shipment.events.filter(event="customer_notified", detail__template="customs_hold")

    customs_update(client, shipment, "cleared", event_id="c1")
    deployed.run_handlers()

    task.refresh_from_db()
    assert task.state != "CREATED"  # the clearance closed the hold task
    instance.has_passed("Task_book_carrier").is_waiting_at("Gateway_track_event")


def test_support_provides_documents_then_customs_clears(deployed, shop):
    client = Client()
    _order, shipment = place(deployed, shop, country="GB")
    instance = deployed.instance(shipment.process_instance_key)
    customs_update(client, shipment, "held", event_id="h1")
    deployed.run_handlers()

    deployed.complete_user_task(
        "UserTask_customs_hold",
        {"hold": {"decision": "documents", "documents": ["proof of value"], "by": "sam"}},
    )
    deployed.run_handlers()

    instance.has_passed("Task_send_documents").is_waiting_at("Catch_customs_update")
    assert shipment.events.filter(event="documents_sent").count() == 1
    customs_update(client, shipment, "cleared", event_id="c1")
    deployed.run_handlers()
    instance.has_passed("End_cleared")


@pytest.mark.parametrize("how", ["customs rejects", "support cancels the hold"])
def test_rejected_compensates_once(deployed, shop, how):
    client = Client()
    order, shipment = place(deployed, shop, country="CH", shipping=700)
    instance = deployed.instance(shipment.process_instance_key)
    vendor_accepts(deployed, shipment)
    if how == "customs rejects":
        customs_update(client, shipment, "rejected", event_id="r1", reason="Licence missing")
    else:
        customs_update(client, shipment, "held", event_id="h1")
        deployed.run_handlers()
        deployed.complete_user_task(
            "UserTask_customs_hold",
            {"hold": {"decision": "cancel", "note": "no docs", "by": "sam"}},
        )
    deployed.run_handlers()

    instance.is_completed().has_passed("End_rejected", times=1)
    instance.has_passed("Task_refund_rejected", times=1).has_passed("Task_return_goods", times=1)
    shipment.refresh_from_db()
    assert shipment.status == S.COMPENSATED and shipment.goods_returned_at
    [refund] = Refund.objects.filter(order=order)
    assert refund.amount_minor == 12_900 + 700
    sub_order = shipment.sub_order
    sub_order.refresh_from_db()
    assert sub_order.status == VendorSubOrder.S.REJECTED
    assert PayoutHold.objects.get(sub_order=sub_order).status == PayoutHold.S.CANCELLED
    # the marketplace order undid its part too, without a second refund
    marketplace = deployed.instance(order.process_instance_key)
    marketplace.has_passed("Task_refund_vendor_share", times=1)
    assert Refund.objects.filter(order=order).count() == 1


def test_ddp_prepays_and_dap_tells_the_customer(deployed, shop):
    _order, dap = place(deployed, shop, country="US")
    dap.refresh_from_db()
    deployed.instance(dap.process_instance_key).has_passed("Task_notify_duties")
    assert dap.duties_payer == "buyer" and dap.duties_notice_sent_at and not dap.duties_prepaid_at
    [notice] = Notification.objects.filter(template="customs/duties_due")
    assert notice.to == dap.order.customer.email
    assert re.fullmatch(
        rf"Your parcel {dap.sub_order.number} crosses a border: duties and taxes "
        r"\((\S+ )?[^()]+\) are due on delivery, paid to the carrier\.",
        notice.body.strip(),
    ), notice.body

    _order, ddp = place(deployed, shop, country="US", address={"incoterm": "DDP"})
    ddp.refresh_from_db()
    deployed.instance(ddp.process_instance_key).has_passed("Task_prepay_duties").has_not_passed(
        "Task_notify_duties"
    )
    assert ddp.duties_payer == "seller" and ddp.duties_prepaid_at and not ddp.duties_notice_sent_at
    assert ddp.events.filter(event="duties_prepaid").count() == 1


def test_certificate_of_origin_when_a_rule_says_so(deployed, shop):
    OriginCertificateRule.objects.create(
        destination="AU", reason="Preferential origin claim", valid_from=dt.date(2020, 1, 1)
    )
    _order, to_au = place(deployed, shop, country="AU")
    deployed.instance(to_au.process_instance_key).has_passed("Task_origin_certificate")
    assert to_au.documents.filter(kind=CustomsDocument.ORIGIN).exists()
    _order, to_jp = place(deployed, shop, country="JP")
    deployed.instance(to_jp.process_instance_key).has_not_passed("Task_origin_certificate")


def test_tracking_timer_checks_daily_until_delivered(deployed, shop):
    client = Client()
    order, shipment = place(deployed, shop, country="CA")
    instance = deployed.instance(shipment.process_instance_key)
    vendor_accepts(deployed, shipment)
    customs_update(client, shipment, "cleared", event_id="c1")
    deployed.run_handlers()

    deployed.increase_time(dt.timedelta(hours=23))
    deployed.run_handlers()
    instance.has_not_passed("Task_check_carrier")
    for day in (1, 2):
        deployed.increase_time(dt.timedelta(hours=24 if day > 1 else 1))
        deployed.run_handlers()
        instance.has_passed("Task_check_carrier", times=day).is_waiting_at("Gateway_track_event")
    deployed.increase_time(dt.timedelta(hours=24))
    deployed.run_handlers()  # the sandbox carrier reports delivery at the third check

    instance.is_completed().has_passed("Task_check_carrier", times=3)
    shipment.refresh_from_db()
    assert shipment.tracking_checks == 3 and shipment.status == S.DELIVERED
    order.refresh_from_db()
    assert order.status == Order.S.COMPLETED


def test_duplicate_and_out_of_order_broker_webhooks(deployed, shop):
    client = Client()
    _order, shipment = place(deployed, shop, country="GB")
    instance = deployed.instance(shipment.process_instance_key)
    now = dt.datetime.now(dt.UTC)
    held = {
        "missing_documents": ["invoice"],
        "occurred_at": (now - dt.timedelta(hours=2)).isoformat(),
    }

    first = customs_update(client, shipment, "held", event_id="h1", **held)
    again = customs_update(client, shipment, "held", event_id="h1", **held)
    deployed.run_handlers()
    assert first.json()["status"] == "processed" and again.json()["status"] == "duplicate"
    assert len(instance.user_tasks("UserTask_customs_hold")) == 1

    cleared = customs_update(
        client, shipment, "cleared", event_id="c1", occurred_at=now.isoformat()
    )
    late_held = customs_update(
        client, shipment, "held", event_id="h0",
        occurred_at=(now - dt.timedelta(hours=3)).isoformat(),
    )  # fmt: skip
    deployed.run_handlers()
    assert cleared.status_code == 200 and late_held.status_code == 200
    shipment.refresh_from_db()
    assert shipment.status == S.SHIPPED
    assert shipment.events.filter(event__in=["customs_update_stale", "customs_update_ignored"])
    assert len(instance.user_tasks("UserTask_customs_hold")) == 1
    instance.has_passed("Catch_customs_update", times=2)


def test_a_vendor_cannot_ship_a_cross_border_part_before_clearance(deployed, shop):
    from core.errors import ApplicationError
    from vendors import services as vendor_services

    _order, shipment = place(deployed, shop, country="US")
    with pytest.raises(ApplicationError, match="ships once customs clears it"):
        vendor_services.sub_order_ship(
            sub_order=shipment.sub_order, carrier="dhl", tracking_number="1", actor="vendor:x"
        )


def test_whole_order_cancelled_meanwhile_withdraws_the_shipment(deployed, shop):
    from orders import services as order_services

    client = Client()
    order, shipment = place(deployed, shop, country="US")
    instance = deployed.instance(shipment.process_instance_key)
    order_services.order_cancel_request(order=order, reason="Customer changed their mind")
    deployed.run_handlers()
    customs_update(client, shipment, "cleared", event_id="c1")
    deployed.run_handlers()

    instance.is_completed().has_passed("End_withdrawn").has_not_passed("Task_check_carrier")
    shipment.refresh_from_db()
    assert shipment.status == S.WITHDRAWN
    assert Refund.objects.filter(order=order).count() == 1
    assert Charge.objects.get(order=order).status == Charge.S.REFUNDED


def test_delivery_reported_on_the_marketplace_carrier_webhook_ends_tracking(deployed, shop):
    from vendors import services as vendor_services

    _order, shipment = place(deployed, shop, country="GB")
    instance = deployed.instance(shipment.process_instance_key)
    customs_update(Client(), shipment, "cleared", event_id="c1")
    deployed.run_handlers()
    shipment.refresh_from_db()
    vendor_services.sub_order_deliver(sub_order=shipment.sub_order, actor="carrier:sandbox")
    deployed.run_handlers()
    deployed.increase_time(dt.timedelta(hours=24))
    deployed.run_handlers()
    instance.is_completed().has_passed("Task_check_carrier", times=1)
