"""The in-process worker pool drives processes to completion on the real (committed) database."""

from __future__ import annotations

import threading

import pytest

from processes import jobs
from processes.engine import service
from processes.models import ElementInstance, Record
from processes.workers import WorkerPool
from tests.processes.workers.conftest import tasks_in_row, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def completed(instance_key: int) -> bool:
    state = ElementInstance.objects.filter(key=instance_key).values_list("state", flat=True)
    return state.first() == ElementInstance.COMPLETED


def test_pool_drives_a_three_task_process_to_completion(register):
    threads_seen: set[str] = set()

    def handler(job: jobs.Job) -> dict:
        threads_seen.add(threading.current_thread().name)
        return {job.type.replace("-", "_"): True}

    for job_type in ("wt-pool-a", "wt-pool-b", "wt-pool-c"):
        register(job_type)(handler)
    service.deploy(
        [("wt-pool.bpmn", tasks_in_row("wt-pool", ["wt-pool-a", "wt-pool-b", "wt-pool-c"]))]
    )
    # when
    with WorkerPool(threads=2, interval=0.2) as pool:
        keys = [service.create_instance(process_id="wt-pool").key for _ in range(5)]
        wait_until(lambda: all(completed(k) for k in keys), what="instances to complete")
    # then
    assert pool.errors == 0
    completions = Record.objects.filter(
        value_type="JOB", intent="COMPLETED", process_instance_key__in=keys
    )
    assert completions.count() == 15
    assert all(name.startswith("inprocess-worker") for name in threads_seen)


def test_pool_retries_a_failing_job_and_leaves_an_incident(register):
    attempts: list[int] = []

    @register("wt-pool-fail")
    def broken(job: jobs.Job) -> dict:
        attempts.append(job.retries)
        raise RuntimeError("still broken")

    service.deploy([("wt-pf.bpmn", tasks_in_row("wt-pool-fail-p", ["wt-pool-fail"], retries=2))])
    with WorkerPool(threads=1, interval=0.1):
        key = service.create_instance(process_id="wt-pool-fail-p").key
        wait_until(
            lambda: ElementInstance.objects.filter(
                process_instance_key=key, has_incident=True
            ).exists(),
            what="an incident",
        )
    assert attempts == [2, 1]


def test_pool_fires_due_timers():
    from processes.models import Timer

    xml = tasks_in_row("wt-timer", []).replace(
        '<bpmn:endEvent id="end"><bpmn:incoming>f0</bpmn:incoming></bpmn:endEvent>',
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f0</bpmn:incoming>'
        "<bpmn:outgoing>f9</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>"
        "PT0.1S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f9" sourceRef="wait" targetRef="end" />',
    )
    xml = xml.replace(
        'targetRef="end" />\n  </bpmn:process>', 'targetRef="wait" />\n  </bpmn:process>', 1
    )
    service.deploy([("wt-timer.bpmn", xml)])
    with WorkerPool(threads=1, interval=0.1):
        key = service.create_instance(process_id="wt-timer").key
        assert Timer.objects.filter(process_instance_key=key).exists() or completed(key)
        wait_until(lambda: completed(key), what="the timer to fire")


def test_pool_ticker_records_a_heartbeat_that_clears_the_warning():
    from django.core.cache import caches

    from processes import heartbeat

    caches[heartbeat.CACHE].delete(heartbeat.KEY)
    assert heartbeat.ticker_warning().startswith("Timers are not running")
    with WorkerPool(threads=1, interval=0.05):
        wait_until(lambda: heartbeat.last_tick() is not None, timeout=10, what="a heartbeat")
    assert heartbeat.ticker_warning() == ""
    caches[heartbeat.CACHE].delete(heartbeat.KEY)
