"""In-process job workers for the embedded engine when no Celery broker is configured.

One ticker thread fires due timers, expires buffered messages and activates jobs of the types
that have a registered handler; ``threads`` worker threads run the handlers. The ticker polls
every ``interval`` seconds and wakes at once when a command creates jobs (the engine's
after-commit notification). Activation happens in the ticker only, so on SQLite a single thread
takes the write lock for it; handler outcomes are serialised by ``jobs.engine_guard``.

Lost connections: a thread reports an outcome again once reconnected (``jobs.run_job``). When
the ticker's activation or a report fails for good, the pool knows which of the jobs activated
under its worker name it is no longer running: it hands them back (a failure without using up
a retry, and without back-off) instead of leaving them to their activation timeout. The worker
name is unique per pool (``<name>@<host>:<pid>:<n>``), so pools never hand back each other's.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import close_old_connections, connection

from processes import jobs

if TYPE_CHECKING:
    from processes.engine.service import ActivatedJob

logger = logging.getLogger(__name__)

# Housekeeping that domain apps add (run by the ticker every ``expire_every`` seconds), e.g.
# retrying webhook events that could not reach the engine.
PERIODIC_HOOKS: list[Callable[[], object]] = []

_STOP = object()
_POOL_NUMBERS = itertools.count(1)


class WorkerPool:
    """N handler threads plus a ticker; ``start()`` then ``stop()`` (or use as a context)."""

    def __init__(
        self,
        threads: int = 4,
        *,
        interval: float = 0.5,
        name: str = "inprocess",
        expire_every: float = 5.0,
    ) -> None:
        self.threads = max(1, threads)
        self.interval = interval
        self.name = name
        self.worker_id = f"{name}@{socket.gethostname()}:{os.getpid()}:{next(_POOL_NUMBERS)}"
        self.expire_every = expire_every
        self._work: queue.Queue[object] = queue.Queue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._running: set[int] = set()  # keys of jobs handed to the threads, not yet reported
        self._lost = threading.Event()  # a connection died: look for jobs activated but dropped
        self._listener: Callable[[set[str]], None] | None = None
        self.errors = 0

    # ------------------------------------------------------------------ life cycle
    def start(self) -> WorkerPool:
        from processes.engine import service

        jobs.discover()

        def on_jobs_created(types: set[str]) -> None:
            if not self._wake.is_set() and any(jobs.spec_for(t) is not None for t in types):
                self._wake.set()

        self._listener = on_jobs_created
        service.JOB_CREATED_LISTENERS.append(on_jobs_created)
        for index in range(self.threads):
            thread = threading.Thread(
                target=self._work_loop, name=f"{self.name}-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        ticker = threading.Thread(target=self._tick_loop, name=f"{self.name}-ticker", daemon=True)
        ticker.start()
        self._threads.append(ticker)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work, let running handlers finish, close each thread's connection.

        Jobs activated but not yet run are left to time out and be activated again.
        """
        from processes.engine import service

        if self._listener in service.JOB_CREATED_LISTENERS:
            service.JOB_CREATED_LISTENERS.remove(self._listener)
        self._stopping.set()
        self._wake.set()
        for _ in range(self.threads):
            self._work.put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wake(self) -> None:
        """Look for work now instead of at the next interval."""
        self._wake.set()

    # ------------------------------------------------------------------ threads
    def _tick_loop(self) -> None:
        from processes import heartbeat

        last_expiry = last_timers = last_beat = 0.0
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    close_old_connections()
                    # Wake-ups come with every finished job; timers need looking at only a few
                    # times per interval, not once per job.
                    if time.monotonic() - last_timers >= self.interval / 5:
                        last_timers = time.monotonic()
                        self._fire_timers()
                    if time.monotonic() - last_expiry >= self.expire_every:
                        last_expiry = time.monotonic()
                        with jobs.engine_guard():
                            from processes.engine import service

                            service.expire_messages()
                        # Call-activity parents that were busy when their child ended:
                        # https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/
                        from processes.engine.service import resume_completed_children

                        resume_completed_children()
                        for hook in PERIODIC_HOOKS:
                            hook()
                    activated = self._activate()
                    if time.monotonic() - last_beat >= 1.0:  # a completed round, once a second
                        last_beat = time.monotonic()
                        heartbeat.record_tick()
                except Exception:
                    self.errors += 1
                    logger.exception("In-process ticker failed; retrying")
                    connection.close()
                    self._lost.set()
                    activated = 0
                if activated:
                    continue  # there may be more: look again without waiting
                self._wake.wait(self.interval)
        finally:
            connection.close()

    def _fire_timers(self) -> None:
        from processes.engine import service

        with jobs.engine_guard():
            service.fire_due_timers()

    def _hand_back_dropped(self) -> int:
        """Jobs activated under this pool's name that no thread runs (their activation's answer
        or their report was lost with a connection): offered again now, retries unchanged."""
        from processes.engine import service
        from processes.engine.runtime import Rejection
        from processes.models import Job

        with self._in_flight_lock:
            running = set(self._running)
        dropped = (
            Job.objects.filter(state=Job.ACTIVATED, worker=self.worker_id)
            .exclude(key__in=running)
            .values_list("key", "retries")
        )
        handed = 0
        for key, retries in dropped:
            try:
                with jobs.engine_guard():
                    service.fail_job(
                        key,
                        retries=retries,
                        error_message="The worker lost its database connection; offered again.",
                    )
                handed += 1
            except Rejection:
                continue  # done or timed out meanwhile
        if handed:
            logger.warning("Offered %s dropped job(s) of %s again", handed, self.worker_id)
        return handed

    def _activate(self) -> int:
        """Activate jobs for the idle handler threads; returns how many were handed out."""
        from processes.engine import service

        if self._lost.is_set():
            self._lost.clear()
            self._hand_back_dropped()

        # Up to eight jobs per thread taken (running or queued here). While every thread has
        # work, take more only once half of that room is free: one activation then serves
        # several jobs (each activation is a few statements, as much as a small job).
        busy = self._in_flight
        capacity = 8 * self.threads - busy
        if capacity <= 0 or (busy >= self.threads and capacity < 4 * self.threads):
            return 0
        # One activation for every handled type that shares a timeout (usually one group).
        groups: dict[int, list[str]] = {}
        for job_type in jobs.handled_types():
            spec = jobs.spec_for(job_type)
            if spec is not None:
                groups.setdefault(spec.timeout_ms, []).append(job_type)
        handed = 0
        for timeout_ms, types in groups.items():
            if capacity <= 0:
                break
            with jobs.engine_guard():
                batch = service.activate_jobs(
                    types, worker=self.worker_id, timeout_ms=timeout_ms, max_jobs=capacity
                )
            for activated in batch:
                with self._in_flight_lock:
                    self._in_flight += 1
                    self._running.add(activated.job.key)
                self._work.put(activated)
            capacity -= len(batch)
            handed += len(batch)
        return handed

    def _work_loop(self) -> None:
        kept = False  # the connection of the last job, kept for the next one
        try:
            while True:
                item = self._work.get()
                if item is _STOP:
                    return
                activated: ActivatedJob = item  # type: ignore[assignment]
                lost = False
                try:
                    if not kept or connection.errors_occurred:  # kept: see below
                        close_old_connections()
                    jobs.run_job(activated)
                except Exception:
                    self.errors += 1
                    logger.exception("In-process worker failed to report a job outcome")
                    connection.close()
                    lost = True
                finally:
                    with self._in_flight_lock:
                        self._in_flight -= 1
                        self._running.discard(activated.job.key)
                    # Only now that the job is no longer counted as running here: a hand-back
                    # that looked while it still was would skip it, and it would wait out its
                    # activation timeout.
                    if lost:
                        self._lost.set()
                    # A slot is free, and the outcome may have made new jobs (the command's
                    # own notification may have woken the ticker already: setting an event
                    # takes its lock and notifies, so only when it is not set).
                    if not self._wake.is_set():
                        self._wake.set()
                # The connection goes back to the database pool (or is dropped when broken or
                # too old) while the thread waits for work; with a job already queued the
                # thread keeps it for that job (giving it back and taking it again would cost
                # more than the job's own statements).
                kept = not lost and not self._work.empty()
                if not kept:
                    try:
                        close_old_connections()
                    except Exception:
                        logger.exception("In-process worker failed to give its connection back")
                        connection.close()
        finally:
            connection.close()


_pool: WorkerPool | None = None


def start_inprocess_workers(threads: int = 4) -> WorkerPool:
    """Start the process-wide pool (``manage.py serve`` calls this when no broker is set)."""
    global _pool
    if _pool is None:
        _pool = WorkerPool(threads).start()
    return _pool


def stop_inprocess_workers() -> None:
    global _pool
    if _pool is not None:
        _pool.stop()
        _pool = None
