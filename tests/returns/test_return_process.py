"""The return-request process, one test per path, with the real job handlers.

Scores in these tests (seeded indicators): a loyal customer returning a little scores 0 (auto);
returning most of one's only order fires the return ratio (30: approve with inspection); a new
account returning over 5,000 late in the window scores 80 (support review).
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import ApplicationError
from orders.models import Charge, Refund
from processes.models import UserTask
from returns import selectors, services
from returns.models import (
    FraudAssessment,
    Inspection,
    ReturnLabel,
    ReturnRefund,
    ReturnRequest,
    StoreCreditEntry,
    VendorReturnAdjustment,
)
from vendors import services as vendor_services
from vendors.models import Payout, PayoutHold, StockItem

from .conftest import delivered_order
from .helpers import complete, loyal, new_account, receive, request_return

S = ReturnRequest.S


def on_hand(product) -> int:
    return StockItem.objects.get(product=product).on_hand


def last_message(return_request: ReturnRequest) -> str:
    """The body of the last message to the customer (sent by e-mail after commit)."""
    sent = return_request.history.filter(event="customer_notified").order_by("-id").first()
    return sent.detail["body"] if sent else ""


def flagged_order(customer, shop):
    """A new account returning 8 speakers (5,199.92) 26 days after delivery: score 80."""
    new_account(customer)
    return delivered_order(customer=customer, items=[(shop.speaker, 8)], delivered_days_ago=26)


def test_process_model_every_service_task_has_a_handler():
    from processes.engine.bpmn import parse_bpmn
    from processes.jobs import registry

    from .conftest import BPMN

    [model] = parse_bpmn(BPMN.read_text(), BPMN.name)
    types = {el.task.type_expr for el in model.elements.values() if el.task is not None}
    assert len(types) == 12
    assert types <= set(registry()), types - set(registry())


def test_low_risk_return_is_auto_approved_refunded_under_threshold_and_restocked(
    deployed, shop, customer
):
    # given a loyal customer returning one pair of headphones (129.00)
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 1), (shop.cable, 2)])
    stock_before = on_hand(shop.headphones)

    # when
    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])

    # then: scored 0, approved without review, label sent, waiting for the item
    assessment = FraudAssessment.objects.get(return_request=return_request)
    assert assessment.score == 0 and assessment.route == "auto"
    assert {i["code"] for i in assessment.indicators} >= {"return-ratio", "account-age"}
    assert return_request.status == S.AWAITING_ITEM
    assert ReturnLabel.objects.filter(return_request=return_request).exists()
    instance.is_waiting_at("Receive_item").has_not_passed("UserTask_review")

    return_request = receive(deployed, return_request)

    instance.is_completed().has_not_passed("UserTask_inspection", "UserTask_refund_approval")
    assert return_request.status == S.COMPLETED
    refund = ReturnRefund.objects.get(return_request=return_request)
    assert (refund.amount_minor, refund.needs_approval, refund.status) == (12_900, False, "issued")
    [order_refund] = Refund.objects.filter(order=order)
    assert order_refund.amount_minor == 12_900 and refund.order_refund == order_refund
    charge = Charge.objects.get(order=order)
    assert charge.refunded_minor == 12_900 and charge.status == Charge.S.PARTIALLY_REFUNDED
    assert on_hand(shop.headphones) == stock_before + 1
    assert return_request.history.filter(event="customer_notified").count() == 1
    assert "refunded: 129.00 EUR" in last_message(return_request)


def test_flagged_return_review_approve_then_manager_approves_refund_over_threshold(
    deployed, shop, customer, support, manager
):
    order = flagged_order(customer, shop)
    return_request, instance = request_return(deployed, order, [("AA-SPK-9", 8)])

    assessment = FraudAssessment.objects.get(return_request=return_request)
    assert assessment.score == 80 and assessment.route == "review"
    fired = {i["code"] for i in assessment.indicators if i["fired"]}
    assert fired == {"account-age", "return-ratio", "returned-value-90d", "days-from-delivery"}
    task = deployed.user_task("UserTask_review", instance)
    assert task.form_key == "return-review" and task.candidate_groups == ["support"]
    assert return_request.status == S.IN_REVIEW

    complete(deployed, "UserTask_review", instance, support, review={"decision": "approve"})
    return_request.refresh_from_db()
    assert return_request.status == S.AWAITING_ITEM
    assert return_request.reviewed_by == support and not return_request.inspection_required

    receive(deployed, return_request)
    approval = deployed.user_task("UserTask_refund_approval", instance)
    assert approval.form_key == "refund-approval" and approval.candidate_groups == ["managers"]
    refund = ReturnRefund.objects.get(return_request=return_request)
    assert refund.needs_approval and refund.amount_minor == 519_992
    assert refund.status == ReturnRefund.S.PENDING_APPROVAL

    complete(
        deployed,
        "UserTask_refund_approval",
        instance,
        manager,
        refundApproval={"decision": "approve", "note": "checked"},
    )

    instance.is_completed()
    refund.refresh_from_db()
    assert refund.status == ReturnRefund.S.ISSUED and refund.approved_by == manager
    assert Refund.objects.get(order=order).amount_minor == 519_992


def test_flagged_return_review_reject_tells_customer_why(deployed, shop, customer, support):
    order = flagged_order(customer, shop)
    return_request, instance = request_return(deployed, order, [("AA-SPK-9", 8)])

    complete(
        deployed,
        "UserTask_review",
        instance,
        support,
        review={"decision": "reject", "reason": "Serial numbers do not match our records"},
    )

    instance.is_completed().has_passed("Task_notify_rejected").has_not_passed("Task_label")
    return_request.refresh_from_db()
    assert return_request.status == S.REJECTED
    assert return_request.rejection_reason == "Serial numbers do not match our records"
    assert "Serial numbers do not match" in last_message(return_request)
    assert not ReturnLabel.objects.filter(return_request=return_request).exists()
    assert not Refund.objects.exists()


def test_medium_risk_return_is_inspected_and_failed_inspection_rejects(
    deployed, shop, customer, warehouse
):
    order = delivered_order(customer=customer, items=[(shop.headphones, 1)])
    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])
    assert FraudAssessment.objects.get(return_request=return_request).route == "inspect"
    receive(deployed, return_request)
    task = deployed.user_task("UserTask_inspection", instance)
    assert task.form_key == "return-inspection" and task.candidate_groups == ["warehouse"]

    complete(
        deployed,
        "UserTask_inspection",
        instance,
        warehouse,
        inspection={
            "condition": "used",
            "matchesOrder": False,
            "restockable": False,
            "notes": "Box held a different model",
        },
    )

    instance.is_completed().has_passed("Task_notify_rejected").has_not_passed("Task_refund_issue")
    return_request.refresh_from_db()
    assert return_request.status == S.REJECTED
    assert "does not match the order" in return_request.rejection_reason
    inspection = Inspection.objects.get(return_request=return_request)
    assert inspection.inspected_by == warehouse and not inspection.passed
    assert not Refund.objects.exists()


def test_item_never_arrives_return_closed_after_30_days(deployed, shop, customer):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 1)])
    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])

    deployed.increase_time(dt.timedelta(days=29))
    deployed.run_handlers()
    instance.is_waiting_at("Receive_item")

    deployed.increase_time(dt.timedelta(days=2))
    deployed.run_handlers()

    instance.is_completed().has_passed("Task_close_expired").has_passed("Task_notify_expired")
    return_request.refresh_from_db()
    assert return_request.status == S.EXPIRED
    assert "within 30 days" in last_message(return_request)
    with pytest.raises(ApplicationError):  # a late scan is refused, not refunded
        services.return_item_receive(return_request=return_request, actor="carrier:dhl")
    assert not Refund.objects.exists()


def test_inspected_refund_over_threshold_needs_manager_and_under_threshold_does_not(
    deployed, shop, customer, warehouse, manager
):
    # over: a 649.99 speaker, the customer's only order (ratio fires: inspection)
    order = delivered_order(customer=customer, items=[(shop.speaker, 1)])
    return_request, instance = request_return(deployed, order, [("AA-SPK-9", 1)])
    receive(deployed, return_request)
    complete(
        deployed,
        "UserTask_inspection",
        instance,
        warehouse,
        inspection={"condition": "as_new", "matchesOrder": True, "restockable": True},
    )
    instance.is_waiting_at("UserTask_refund_approval")
    assert ReturnRefund.objects.get(return_request=return_request).needs_approval

    complete(
        deployed,
        "UserTask_refund_approval",
        instance,
        manager,
        refundApproval={"decision": "approve"},
    )
    instance.is_completed()
    assert Refund.objects.get(order=order).amount_minor == 64_999


def test_manager_refuses_refund_return_rejected(deployed, shop, customer, warehouse, manager):
    order = delivered_order(customer=customer, items=[(shop.speaker, 1)])
    return_request, instance = request_return(deployed, order, [("AA-SPK-9", 1)])
    receive(deployed, return_request)
    complete(
        deployed,
        "UserTask_inspection",
        instance,
        warehouse,
        inspection={"condition": "opened", "matchesOrder": True, "restockable": True},
    )
    complete(
        deployed,
        "UserTask_refund_approval",
        instance,
        manager,
        refundApproval={"decision": "reject", "note": "Bought for an event, returned after"},
    )
    instance.is_completed().has_passed("Task_notify_rejected")
    return_request.refresh_from_db()
    assert return_request.status == S.REJECTED
    assert ReturnRefund.objects.get(return_request=return_request).status == "rejected"
    assert not Refund.objects.exists()


def test_four_eyes_the_manager_who_filed_the_return_cannot_approve_its_refund(
    deployed, shop, customer, warehouse, manager, manager2
):
    # given a manager files the return on the customer's behalf
    order = delivered_order(customer=customer, items=[(shop.speaker, 1)])
    return_request, instance = request_return(deployed, order, [("AA-SPK-9", 1)], user=manager)
    receive(deployed, return_request)
    complete(
        deployed,
        "UserTask_inspection",
        instance,
        warehouse,
        inspection={"condition": "as_new", "matchesOrder": True, "restockable": True},
    )
    refund = ReturnRefund.objects.get(return_request=return_request)
    assert refund.requested_by == manager

    # the service refuses directly ...
    with pytest.raises(ApplicationError) as refused:
        services.refund_approval_check(refund=refund, user=manager)
    assert refused.value.code == "four_eyes"

    # ... and when the same manager completes the task anyway, the process asks again
    complete(
        deployed,
        "UserTask_refund_approval",
        instance,
        manager,
        refundApproval={"decision": "approve"},
    )
    instance.has_passed("Boundary_four_eyes").is_waiting_at("UserTask_refund_approval")
    refund.refresh_from_db()
    assert refund.status == ReturnRefund.S.PENDING_APPROVAL and refund.approved_by is None
    assert not Refund.objects.exists()

    # then another manager approves
    complete(
        deployed,
        "UserTask_refund_approval",
        instance,
        manager2,
        refundApproval={"decision": "approve"},
    )
    instance.is_completed()
    refund.refresh_from_db()
    assert refund.status == ReturnRefund.S.ISSUED and refund.approved_by == manager2


def test_support_user_cannot_approve_a_refund_in_the_service(shop, customer, support, db):
    order = delivered_order(customer=customer, items=[(shop.speaker, 1)])
    return_request, _ = services.return_request_create(
        order=order,
        lines=[services.ReturnLineInput("AA-SPK-9", 1)],
        reason="size",
        user=customer.user,
        start_process=False,
    )
    refund = ReturnRefund.objects.create(
        return_request=return_request,
        amount_minor=64_999,
        currency="EUR",
        method="original",
        needs_approval=True,
        idempotency_key="k",
    )
    with pytest.raises(ApplicationError) as refused:
        services.refund_approval_check(refund=refund, user=support)
    assert refused.value.code == "permission"


def test_store_credit_refund_goes_to_the_ledger_not_the_card(deployed, shop, customer):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 2)])

    return_request, instance = request_return(
        deployed, order, [("AA-HP-100", 2)], refund_method="store_credit"
    )
    receive(deployed, return_request)

    instance.is_completed()
    [entry] = StoreCreditEntry.objects.filter(customer=customer)
    assert entry.amount_minor == 25_800 and entry.return_request == return_request
    assert selectors.store_credit_balance(customer=customer, currency="EUR") == 25_800
    assert not Refund.objects.filter(order=order).exists()
    assert Charge.objects.get(order=order).refunded_minor == 0


def test_marketplace_return_reverses_vendor_payouts_and_commission_exactly(
    deployed, shop, customer
):
    loyal(customer, shop)
    order = delivered_order(
        customer=customer,
        items=[(shop.headphones, 1), (shop.cable, 3), (shop.helmet, 1)],
        paid_out=True,
    )
    acme = order.sub_orders.get(vendor=shop.acme)
    bolt = order.sub_orders.get(vendor=shop.bolt)

    return_request, instance = request_return(deployed, order, [("AA-CBL-3", 1), ("BB-HLM-M", 1)])
    receive(deployed, return_request)

    instance.is_completed().has_passed("Task_vendor_reverse")
    adjustments = {a.sub_order_id: a for a in VendorReturnAdjustment.objects.all()}
    # acme: 14.90 at 15% -> commission 2.235 -> 2.24 (half-up), vendor 12.66
    assert (adjustments[acme.pk].commission_minor, adjustments[acme.pk].payout_minor) == (224, 1266)
    # bolt: 89.00 at 12% -> 10.68, vendor 78.32
    assert (adjustments[bolt.pk].commission_minor, adjustments[bolt.pk].payout_minor) == (
        1068,
        7832,
    )
    for adjustment in adjustments.values():
        assert adjustment.kind == VendorReturnAdjustment.K.PAYOUT_REVERSED
        assert adjustment.commission_minor + adjustment.payout_minor == adjustment.amount_minor
    assert sum(a.amount_minor for a in adjustments.values()) == return_request.amount_minor
    assert Payout.objects.get(sub_order=acme).reversed_minor == 1266
    assert Payout.objects.get(sub_order=acme).status == Payout.S.PARTIALLY_REVERSED
    assert Payout.objects.get(sub_order=bolt).reversed_minor == 7832
    assert Payout.objects.get(sub_order=bolt).status == Payout.S.REVERSED

    # returning the other two cables later reverses exactly the rest of acme's cable commission
    second, instance2 = request_return(deployed, order, [("AA-CBL-3", 2)])
    receive(deployed, second)
    instance2.is_completed()
    cables = VendorReturnAdjustment.objects.filter(sub_order=acme)
    cable_value = 3 * 1_490
    assert sum(cables.values_list("amount_minor", flat=True)) == cable_value
    commission_on_cables = sum(cables.values_list("commission_minor", flat=True))
    assert commission_on_cables == 671  # 4470 x 15% = 670.5 -> 671, half-up once
    assert Payout.objects.get(sub_order=acme).reversed_minor == cable_value - 671


def test_return_before_payout_reduces_the_vendor_hold(deployed, shop, customer):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.headphones, 2)], paid_out=False)
    acme = order.sub_orders.get(vendor=shop.acme)
    hold_before = PayoutHold.objects.get(sub_order=acme).amount_minor

    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])
    receive(deployed, return_request)

    instance.is_completed()
    [adjustment] = VendorReturnAdjustment.objects.all()
    assert adjustment.kind == VendorReturnAdjustment.K.HOLD_REDUCED
    assert adjustment.commission_minor == 1935 and adjustment.payout_minor == 10_965
    assert PayoutHold.objects.get(sub_order=acme).amount_minor == hold_before - 10_965

    # when the hold is later released, the vendor is paid the reduced amount
    vendor_services.payout_hold_release(sub_order_id=acme.pk)
    payout = vendor_services.payout_create(sub_order_id=acme.pk, idempotency_key="payout-later")
    assert payout.amount_minor == hold_before - 10_965 == 10_965


def test_open_review_tasks_count_for_support_navigation(deployed, shop, customer, support):
    order = flagged_order(customer, shop)
    request_return(deployed, order, [("AA-SPK-9", 8)])
    assert selectors.returns_nav_count(support) == 1
    assert UserTask.objects.filter(form_key="return-review", state=UserTask.CREATED).count() == 1
