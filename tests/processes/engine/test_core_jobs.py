"""Core conformance: service task jobs, retries, back-off, time-outs, incidents, errors.

https://docs.camunda.io/docs/components/concepts/job-workers/ and https://docs.camunda.io/docs/components/concepts/incidents/
"""

from __future__ import annotations

import datetime as dt

import pytest

from processes.engine import service
from processes.engine.runtime import Rejection
from processes.models import Incident, Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipping(process):
    """An instance waiting at the ``Ship`` task (static job type, two headers)."""
    process.deploy("core-job-lifecycle.bpmn")
    return process.start("core-job-lifecycle", {"orderId": "A-1", "paymentMethod": "card"})


def test_job_carries_type_headers_default_retries_and_visible_variables(process, shipping):
    # when
    activated = process.activate_job("ship-parcel")

    # then
    job = activated.job
    assert job.element_id == "Ship"
    assert job.retries == 3
    assert job.custom_headers == {"carrier": "dhl", "speed": "express"}
    assert activated.variables == {"orderId": "A-1", "paymentMethod": "card"}
    assert job.process_instance_key == shipping.key
    shipping.is_waiting_at("Ship")


def test_completing_the_job_merges_its_variables_and_moves_on(process, shipping):
    process.complete_job("ship-parcel", {"trackingId": "T-9"})

    shipping.has_passed("Ship").has_variables(trackingId="T-9")


def test_feel_job_type_and_static_retries(process):
    # given
    process.deploy("core-service-task.bpmn")
    instance = process.start("core-service-task", {"paymentMethod": "card"})
    process.complete_job("ship-parcel")

    # when
    activated = process.activate_job("charge-card")

    # then
    assert activated.job.element_id == "Charge"
    assert activated.job.retries == 5
    process.complete_job("charge-card")
    instance.is_completed()


def test_job_variables_are_the_visible_scope_including_locals(process):
    process.deploy("core-propagation.bpmn")
    process.start("core-propagation", {"a": 1})

    activated = process.activate_job("work")

    assert activated.variables == {"a": 1, "c": 2}


def test_fail_with_retries_left_offers_the_job_again(process, shipping):
    # when
    process.fail_job("ship-parcel", retries=2, message="carrier down")

    # then
    [job] = shipping.jobs("ship-parcel")
    assert (job.state, job.retries, job.error_message) == (Job.ACTIVATABLE, 2, "carrier down")
    shipping.has_no_incidents()
    process.complete_job("ship-parcel")
    shipping.has_passed("Ship")


def test_fail_with_back_off_waits_for_the_clock(process, shipping):
    # given
    process.fail_job("ship-parcel", retries=2, backoff=dt.timedelta(seconds=30))

    # then: not before the back-off has passed
    assert service.activate_jobs("ship-parcel") == []
    process.increase_time(dt.timedelta(seconds=29))
    assert service.activate_jobs("ship-parcel") == []
    process.increase_time(dt.timedelta(seconds=1))
    process.complete_job("ship-parcel")
    shipping.has_passed("Ship")


def test_fail_variables_are_local_to_the_task(process, shipping):
    process.fail_job("ship-parcel", retries=1, variables={"attempt": 1})

    assert shipping.local_variables("Ship") == {"attempt": 1}
    shipping.has_no_variable("attempt")


def test_no_retries_left_raises_incident_then_update_and_resolve_offers_it_again(process, shipping):
    # given
    job_key = process.fail_job("ship-parcel", retries=0, message="label printer on fire")
    shipping.has_incident("JOB_NO_RETRIES", "Ship", message_contains="label printer on fire")
    assert service.activate_jobs("ship-parcel") == []

    # when: resolving without retries is refused
    incident = process.incident(shipping, error_type="JOB_NO_RETRIES")
    with pytest.raises(Rejection) as info:
        service.resolve_incident(incident.key)
    assert info.value.rejection_type == "INVALID_STATE"

    # when: retries updated, then resolved
    process.update_retries(job_key, 1)
    shipping.has_incident("JOB_NO_RETRIES")  # updating retries does not resolve
    process.resolve_incident(shipping, error_type="JOB_NO_RETRIES")

    # then
    shipping.has_no_incidents()
    assert process.complete_job("ship-parcel") == job_key
    shipping.has_passed("Ship", times=1)


def test_no_retries_default_incident_message(process, shipping):
    process.fail_job("ship-parcel", retries=0)

    shipping.has_incident("JOB_NO_RETRIES", message_contains="No more retries left.")


def test_update_retries_below_one_is_rejected(process, shipping):
    job = shipping.jobs("ship-parcel")[0]

    with pytest.raises(Rejection) as info:
        service.update_job(job.key, retries=0)

    assert info.value.rejection_type == "INVALID_ARGUMENT"


