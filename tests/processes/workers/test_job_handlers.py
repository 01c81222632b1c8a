"""The handler registry and ``run_job``: complete, BPMN error, failure with retries, incident."""

from __future__ import annotations

from pathlib import Path

import pytest

from processes import jobs
from processes.engine import service
from processes.models import ElementInstance, Incident, Job, Record
from tests.processes.workers.conftest import tasks_in_row

ENGINE_BPMN = Path(__file__).parent.parent / "engine" / "bpmn"


def test_discovery_imports_each_apps_handlers_module(monkeypatch):
    # given
    imported: list[str] = []
    monkeypatch.setattr(jobs, "_discovered", False)
    monkeypatch.setattr(
        "django.utils.module_loading.autodiscover_modules", lambda name: imported.append(name)
    )
    # when
    jobs.registry()
    jobs.registry()
    # then
    assert imported == ["handlers"]


def test_decorated_handler_is_in_the_registry(register):
    @register("wt-registry", timeout_ms=1234, retry_backoff_ms=50)
    def handler(job: jobs.Job) -> dict:
        return {}

    assert jobs.registry()["wt-registry"] is handler
    spec = jobs.spec_for("wt-registry")
    assert spec is not None and (spec.timeout_ms, spec.retry_backoff_ms) == (1234, 50)


def test_a_second_handler_for_a_type_is_refused(register):
    @register("wt-twice")
    def first(job: jobs.Job) -> dict:
        return {}

    with pytest.raises(ValueError, match="already has a handler"):

        @jobs.job_handler("wt-twice")
        def second(job: jobs.Job) -> dict:
            return {}


def test_feel_job_types_cannot_be_registered():
    with pytest.raises(ValueError, match="static job type"):
        jobs.job_handler('="charge-" + method')


def test_job_carries_instance_data_and_an_idempotency_key(process, register):
    seen: list[jobs.Job] = []

    @register("wt-one")
    def one(job: jobs.Job) -> dict:
        seen.append(job)
        return {"done": True}

    process.deploy(tasks_in_row("wt-single", ["wt-one"]), name="wt-single.bpmn")
    instance = process.start("wt-single", {"orderId": 7})
    # when
    [activated] = service.activate_jobs("wt-one", worker="test")
    outcome = jobs.run_job(activated)
    # then
    assert outcome == "completed"
    job = seen[0]
    assert job.variables == {"orderId": 7}
    assert job.bpmn_process_id == "wt-single"
    assert job.element_id == "task0"
    assert job.idempotency_key == f"{instance.key}:{job.element_instance_key}"
    instance.is_completed()
    assert instance_variable(instance.key, "done") is True


def instance_variable(instance_key: int, name: str):
    from processes.models import Variable

    return Variable.objects.get(scope_key=instance_key, name=name).value


def test_bpmn_error_is_thrown_and_caught_by_the_boundary(process, register):
    @register("reserve-inventory")
    def reserve(job: jobs.Job) -> dict:
        raise jobs.BpmnError("OUT_OF_STOCK", "nothing left", {"missing": 2})

    process.deploy(ENGINE_BPMN / "error-boundary.bpmn")
    instance = process.start("error-boundary", {})
    # when
    [activated] = service.activate_jobs("reserve-inventory", worker="test")
    outcome = jobs.run_job(activated)
    # then
    assert outcome == "error_thrown"
    assert Job.objects.get(key=activated.job.key).state == Job.ERROR_THROWN
    instance.has_passed("Error_oos")
    instance.is_waiting_at("Task_handle")


def test_exception_fails_the_job_until_an_incident_is_raised(process, register):
    calls: list[int] = []

    @register("wt-broken")
    def broken(job: jobs.Job) -> dict:
        calls.append(job.retries)
        raise RuntimeError("vendor API is down")

    process.deploy(tasks_in_row("wt-broken-p", ["wt-broken"], retries=3), name="wt-b.bpmn")
    instance = process.start("wt-broken-p", {})
    # when: each attempt fails; the default back-off is 0, so the job is activatable again
    outcomes = []
    for _ in range(3):
        [activated] = service.activate_jobs("wt-broken", worker="test")
        outcomes.append(jobs.run_job(activated))
    # then
    assert calls == [3, 2, 1]
    assert outcomes == ["failed"] * 3
    job = Job.objects.get(type="wt-broken")
    assert (job.state, job.retries, job.error_message) == (Job.FAILED, 0, "vendor API is down")
    incident = Incident.objects.get(job_key=job.key)
    assert incident.error_type == "JOB_NO_RETRIES"
    assert "vendor API is down" in incident.error_message
    assert service.activate_jobs("wt-broken", worker="test") == []
    root = ElementInstance.objects.get(key=instance.key)
    assert root.state == ElementInstance.ACTIVE


def test_handler_back_off_delays_the_retry(process, register):
    @register("wt-backoff", retry_backoff_ms=60_000)
    def broken(job: jobs.Job) -> dict:
        raise RuntimeError("later")

    process.deploy(tasks_in_row("wt-backoff-p", ["wt-backoff"]), name="wt-bo.bpmn")
    process.start("wt-backoff-p", {})
    [activated] = service.activate_jobs("wt-backoff", worker="test")
    jobs.run_job(activated)
    job = Job.objects.get(key=activated.job.key)
    assert job.retries == 2
    assert (job.activatable_at - job.created_at).total_seconds() >= 59
    assert service.activate_jobs("wt-backoff", worker="test") == []


def test_outcome_for_a_cancelled_instance_is_ignored(process, register):
    @register("wt-cancelled")
    def slow(job: jobs.Job) -> dict:
        service.cancel_instance(job.process_instance_key)  # cancelled while the handler ran
        return {"late": True}

    process.deploy(tasks_in_row("wt-cancel-p", ["wt-cancelled"]), name="wt-c.bpmn")
    instance = process.start("wt-cancel-p", {})
    [activated] = service.activate_jobs("wt-cancelled", worker="test")
    # when
    outcome = jobs.run_job(activated)
    # then
    assert outcome == "gone"
    assert ElementInstance.objects.get(key=instance.key).state == ElementInstance.TERMINATED
    assert not Record.objects.filter(value_type="JOB", intent="COMPLETED").exists()


def test_execute_job_runs_only_an_activatable_job(process, register):
    @register("wt-exec")
    def ok(job: jobs.Job) -> dict:
        return {}

    process.deploy(tasks_in_row("wt-exec-p", ["wt-exec"]), name="wt-e.bpmn")
    instance = process.start("wt-exec-p", {})
    job_key = Job.objects.get(type="wt-exec").key
    # when / then
    assert jobs.execute_job(job_key) == "completed"
    assert jobs.execute_job(job_key) is None  # a redelivered message finds it done
    instance.is_completed()


def test_harness_runs_registered_handlers(process, register):
    @register("wt-h1")
    def first(job: jobs.Job) -> dict:
        return {"a": 1}

    @register("wt-h2")
    def second(job: jobs.Job) -> dict:
        return {"b": job.variables["a"] + 1}

    process.deploy(tasks_in_row("wt-harness", ["wt-h1", "wt-h2"]), name="wt-h.bpmn")
    instance = process.start("wt-harness", {})
    assert process.run_handlers() == 2
    instance.is_completed()
