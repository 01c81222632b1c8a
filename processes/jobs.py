"""Job handlers: the registry, the ``Job`` handed to a handler, and running one activated job.

A handler is a plain synchronous function registered by job type::

    @job_handler("reserve-inventory", timeout_ms=60_000, retry_backoff_ms=10_000)
    def reserve_inventory(job: Job) -> dict:
        ...                                   # returned dict = completion variables
        raise BpmnError("OUT_OF_STOCK")       # caught by an error boundary/event in the model

Any other exception fails the job (retries - 1, with the handler's back-off); at 0 retries the
engine raises an incident. Delivery is at least once, so handlers key their side effects on
``job.idempotency_key``. Handlers are discovered from each installed app's ``handlers.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processes.engine.service import ActivatedJob

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 300_000


@dataclass(frozen=True)
class Job:
    """An activated job as a handler sees it (a snapshot: changing it changes nothing)."""

    key: int
    type: str
    process_instance_key: int
    element_id: str
    element_instance_key: int
    bpmn_process_id: str
    retries: int
    custom_headers: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """Stable across redeliveries of this job: key side effects (charges, emails) on it."""
        return f"{self.process_instance_key}:{self.element_instance_key}"


class BpmnError(Exception):
    """A business error for the model to catch (error boundary or error event sub-process)."""

    def __init__(
        self, code: str, message: str = "", variables: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.variables = variables


Handler = Callable[[Job], dict[str, Any] | None]


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and how its jobs are activated and retried."""

    type: str
    handler: Handler
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    retry_backoff_ms: int | None = None  # None: settings.PROCESS_JOB_RETRY_BACKOFF_MS (or 0)


_specs: dict[str, HandlerSpec] = {}
_discovered = False
_discover_lock = threading.Lock()


