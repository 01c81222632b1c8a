"""The Celery app. Tasks are discovered from each app's ``tasks.py``."""

import os

from celery import Celery, Task
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("orderly")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["processes"], related_name="bridge")  # the Zeebe path's job task


@app.task(name="orderly.ping")
def ping() -> str:
    """Round trip through the broker, used by health checks and tests."""
    return "pong"


# One queue name per deployment (tests sharing a Redis server use their own).
app.conf.task_default_queue = os.environ.get("CELERY_TASK_QUEUE", "celery")

# The engine sweep (due timers, expired messages, timed-out jobs) every second; run the schedule
# inside one worker with ``celery -A config worker -B`` (or a separate ``celery -A config beat``).
app.conf.beat_schedule = {
    "processes-tick": {
        "task": "processes.tick",
        "schedule": 1.0,
        "options": {"expires": 5},
    },
    "webhook-events-retry": {
        "task": "core.retry_webhook_events",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # The ECB publishes its reference rates around 16:00 CET each working day: fetch them after
    # that, hourly from 15:30 to 23:30 UTC, so a run missed while beat restarted is made up within
    # the hour (a repeat stores nothing twice); conversions use the latest rate up to ten days old.
    "customs-currency-rates": {
        "task": "customs.refresh_currency_rates",
        "schedule": crontab(hour="15-23", minute=30),
        "options": {"expires": 50 * 60},
    },
    # Shipments whose customs process did not start after commit (engine unreachable).
    "customs-process-starts": {
        "task": "customs.start_waiting_shipment_processes",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
}
# Beat keeps its schedule in memory (Celery's base ``Scheduler``) rather than in a ``shelve`` file
# (the default ``PersistentScheduler``): every entry above runs at least once a minute or, for
# the rates, hourly in its window, so a restart loses nothing worth keeping; and on Python 3.13+
# ``shelve`` stores into ``dbm.sqlite3``, whose WAL file fails with "locking protocol" on file
# systems without shared-memory locking, after which beat dies and no timer fires.
app.conf.beat_scheduler = "celery.beat:Scheduler"


def time_limit_problems(celery_app: Celery) -> list[str]:
    """Tasks whose soft time limit (their own or the global one) is above their hard limit.

    Celery refuses to send such a task (``apply_async`` raises ``ValueError``), so beat would log
    "Couldn't apply scheduled task" on every beat and the task would never run. A task that sets
    ``time_limit`` below ``CELERY_TASK_SOFT_TIME_LIMIT`` must set its own ``soft_time_limit``.
    """
    problems = []
    for name, task in sorted(celery_app.tasks.items()):
        if not isinstance(task, Task):
            continue
        hard = task.time_limit or celery_app.conf.task_time_limit
        soft = task.soft_time_limit or celery_app.conf.task_soft_time_limit
        if hard and soft and soft > hard:
            problems.append(f"{name}: soft time limit {soft} s is above its time limit {hard} s")
    return problems
