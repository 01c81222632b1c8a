"""Core conformance: exclusive, parallel, inclusive and event-based gateways.

https://docs.camunda.io/docs/components/modeler/bpmn/gateways/
"""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ exclusive
@pytest.mark.parametrize(
    ("amount", "end"),
    [(500, "EndBig"), (50, "EndMedium"), (5, "EndSmall")],
)
def test_exclusive_takes_first_true_condition_in_order_else_default(process, amount, end):
    process.deploy("core-exclusive.bpmn")

    instance = process.start("core-exclusive", {"amount": amount})

    instance.is_completed().has_passed(end)
    others = {"EndBig", "EndMedium", "EndSmall"} - {end}
    instance.has_not_passed(*others)


def test_exclusive_without_match_or_default_raises_condition_error(process):
    # given
    process.deploy("core-exclusive-no-default.bpmn")

    # when
    instance = process.start("core-exclusive-no-default", {"amount": 5})

    # then
    instance.is_active().has_incident(
        "CONDITION_ERROR", "Amount", message_contains="Expected at least one condition"
    )
    instance.is_waiting_at("Amount")

    # when: the data is fixed and the incident resolved, the gateway is re-evaluated
    process.set_variables(instance, {"amount": 200})
    process.resolve_incident(instance, error_type="CONDITION_ERROR")

    # then
    instance.is_completed().has_passed("EndBig").has_no_incidents()


def test_exclusive_null_condition_is_extract_value_error_not_false(process):
    # given: amount missing → "amount > 100" is null, although the default flow exists
    process.deploy("core-exclusive.bpmn")

    # when
    instance = process.start("core-exclusive")

    # then
    instance.has_incident("EXTRACT_VALUE_ERROR", "Amount", message_contains="BOOLEAN")
    instance.has_not_passed("EndSmall")
    process.set_variables(instance, {"amount": 20})
    process.resolve_incident(instance)
    instance.is_completed().has_passed("EndMedium")


def test_repeated_failure_after_resolve_creates_a_new_incident(process):
    process.deploy("core-exclusive-no-default.bpmn")
    instance = process.start("core-exclusive-no-default", {"amount": 5})
    first = process.incident(instance)

    process.resolve_incident(instance)

    second = process.incident(instance)
    assert second.key != first.key
    assert len(instance.incidents(active=False)) == 2


# ------------------------------------------------------------------ parallel
def test_parallel_fork_creates_both_and_join_waits_for_both(process):
    # given
    process.deploy("core-parallel.bpmn")
    instance = process.start("core-parallel")
    instance.is_waiting_at("Pack", "Invoice")

    # when
    process.complete_job("pack")

    # then
    instance.is_active().is_waiting_at("Invoice").has_not_passed("Join")
    process.complete_job("invoice")
    instance.is_completed().has_passed("Join", times=1).has_passed("End", times=1)


def test_parallel_join_extra_token_waits_for_next_firing(process):
    # given: two tokens arrive on the same incoming flow of the join
    process.deploy("core-parallel-extra-token.bpmn")
    instance = process.start("core-parallel-extra-token")
    process.complete_job("pick-a")
    process.complete_job("pick-b")
    instance.has_not_passed("Join")

    # when
    process.complete_job("invoice")

    # then: the join fires once; the extra token keeps the instance alive, with no incident
    instance.has_passed("Join", times=1).has_passed("End", times=1)
    instance.is_active().has_no_incidents().has_no_active_elements()


# ------------------------------------------------------------------ inclusive
def test_inclusive_takes_every_true_flow_and_joins_them(process):
    process.deploy("core-inclusive.bpmn")
    instance = process.start("core-inclusive", {"email": True, "sms": True})

    instance.is_waiting_at("Email", "Sms")
    process.complete_job("sms")
    instance.is_waiting_at("Email").has_not_passed("Join")
    process.complete_job("email")

    instance.is_completed().has_passed("Join", times=1).has_not_passed("Letter")


def test_inclusive_join_fires_when_no_other_token_can_arrive(process):
    process.deploy("core-inclusive.bpmn")
    instance = process.start("core-inclusive", {"email": True, "sms": False})

    instance.is_waiting_at("Email")
    process.complete_job("email")

    instance.is_completed().has_passed("Join", times=1).has_not_passed("Sms")


def test_inclusive_falls_back_to_default(process):
    process.deploy("core-inclusive.bpmn")
    instance = process.start("core-inclusive", {"email": False, "sms": False})

    instance.is_waiting_at("Letter")
    process.complete_job("letter")
    instance.is_completed()


# ------------------------------------------------------------------ event-based
def test_event_gateway_message_first_closes_the_timer(process):
    # given
    process.deploy("core-event-gateway.bpmn")
    instance = process.start("core-event-gateway", {"orderId": "A-1"})
    instance.is_waiting_at("Await").is_waiting_for_message("payment-received", "A-1")

    # when
    process.publish_message("payment-received", "A-1", {"paidAmount": 10})

    # then
    instance.is_completed().has_passed("Paid").has_passed("EndPaid").has_not_passed("TimedOut")
    instance.has_variables(paidAmount=10)
    process.increase_time(dt.timedelta(minutes=20))
    instance.has_not_passed("TimedOut")


def test_event_gateway_timer_first_closes_the_subscription(process):
    process.deploy("core-event-gateway.bpmn")
    instance = process.start("core-event-gateway", {"orderId": "A-1"})

    process.increase_time(dt.timedelta(minutes=10))

    instance.is_completed().has_passed("TimedOut").has_not_passed("Paid")
    instance.is_not_waiting_for_message("payment-received")
    _key, reached = process.publish_message("payment-received", "A-1")
    assert reached == []