def job_handler(
    job_type: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS, retry_backoff_ms: int | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``job_type`` (one handler per type)."""
    if not job_type or job_type.startswith("="):
        raise ValueError(f"A handler needs a static job type, got {job_type!r}")

    def register(func: Handler) -> Handler:
        existing = _specs.get(job_type)
        if existing is not None and _qualname(existing.handler) != _qualname(func):
            raise ValueError(
                f"Job type {job_type!r} already has a handler: {_qualname(existing.handler)}"
            )
        _specs[job_type] = HandlerSpec(job_type, func, timeout_ms, retry_backoff_ms)
        return func

    return register


def unregister(job_type: str) -> None:
    """Forget a handler (tests register handlers of their own)."""
    _specs.pop(job_type, None)


def _qualname(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def discover() -> None:
    """Import every installed app's ``handlers.py`` once, which registers its handlers."""
    global _discovered
    if _discovered:
        return
    with _discover_lock:
        if not _discovered:
            from django.utils.module_loading import autodiscover_modules

            autodiscover_modules("handlers")
            _discovered = True


def registry() -> dict[str, Handler]:
    """Job type -> handler, for every handler of the installed apps (and tests)."""
    discover()
    return {job_type: spec.handler for job_type, spec in _specs.items()}


def spec_for(job_type: str) -> HandlerSpec | None:
    """The registration of a job type, or None when external workers serve it."""
    discover()
    return _specs.get(job_type)


def handled_types() -> list[str]:
    discover()
    return sorted(_specs)


# ------------------------------------------------------------------------------ running jobs
_sqlite_lock = threading.RLock()


@contextlib.contextmanager
def engine_guard() -> Iterator[None]:
    """Serialise engine commands of this process on SQLite, which has one writer at a time.

    Threads queueing on a lock in memory is cheaper than each of them waiting on SQLite's busy
    timeout; on PostgreSQL the row locks of the engine are enough.
    """
    from django.db import connection

    if connection.vendor == "sqlite":
        with _sqlite_lock:
            yield
    else:
        yield


def default_backoff_ms() -> int:
    from django.conf import settings

    return int(getattr(settings, "PROCESS_JOB_RETRY_BACKOFF_MS", 0))


def to_job(activated: ActivatedJob) -> Job:
    row = activated.job
    return Job(
        key=row.key,
        type=row.type,
        process_instance_key=row.process_instance_key,
        element_id=row.element_id,
        element_instance_key=row.element_instance_key,
        bpmn_process_id=activated.definition.bpmn_process_id,
        retries=row.retries,
        custom_headers=dict(row.custom_headers or {}),
        variables=dict(activated.variables),
    )


def run_job(activated: ActivatedJob) -> str:
    """Run the handler of one activated job and report the outcome to the engine.

    Returns ``"completed"``, ``"error_thrown"``, ``"failed"``, ``"no_handler"`` or ``"gone"``
    (the engine no longer had the job: cancelled with its instance, or completed elsewhere).
    """

    job = to_job(activated)
    spec = spec_for(job.type)
    result: dict[str, Any] | None = None
    bpmn_error: BpmnError | None = None
    failure = ""
    backoff_ms: int | None = None  # None: the handler's own back-off
    try:
        if spec is None:
            raise LookupError(f"No handler is registered for job type '{job.type}'")
        result = spec.handler(job)
        if result is not None and not isinstance(result, dict):
            raise TypeError(
                f"Handler of '{job.type}' returned {type(result).__name__}, expected a dict"
            )
    except BpmnError as error:
        bpmn_error = error
    except Exception as error:  # any other handler failure fails the job
        failure = str(error) or type(error).__name__
        logger.warning("Job %s (%s) failed: %s", job.key, job.type, failure, exc_info=True)
        if _connection_lost(error):
            logger.info("Job %s (%s): the connection was lost, not the handler", job.key, job.type)
            # Not the handler's fault: fail it without using up a retry (reported once
            # reconnected), instead of leaving it to its activation timeout, and offer it again
            # shortly: the handler's own back-off is for its own failures (a partner down).
            job = dataclasses.replace(job, retries=job.retries + 1)
            backoff_ms = CONNECTION_LOST_BACKOFF_MS
    return _report_outcome(job, spec, result, bpmn_error, failure, backoff_ms)


def _connection_lost(error: BaseException) -> bool:
    """True when ``error`` says the database connection was lost (PostgreSQL: no SQLSTATE, a
    client-side failure, or class 08 "connection exception" / 57P "operator intervention");
    deadlocks, lock timeouts and bad data are the handler's own failures."""
    from django.db import InterfaceError, OperationalError, connection

    if not isinstance(error, OperationalError | InterfaceError) or connection.in_atomic_block:
        return False
    if connection.vendor != "postgresql":
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate is None or str(sqlstate).startswith(("08", "57P"))


# A lost database connection while reporting: reconnect and report again (the worker knows the
# outcome; otherwise the job would wait out its activation timeout), this often, backing off.
REPORT_ATTEMPTS = 6
# A job whose handler lost its database connection runs again after this back-off.
CONNECTION_LOST_BACKOFF_MS = 1_000
REPORT_BACKOFF_S = 0.25


def _report_outcome(
    job: Job,
    spec: HandlerSpec | None,
    result: dict[str, Any] | None,
    bpmn_error: BpmnError | None,
    failure: str,
    backoff_ms: int | None = None,
) -> str:
    """Report, again after reconnecting if the connection was lost (a repeat of an outcome that
    did commit is refused as NOT_FOUND/INVALID_STATE: ``"gone"``)."""
    import time

    from django.db import InterfaceError, OperationalError, connection

    for attempt in range(REPORT_ATTEMPTS):
        try:
            return _report_once(job, spec, result, bpmn_error, failure, backoff_ms)
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block or attempt == REPORT_ATTEMPTS - 1:
                raise  # a caller's transaction (tests, eager mode) is theirs to handle
            logger.warning(
                "Reporting job %s (%s) failed, reconnecting: %s", job.key, job.type, error
            )
            connection.close()
            time.sleep(REPORT_BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


def _report_once(
    job: Job,
    spec: HandlerSpec | None,
    result: dict[str, Any] | None,
    bpmn_error: BpmnError | None,
    failure: str,
    backoff_ms: int | None = None,
) -> str:
    from processes.engine import service
    from processes.engine.runtime import Rejection

    try:
        with engine_guard():
            if bpmn_error is not None:
                outcome = "error_thrown"
                service.throw_job_error(
                    job.key,
                    error_code=bpmn_error.code,
                    error_message=bpmn_error.message,
                    variables=bpmn_error.variables,
                )
            elif failure:
                outcome = "no_handler" if spec is None else "failed"
                backoff = default_backoff_ms()
                if spec is not None and spec.retry_backoff_ms is not None:
                    backoff = spec.retry_backoff_ms
                if backoff_ms is not None:
                    backoff = min(backoff, backoff_ms)
                service.fail_job(
                    job.key,
                    retries=job.retries - 1,
                    error_message=failure,
                    retry_backoff_ms=backoff,
                )
            else:
                outcome = "completed"
                service.complete_job(job.key, result or None)
    except Rejection as rejection:
        if rejection.rejection_type not in {"NOT_FOUND", "INVALID_STATE"}:
            raise
        # The instance was cancelled, or the job timed out and another worker finished it.
        logger.info("Job %s (%s) outcome ignored: %s", job.key, job.type, rejection.detail)
        return "gone"
    return outcome


def execute_job(job_key: int, *, worker: str = "celery", job_type: str | None = None) -> str | None:
    """Activate the one job ``job_key`` and run it; None when it is not activatable (any more).

    Used by queue-based workers, which carry job keys: the job may already be done, activated
    by another worker within its timeout, or waiting out a retry back-off.
    """
    from django.db import close_old_connections, connection

    from processes.engine import service
    from processes.models import Job as JobRow

    if not connection.in_atomic_block:  # a task, not a caller's transaction (tests, eager mode)
        close_old_connections()  # workers keep connections across tasks (CELERY_DB_REUSE_MAX)
    if job_type is None:  # the queue message did not say (activation then needs no read)
        job_type = JobRow.objects.filter(key=job_key).values_list("type", flat=True).first()
    if job_type is None:
        return None
    spec = spec_for(job_type)
    if spec is None:
        return None  # served by an external worker
    with engine_guard():
        activated = service.activate_jobs(
            job_type, worker=worker, timeout_ms=spec.timeout_ms, max_jobs=1, job_key=job_key
        )
    if not activated:
        return None
    return run_job(activated[0])
