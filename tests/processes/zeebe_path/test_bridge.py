"""The job bridge against a live gateway: pyzeebe activates, the Celery task (run eagerly here,
in the bridge's thread) runs the handler and completes, fails or throws by job key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from processes import jobs, tasks
from processes.adapters import zeebe
from processes.bridge import BRIDGE_WORKER, Bridge, run_zeebe_job
from processes.engine import service
from processes.grpc.server import GatewayServer
from processes.models import ElementInstance, Job, Record, Variable
from processes.testing import reset_caches
from tests.processes.grpc.models import charge_process
from tests.processes.workers.conftest import tasks_in_row, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bridged(transactional_db: None, settings) -> Iterator[Any]:
    """A gateway, the Zeebe adapter on it, Celery eager; ``bridged(types)`` starts a bridge."""
    reset_caches()
    # Only the bridge hands jobs to Celery (with a broker configured the embedded engine behind
    # the gateway would enqueue its own jobs too).
    dispatching = tasks.dispatch_installed()
    tasks.uninstall_dispatch()
    gateway = GatewayServer("127.0.0.1:0", recheck_s=0.5).start()
    settings.ZEEBE_ADDRESS = gateway.target
    zeebe._adapter = None
    app = run_zeebe_job.app
    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    bridges: list[Bridge] = []

    def start(types: list[str]) -> Bridge:
        bridge = Bridge(gateway.target, types).start()
        bridges.append(bridge)
        return bridge

    yield start
    for bridge in bridges:
        bridge.stop()
    app.conf.task_always_eager = was_eager
    if zeebe._adapter is not None:
        zeebe._adapter.close()
    zeebe._adapter = None
    gateway.stop(grace=0.5)
    if dispatching:
        tasks.install_dispatch()
    reset_caches()


def state_of(key: int) -> str | None:
    connection.close()  # see what the gateway's threads committed
    return ElementInstance.objects.filter(key=key).values_list("state", flat=True).first()


def test_handler_result_completes_the_job(bridged, register) -> None:
    seen: list[jobs.Job] = []

    @register("zb-double")
    def double(job: jobs.Job) -> dict[str, Any]:
        seen.append(job)
        return {"doubled": job.variables["n"] * 2}

    service.deploy([("zb.bpmn", tasks_in_row("zb", ["zb-double"]))])
    key = service.create_instance(process_id="zb", variables={"n": 4}).key
    bridged(["zb-double"])
    wait_until(lambda: state_of(key) == ElementInstance.COMPLETED, what="the instance to end")
    [job] = seen
    assert (job.process_instance_key, job.bpmn_process_id, job.retries) == (key, "zb", 3)
    row = Job.objects.get(process_instance_key=key)
    assert (row.worker, row.state) == (BRIDGE_WORKER, Job.COMPLETED)
    assert Variable.objects.get(scope_key=key, name="doubled").value == 8


def test_failure_uses_a_retry_and_the_handlers_back_off(bridged, register) -> None:
    @register("zb-flaky", retry_backoff_ms=60_000)
    def flaky(job: jobs.Job) -> dict[str, Any]:
        raise RuntimeError("carrier down")

    service.deploy([("zb.bpmn", tasks_in_row("zb", ["zb-flaky"]))])
    key = service.create_instance(process_id="zb").key
    bridged(["zb-flaky"])

    def failed_once() -> bool:
        connection.close()
        return Record.objects.filter(process_instance_key=key, intent="FAILED").exists()

    wait_until(failed_once, what="the job to fail")
    row = Job.objects.get(process_instance_key=key)
    assert row.state == Job.ACTIVATABLE and row.retries == 2
    assert "carrier down" in row.error_message
    assert (row.activatable_at - row.created_at).total_seconds() > 50  # the back-off


def test_bpmn_error_is_thrown_to_the_boundary_event(bridged, register) -> None:
    @register("charge")
    def charge(job: jobs.Job) -> dict[str, Any]:
        raise jobs.BpmnError("DECLINED", "card declined", {"declinedBy": "bank"})

    service.deploy([("charge.bpmn", charge_process())])
    key = service.create_instance(process_id="charge").key
    bridged(["charge"])
    wait_until(lambda: state_of(key) == ElementInstance.COMPLETED, what="the error path")
    ended = set(
        Record.objects.filter(process_instance_key=key, intent="ELEMENT_COMPLETED").values_list(
            "element_id", flat=True
        )
    )
    assert "declined" in ended and "paid" not in ended
    assert Job.objects.get(process_instance_key=key).state == Job.ERROR_THROWN


def test_long_work_extends_the_job_timeout(bridged, register) -> None:
    runs: list[int] = []

    @register("zb-slow", timeout_ms=600)
    def slow(job: jobs.Job) -> dict[str, Any]:
        runs.append(job.key)
        time.sleep(1.8)  # three times the job's timeout
        return {}

    service.deploy([("zb.bpmn", tasks_in_row("zb", ["zb-slow"]))])
    key = service.create_instance(process_id="zb").key
    bridged(["zb-slow"])
    wait_until(lambda: state_of(key) == ElementInstance.COMPLETED, timeout=30, what="the slow job")
    job = Job.objects.get(process_instance_key=key)
    assert runs == [job.key]  # never handed out twice
    assert not Record.objects.filter(key=job.key, intent="TIMED_OUT").exists()


def test_an_outcome_for_a_job_that_is_gone_is_ignored(bridged, register) -> None:
    @register("zb-gone")
    def gone(job: jobs.Job) -> dict[str, Any]:
        return {}

    payload = {
        "key": 4_000_000_000_123,
        "type": "zb-gone",
        "process_instance_key": 1,
        "element_id": "task0",
        "element_instance_key": 2,
        "bpmn_process_id": "zb",
        "retries": 3,
        "custom_headers": {},
        "variables": {},
    }
    assert run_zeebe_job(payload) == "gone"