def test_timed_out_job_is_activated_again_with_retries_unchanged(process, shipping):
    # given
    first = service.activate_jobs("ship-parcel", worker="w1", timeout_ms=60_000)
    assert len(first) == 1
    assert service.activate_jobs("ship-parcel", worker="w2") == []

    # when
    process.increase_time(dt.timedelta(seconds=61))
    again = service.activate_jobs("ship-parcel", worker="w2")

    # then
    assert [a.job.key for a in again] == [first[0].job.key]
    assert again[0].job.retries == 3
    assert again[0].job.worker == "w2"


def test_job_completed_after_time_out_is_still_accepted(process, shipping):
    [activated] = service.activate_jobs("ship-parcel", timeout_ms=1_000)
    process.increase_time(dt.timedelta(seconds=5))

    service.complete_job(activated.job.key, {"late": True})

    shipping.has_passed("Ship").has_variables(late=True)


def test_failing_a_completed_job_is_rejected(process, shipping):
    job_key = process.complete_job("ship-parcel")

    with pytest.raises(Rejection) as info:
        service.fail_job(job_key, retries=1)

    assert info.value.rejection_type == "NOT_FOUND"


# ------------------------------------------------------------------ BPMN errors
def test_error_boundary_catches_matching_code(process):
    process.deploy("core-error-boundary.bpmn")
    instance = process.start("core-error-boundary")

    process.throw_error("charge", "CARD_DECLINED", {"reason": "expired"})

    instance.is_completed().has_passed("Declined").has_passed("EndDeclined")
    instance.has_not_passed("Charge", "AnyError", "End")
    # error variables stay local to the catching event without output mappings
    instance.has_no_variable("reason")
    [job] = instance.jobs("charge")
    assert job.state == Job.ERROR_THROWN


def test_catch_all_error_boundary_catches_other_codes(process):
    process.deploy("core-error-boundary.bpmn")
    instance = process.start("core-error-boundary")

    process.throw_error("charge", "GATEWAY_TIMEOUT")

    instance.is_completed().has_passed("AnyError").has_not_passed("Declined")


def test_uncaught_error_raises_unhandled_error_incident_resolved_by_reoffering_job(process):
    # given
    process.deploy("core-error-uncaught.bpmn")
    instance = process.start("core-error-uncaught")

    # when
    job_key = process.throw_error("charge-uncaught", "CARD_DECLINED", message="no funds")

    # then
    instance.is_active().has_incident(
        "UNHANDLED_ERROR_EVENT", "Charge", message_contains="CARD_DECLINED"
    )
    incident = process.incident(instance)
    assert incident.job_key == job_key
    process.resolve_incident(instance)
    instance.has_no_incidents()
    assert Incident.objects.get(key=incident.key).state == Incident.RESOLVED
    process.complete_job("charge-uncaught")
    instance.is_completed()


def test_completing_a_job_after_error_thrown_is_rejected(process):
    process.deploy("core-error-boundary.bpmn")
    process.start("core-error-boundary")
    job_key = process.throw_error("charge", "CARD_DECLINED")

    with pytest.raises(Rejection):
        service.complete_job(job_key)


def test_complete_job_without_job_fails_with_description(process, shipping):
    with pytest.raises(AssertionError) as info:
        process.complete_job("no-such-type")

    assert "no-such-type" in str(info.value)
    assert "ship-parcel at Ship" in str(info.value)


def test_mock_job_completes_current_and_future_jobs(process):
    process.deploy("core-parallel.bpmn")
    process.mock_job("pack", {"packed": True})

    first = process.start("core-parallel")
    second = process.start("core-parallel")

    for instance in (first, second):
        instance.has_passed("Pack").is_waiting_at("Invoice").has_variables(packed=True)


# ------------------------------------------------------------------ registered job handlers
@pytest.fixture
def packing_handlers():
    """Handlers for the pack/invoice jobs of core-parallel, registered for one test."""
    from processes import jobs

    @jobs.job_handler("pack", retry_backoff_ms=0)
    def pack(job):
        return {"parcels": 2}

    @jobs.job_handler("invoice", retry_backoff_ms=0)
    def invoice(job):
        raise RuntimeError("ledger closed")

    yield
    jobs.unregister("pack")
    jobs.unregister("invoice")


def test_run_handlers_runs_registered_handlers_until_idle(process, packing_handlers):
    # given
    process.deploy("core-parallel.bpmn")
    instance = process.start("core-parallel")

    # when
    ran = process.run_handlers()

    # then: pack completed once; invoice failed until no retries were left (3 attempts)
    assert ran == 4
    instance.has_passed("Pack").has_variables(parcels=2)
    instance.has_incident("JOB_NO_RETRIES", "Invoice", message_contains="ledger closed")
