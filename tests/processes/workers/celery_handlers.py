"""Handlers for the Celery worker tests, imported by the worker (``celery worker -I ...``) and
by the test process. Each run appends a line to ``$WORKER_TEST_DIR/runs.log``; with
``WORKER_TEST_BLOCK=1`` the slow handler announces itself and blocks until killed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from processes.jobs import Job, job_handler

SLOW_TIMEOUT_MS = 2_000


def _log(job: Job) -> None:
    folder = os.environ.get("WORKER_TEST_DIR")
    if folder:
        with (Path(folder) / "runs.log").open("a") as log:
            log.write(f"{os.getpid()} {job.type} {job.idempotency_key}\n")


@job_handler("wt-celery-a")
def step_a(job: Job) -> dict:
    _log(job)
    return {"a": 1}


@job_handler("wt-celery-b")
def step_b(job: Job) -> dict:
    _log(job)
    return {"b": job.variables["a"] + 1}


@job_handler("wt-celery-slow", timeout_ms=SLOW_TIMEOUT_MS)
def slow(job: Job) -> dict:
    if os.environ.get("WORKER_TEST_BLOCK") == "1":
        folder = Path(os.environ["WORKER_TEST_DIR"])
        (folder / "started").write_text(job.idempotency_key)
        time.sleep(600)  # until the test kills this worker
    _log(job)
    return {"slow": "done"}
