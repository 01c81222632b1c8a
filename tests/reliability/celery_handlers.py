"""A slow handler for the Celery fault tests, imported by the workers (``-I``) and the test.

Its effect is a line in ``$RELIABILITY_DIR/effects.log`` keyed by the job's idempotency key,
written once per key; with ``RELIABILITY_BLOCK=1`` it announces itself and blocks until the
worker is killed.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from processes.jobs import Job, job_handler

SLOW_TIMEOUT_MS = 2_000


@job_handler("rel-slow", timeout_ms=SLOW_TIMEOUT_MS)
def slow(job: Job) -> dict:
    folder = Path(os.environ["RELIABILITY_DIR"])
    if os.environ.get("RELIABILITY_BLOCK") == "1":
        (folder / "started").write_text(job.idempotency_key)
        time.sleep(600)  # until the test kills this worker
    with (folder / "effects.log").open("a+") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.seek(0)
        if job.idempotency_key not in log.read().split():
            log.write(f"{job.idempotency_key}\n")
    return {"slow": "done"}
