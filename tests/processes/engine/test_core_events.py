"""Core conformance: timers, messages, terminate end, sub-processes, receive/script tasks."""

from __future__ import annotations

import datetime as dt

import pytest

from processes.engine.runtime import Rejection
from processes.models import Job, Message, Timer, UserTask

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ timers
def test_intermediate_timer_duration_fires_only_when_due(process):
    # given
    process.deploy("core-timer-duration.bpmn")
    instance = process.start("core-timer-duration")
    [timer] = Timer.objects.filter(process_instance_key=instance.key)
    assert timer.due_at == process.now + dt.timedelta(hours=1)

    # when / then: never early
    process.increase_time(dt.timedelta(minutes=59, seconds=59))
    instance.is_waiting_at("CoolOff")
    process.increase_time(dt.timedelta(seconds=1))
    instance.is_completed().has_passed("CoolOff")
    assert not Timer.objects.filter(process_instance_key=instance.key).exists()


def test_intermediate_timer_date(process):
    process.deploy("core-timer-date.bpmn")
    instance = process.start("core-timer-date")

    process.set_time(dt.datetime(2099, 3, 1, 8, 59, tzinfo=dt.UTC))
    instance.is_waiting_at("Launch")
    process.set_time(dt.datetime(2099, 3, 1, 9, 0, tzinfo=dt.UTC))

    instance.is_completed()


def test_non_interrupting_cycle_boundary_fires_three_times(process):
    # given
    process.deploy("core-timer-boundary.bpmn")
    instance = process.start("core-timer-boundary")

    # when
    for _minute in range(5):
        process.increase_time(dt.timedelta(minutes=1))

    # then: R3 → exactly three boundary instances; the task is untouched
    instance.has_passed("Reminder", times=3).has_passed("Reminded", times=3)
    instance.is_waiting_at("Pick")
    process.complete_job("pick")
    instance.is_completed().has_not_passed("Deadline")
    assert not Timer.objects.filter(process_instance_key=instance.key).exists()


def test_interrupting_timer_boundary_terminates_the_task(process):
    process.deploy("core-timer-boundary.bpmn")
    instance = process.start("core-timer-boundary")
    [job] = instance.jobs("pick")

    process.increase_time(dt.timedelta(minutes=10))

    instance.is_completed().has_passed("Deadline").has_passed("EndLate").has_not_passed("Pick")
    job.refresh_from_db()
    assert job.state == Job.CANCELED


# ------------------------------------------------------------------ messages
def test_message_catch_correlates_by_name_and_key(process):
    # given
    process.deploy("core-message-catch.bpmn")
    instance = process.start("core-message-catch", {"orderId": "A-1"})
    instance.is_waiting_for_message("payment-received", "A-1")

    # when
    _key, other = process.publish_message("payment-received", "B-2")
    _key, reached = process.publish_message("payment-received", "A-1", {"paid": 12})

    # then
    assert other == []
    assert reached == [instance.key]
    instance.is_completed().has_variables(paid=12)


def test_numeric_correlation_key_becomes_its_string(process):
    process.deploy("core-message-catch.bpmn")
    instance = process.start("core-message-catch", {"orderId": 123})

    instance.is_waiting_for_message("payment-received", "123")
    process.publish_message("payment-received", "123")

    instance.is_completed()


def test_buffered_message_with_ttl_correlates_later(process):
    # given: published before anyone waits
    process.deploy("core-message-catch.bpmn")
    process.publish_message("payment-received", "A-1", {"paid": 5}, ttl_ms=60_000)

    # when
    instance = process.start("core-message-catch", {"orderId": "A-1"})

    # then
    instance.is_completed().has_variables(paid=5)


def test_buffered_message_is_gone_after_ttl(process):
    process.deploy("core-message-catch.bpmn")
    process.publish_message("payment-received", "A-1", ttl_ms=60_000)

    process.increase_time(dt.timedelta(minutes=2))
    instance = process.start("core-message-catch", {"orderId": "A-1"})

    instance.is_waiting_at("AwaitPayment")
    assert not Message.objects.exists()


def test_message_without_ttl_is_not_buffered(process):
    _key, reached = process.publish_message("payment-received", "A-1")

    assert reached == []
    assert not Message.objects.filter(expires_at__gt=process.now).exists()


