"""The job bridge of the Zeebe path: pyzeebe workers hand each job to a Celery task.

With ``PROCESS_ENGINE=zeebe`` our registered handlers (``processes.jobs``) run in Celery workers,
as they do on the embedded engine. ``manage.py zeebe_bridge`` runs one pyzeebe ``ZeebeWorker``
with a task per handled job type. Its task function does not run the handler: it enqueues
``processes.run_zeebe_job`` with the activated job and raises ``Deferred``, which the bridge's
exception handler ignores, so pyzeebe neither completes nor fails the job. The Celery task then
runs the handler and completes, fails (retries - 1, the handler's back-off) or throws an error on
the job by key through the Zeebe adapter, extending the job's timeout while a long handler runs.

Delivery is at least once: a task lost with its worker leaves the job activated until its
timeout, then Zeebe offers it again and the bridge enqueues it again. Handlers are idempotent.
Reference for the job commands: https://docs.camunda.io/docs/components/concepts/job-workers/
"""

# No ``from __future__ import annotations`` here: pyzeebe finds the job parameter of a task
# function by its annotation at run time.

import asyncio
import logging
import threading
from typing import Any

from celery import shared_task
from pyzeebe import Job as ZeebeJob
from pyzeebe import JobController, ZeebeWorker, default_exception_handler

from processes import jobs

logger = logging.getLogger(__name__)

BRIDGE_WORKER = "orderly-bridge"


class Deferred(Exception):
    """The job went to Celery: the pyzeebe worker must leave it activated."""


async def _leave_deferred(error: Exception, job: ZeebeJob, controller: JobController) -> None:
    if isinstance(error, Deferred):
        return
    await default_exception_handler(error, job, controller)


def job_payload(job: ZeebeJob) -> dict[str, Any]:
    """The activated job as the Celery task's argument (JSON)."""
    return {
        "key": int(job.key),
        "type": job.type,
        "process_instance_key": int(job.process_instance_key),
        "element_id": job.element_id,
        "element_instance_key": int(job.element_instance_key),
        "bpmn_process_id": job.bpmn_process_id,
        "retries": int(job.retries),
        "custom_headers": dict(job.custom_headers),
        "variables": dict(job.variables),
    }


def _enqueue(payload: dict[str, Any]) -> None:
    from django.conf import settings

    queue = getattr(settings, "PROCESS_JOB_QUEUE", "")
    run_zeebe_job.apply_async((payload,), **({"queue": queue} if queue else {}))


def build_worker(channel: Any, job_types: list[str] | None = None, *, name: str = "") -> Any:
    """A ``ZeebeWorker`` with a task per handled job type that hands jobs to Celery."""
    worker = ZeebeWorker(channel, name=name or BRIDGE_WORKER, exception_handler=_leave_deferred)
    for job_type in job_types if job_types is not None else jobs.handled_types():
        spec = jobs.spec_for(job_type)
        if spec is None:
            continue

        async def hand_over(job: ZeebeJob) -> dict[str, Any]:
            await asyncio.to_thread(_enqueue, job_payload(job))
            raise Deferred

        worker.task(
            task_type=job_type,
            timeout_ms=spec.timeout_ms,
            max_jobs_to_activate=32,
            max_running_jobs=64,
        )(hand_over)  # type: ignore[arg-type]
    return worker


class Bridge:
    """The bridge on a thread of its own (``start``/``stop``), as the command and tests run it."""

    def __init__(self, address: str, job_types: list[str] | None = None) -> None:
        self.address = address
        self.job_types = job_types
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> "Bridge":
        self._thread = threading.Thread(target=self._run, name="zeebe-bridge", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        from processes.adapters.zeebe import make_channel

        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            self._worker = build_worker(make_channel(self.address), self.job_types)
            self._ready.set()
            await self._worker.work()

        try:
            loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        finally:
            self._ready.set()
            # Handlers handed to threads (``asyncio.to_thread``; with an eager Celery the whole
            # job runs there) finish before the bridge counts as stopped.
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._worker is not None:
            future = asyncio.run_coroutine_threadsafe(self._worker.stop(), self._loop)
            try:
                future.result(timeout)
            except Exception:  # stopping anyway
                logger.warning("The bridge's worker did not stop cleanly", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()


# ---------------------------------------------------------------------------------- Celery
class _Heartbeat:
    """Extends the job's timeout every half timeout while the handler runs."""

    def __init__(self, job_key: int, timeout_ms: int) -> None:
        self.job_key, self.timeout_ms = job_key, timeout_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_key}")

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _beat(self) -> None:
        from processes.adapters import zeebe
        from processes.port import PortError

        while not self._stop.wait(self.timeout_ms / 2000):
            try:
                zeebe.extend_job_timeout(self.job_key, self.timeout_ms)
            except PortError as error:
                logger.warning("Could not extend job %s: %s", self.job_key, error)


@shared_task(
    name="processes.run_zeebe_job",
    acks_late=True,  # handlers are idempotent: a job lost with its worker is run again
    reject_on_worker_lost=True,
    time_limit=360,
    soft_time_limit=330,
)
def run_zeebe_job(payload: dict[str, Any]) -> str:
    """Run the handler of one job activated on Zeebe and report its outcome by job key.

    Returns ``"completed"``, ``"error_thrown"``, ``"failed"``, ``"no_handler"`` or ``"gone"``
    (Zeebe no longer had the job active: its instance was cancelled, or it timed out and was
    finished by another worker).
    """
    from processes.adapters import zeebe
    from processes.port import PortError

    job = jobs.Job(**payload)
    spec = jobs.spec_for(job.type)
    result: dict[str, Any] | None = None
    bpmn_error: jobs.BpmnError | None = None
    failure = ""
    try:
        if spec is None:
            raise LookupError(f"No handler is registered for job type '{job.type}'")
        with _Heartbeat(job.key, spec.timeout_ms):
            result = spec.handler(job)
        if result is not None and not isinstance(result, dict):
            raise TypeError(
                f"Handler of '{job.type}' returned {type(result).__name__}, expected a dict"
            )
    except jobs.BpmnError as error:
        bpmn_error = error
    except Exception as error:  # any other handler failure fails the job
        failure = str(error) or type(error).__name__
        logger.warning("Job %s (%s) failed: %s", job.key, job.type, failure, exc_info=True)
    try:
        if bpmn_error is not None:
            zeebe.throw_job_error(
                job.key, bpmn_error.code, bpmn_error.message, bpmn_error.variables
            )
            return "error_thrown"
        if failure:
            backoff = jobs.default_backoff_ms()
            if spec is not None and spec.retry_backoff_ms is not None:
                backoff = spec.retry_backoff_ms
            zeebe.fail_job(job.key, job.retries - 1, failure, backoff)
            return "no_handler" if spec is None else "failed"
        zeebe.complete_job(job.key, result)
        return "completed"
    except PortError as error:
        if error.rejection_type not in {"NOT_FOUND", "INVALID_STATE"}:
            raise
        logger.info("Job %s (%s) outcome ignored: %s", job.key, job.type, error)
        return "gone"
