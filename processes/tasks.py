"""Celery tasks of the process layer: run one job by key, and the periodic engine sweep.

With a broker configured, every job the embedded engine creates for a type with a registered
handler is enqueued as ``processes.run_job(job_key)`` once its transaction commits. Jobs of
other types wait for external workers (REST job activation). ``processes.tick`` must run about
every second: it fires due timers, expires buffered messages and re-enqueues jobs whose
activation timed out (a worker died) or whose retry back-off is over. ``config/celery.py``
schedules it, so run one worker with the embedded beat: ``celery -A config worker -B``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.db.models import Q

from processes import jobs

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
SWEEP_WINDOW_S = 2.0  # a back-off that ended this recently is enqueued by the sweep
STALE_AFTER_S = 30.0  # activatable this long: its message was lost, enqueue again


def _queue_options() -> dict[str, Any]:
    queue = getattr(settings, "PROCESS_JOB_QUEUE", "")
    return {"queue": queue} if queue else {}


@shared_task(
    name="processes.run_job",
    acks_late=True,  # handlers are idempotent: a job lost with its worker is run again
    reject_on_worker_lost=True,
    time_limit=360,
    soft_time_limit=330,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=5,
)
def run_job(job_key: int, job_type: str | None = None) -> str | None:
    """Activate the job ``job_key`` (if it is still activatable) and run its handler.

    ``job_type`` (sent by ``enqueue_jobs``) lets the worker activate at once, without reading
    the job first; messages without it are still served."""
    worker = f"celery:{run_job.request.hostname or ''}"
    return jobs.execute_job(int(job_key), worker=worker, job_type=job_type)


def enqueue_jobs(job_keys: dict[int, str]) -> int:
    """Enqueue ``run_job`` for each job whose type has a registered handler.

    A broker that cannot be reached stops the batch with a logged error, never an exception:
    this runs after commit, and the jobs stay activatable, so ``due_jobs`` offers them again.
    """
    sent = 0
    options = _queue_options()
    for job_key, job_type in job_keys.items():
        if jobs.spec_for(job_type) is None:
            continue
        try:
            run_job.apply_async((job_key, job_type), **options)
        except Exception:
            logger.exception("Could not enqueue job %s; the sweep offers it again", job_key)
            break
        sent += 1
    return sent


def dispatch_created_jobs(job_keys: dict[int, str]) -> None:
    """The engine's after-commit listener: enqueue the jobs a command created."""
    enqueue_jobs(job_keys)


def install_dispatch() -> bool:
    """Enqueue new jobs after commit when a broker is configured; True when installed."""
    from processes.engine import service

    if not settings.CELERY_BROKER_URL:
        return False
    if dispatch_created_jobs not in service.JOB_KEYS_CREATED_LISTENERS:
        service.JOB_KEYS_CREATED_LISTENERS.append(dispatch_created_jobs)
    return True


def dispatch_installed() -> bool:
    """Whether new jobs are enqueued after commit (``install_dispatch`` ran)."""
    from processes.engine import service

    return dispatch_created_jobs in service.JOB_KEYS_CREATED_LISTENERS


def uninstall_dispatch() -> None:
    """Stop enqueueing new jobs after commit (the in-process pool takes them again)."""
    from processes.engine import service

    while dispatch_created_jobs in service.JOB_KEYS_CREATED_LISTENERS:
        service.JOB_KEYS_CREATED_LISTENERS.remove(dispatch_created_jobs)


def due_jobs(limit: int = SWEEP_BATCH) -> dict[int, str]:
    """Jobs with a registered handler to (re-)enqueue now.

    Activated jobs whose timeout ran out (their worker died); jobs whose retry back-off ended
    since about the previous sweep; and, as a safety net for a message lost on the way to the
    broker, jobs left activatable for longer than ``STALE_AFTER``. Freshly created jobs are
    already enqueued on commit and are not sent twice.
    """
    import datetime as dt

    from django.db.models import F

    from processes.engine import clock
    from processes.models import Job

    types = jobs.handled_types()
    if not types:
        return {}
    now = clock.now()
    window = now - dt.timedelta(seconds=SWEEP_WINDOW_S)
    stale = now - dt.timedelta(seconds=STALE_AFTER_S)
    rows = (
        Job.objects.filter(type__in=types)
        .filter(
            Q(state=Job.ACTIVATED, deadline__lt=now)
            | (
                Q(state=Job.ACTIVATABLE, activatable_at__lte=now, activatable_at__gt=window)
                & Q(activatable_at__gt=F("created_at"))
            )
            | Q(state=Job.ACTIVATABLE, activatable_at__lte=stale)
        )
        .order_by("key")
        .values_list("key", "type")[:limit]
    )
    return dict(rows)


@shared_task(name="processes.tick", time_limit=60, soft_time_limit=50, ignore_result=True)
def tick() -> dict[str, int]:
    """Fire due timers, expire messages, re-enqueue due jobs (run every second)."""
    from processes import heartbeat
    from processes.engine import service
    from processes.engine.service import resume_completed_children

    fired = service.fire_due_timers()
    expired = service.expire_messages()
    resumed = resume_completed_children()
    enqueued = enqueue_jobs(due_jobs())
    heartbeat.record_tick()  # a sweep that completed, not one that failed
    return {"timers": fired, "messages": expired, "jobs": enqueued, "resumed": resumed}