def test_message_id_is_deduplicated_while_buffered_then_free(process):
    # given
    process.publish_message("payment-received", "A-1", ttl_ms=60_000, message_id="m-1")

    # when / then
    with pytest.raises(Rejection) as info:
        process.publish_message("payment-received", "A-1", ttl_ms=60_000, message_id="m-1")
    assert info.value.rejection_type == "ALREADY_EXISTS"
    process.publish_message("payment-received", "B-2", ttl_ms=60_000, message_id="m-1")
    process.increase_time(dt.timedelta(minutes=1))
    process.publish_message("payment-received", "A-1", ttl_ms=60_000, message_id="m-1")


def test_a_buffered_message_correlates_once_per_process(process):
    # given: two catch events in a row waiting for the same name and key
    process.deploy("core-message-twice.bpmn")
    process.publish_message("payment-received", "A-1", {"n": 1}, ttl_ms=60_000)

    # when
    instance = process.start("core-message-twice", {"orderId": "A-1"})

    # then: the buffered message is used by the first catch only
    instance.has_passed("FirstPayment").is_waiting_at("SecondPayment")
    second = process.start("core-message-twice", {"orderId": "A-1"})
    second.is_waiting_at("FirstPayment")
    process.publish_message("payment-received", "A-1", {"n": 2})
    # exactly one of the two subscriptions of this process id gets the new message
    assert instance.passed_count("SecondPayment") + second.passed_count("FirstPayment") == 1


def test_message_boundary_interrupts_the_task(process):
    process.deploy("core-message-boundary.bpmn")
    instance = process.start("core-message-boundary", {"orderId": "A-1"})
    [job] = instance.jobs("ship")

    process.publish_message("order-cancelled", "A-1", {"reason": "customer"})

    instance.is_completed().has_passed("Cancelled").has_passed("EndCancelled")
    instance.has_not_passed("Ship").has_variables(reason="customer")
    job.refresh_from_db()
    assert job.state == Job.CANCELED


def test_message_boundary_closed_after_task_completes(process):
    process.deploy("core-message-boundary.bpmn")
    instance = process.start("core-message-boundary", {"orderId": "A-1"})

    process.complete_job("ship")

    instance.is_completed().is_not_waiting_for_message("order-cancelled")
    _key, reached = process.publish_message("order-cancelled", "A-1")
    assert reached == []


# ------------------------------------------------------------------ tasks
def test_receive_task_waits_for_its_message(process):
    process.deploy("core-receive-task.bpmn")
    instance = process.start("core-receive-task", {"parcelId": "P-7"})

    instance.is_waiting_at("AwaitScan").is_waiting_for_message("parcel-scanned", "P-7")
    process.publish_message("parcel-scanned", "P-7", {"depot": "north"})

    instance.is_completed().has_variables(depot="north")


def test_script_task_stores_its_result(process):
    process.deploy("core-script-task.bpmn")

    instance = process.start("core-script-task", {"net": 100, "tax": 19})

    instance.is_completed().has_passed("Total").has_variables(total=119)


# ------------------------------------------------------------------ terminate end
def test_terminate_end_event_ends_other_paths_and_completes(process):
    # given
    process.deploy("core-terminate.bpmn")
    instance = process.start("core-terminate")
    [job] = instance.jobs("slow")

    # when
    process.complete_user_task("Approve")

    # then
    instance.is_completed().has_passed("Stop").has_not_passed("Slow", "End")
    job.refresh_from_db()
    assert job.state == Job.CANCELED


# ------------------------------------------------------------------ embedded sub-process
def test_sub_process_scoped_variables_and_output_mapping(process):
    # given
    process.deploy("core-subprocess.bpmn")
    instance = process.start("core-subprocess", {"size": "m"})

    # then: the input-mapped local lives in the sub-process scope
    instance.is_waiting_at("Pack").has_active_elements("Fulfil")
    assert instance.local_variables("Fulfil") == {"packaging": "box-m"}
    assert process.activate_job("pack").variables == {"size": "m", "packaging": "box-m"}
    instance.has_no_variable("packaging")

    # when
    process.complete_job("pack", {"weight": 3})

    # then: job results reach the root, locals only through output mappings
    instance.is_completed().has_variables(weight=3, usedPackaging="box-m")
    instance.has_no_variable("packaging")


def test_timer_boundary_on_sub_process_terminates_its_content(process):
    process.deploy("core-subprocess.bpmn")
    instance = process.start("core-subprocess", {"size": "m"})
    [job] = instance.jobs("pack")

    process.increase_time(dt.timedelta(hours=1))

    instance.is_completed().has_passed("TooSlow").has_passed("EndLate")
    instance.has_not_passed("Fulfil", "Pack").has_no_variable("usedPackaging")
    job.refresh_from_db()
    assert job.state == Job.CANCELED
    assert not UserTask.objects.exists()
