"""When the engine ticker last ran, so that pages can warn staff when timers are not running.

The ticker fires due timers, expires messages and re-offers timed-out jobs: the in-process pool's
ticker thread (``manage.py serve`` without a broker) or the ``processes.tick`` Celery task that
beat schedules every second. Each run records the wall-clock time in the ``ticker`` cache, which
is Redis when the broker is (shared by web and worker processes) and process memory otherwise
(the in-process pool runs in the web process).
"""

from __future__ import annotations

import logging
import time

from django.core.cache import caches

logger = logging.getLogger(__name__)

CACHE = "ticker"
KEY = "orderly:engine-ticker:last-run"
# The ticker runs every second or so: this many seconds without a run means it is not running.
STALE_AFTER_S = 30.0


def record_tick(now: float | None = None) -> None:
    """Note that the ticker ran (best effort: a cache outage must not stop the ticker)."""
    try:
        caches[CACHE].set(KEY, time.time() if now is None else now, timeout=None)
    except Exception:
        logger.warning("Could not record the engine ticker's heartbeat", exc_info=True)


def last_tick() -> float | None:
    """Wall-clock time of the ticker's last recorded run, or None (never, or cache unreadable)."""
    try:
        value = caches[CACHE].get(KEY)
    except Exception:
        logger.warning("Could not read the engine ticker's heartbeat", exc_info=True)
        return None
    return float(value) if value is not None else None


def ticker_warning(now: float | None = None) -> str:
    """The banner text when no ticker has run within ``STALE_AFTER_S`` seconds, else ''."""
    last = last_tick()
    now = time.time() if now is None else now
    if last is None:
        return (
            "Timers are not running: no engine ticker has run. Start the workers with beat "
            "(celery -A config worker -B) or serve with in-process workers (manage.py serve)."
        )
    if now - last > STALE_AFTER_S:
        return (
            f"Timers are not running: the engine ticker last ran {int(now - last)} s ago. "
            "Check the Celery beat scheduler (celery -A config beat, or worker -B)."
        )
    return ""
