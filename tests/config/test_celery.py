"""The Celery app as configured: task limits, the beat schedule, a round trip through Redis."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import signals
from celery.beat import Scheduler
from celery.contrib.testing.worker import start_worker
from kombu.utils.imports import symbol_by_name

from config.celery import app, time_limit_problems


@app.task(name="tests.mark_done")
def mark_done(url: str, key: str) -> None:
    redis.Redis.from_url(url).set(key, "done", ex=60)


@pytest.fixture
def own_queue(redis_url: str) -> Iterator[str]:
    """The configured broker, with a default queue of this test's own (purged afterwards)."""
    queue = f"orderly-test-{uuid.uuid4().hex[:10]}"
    app.conf.update(broker_url=redis_url)
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = default_queue
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


@pytest.fixture
def all_tasks(db) -> None:
    """Every app's ``tasks.py`` imported, as a worker does at start (Django's checks run)."""
    app.loader.import_default_modules()
    assert {"processes.tick", "core.retry_webhook_events"} <= set(app.tasks)


def test_every_task_has_a_soft_limit_within_its_hard_limit(all_tasks):
    assert time_limit_problems(app) == []


def test_time_limit_check_finds_a_hard_limit_below_the_global_soft_limit(all_tasks):
    @app.task(name="tests.too_short", time_limit=10)
    def too_short() -> None:
        """Inherits the global soft limit (above 10 s)."""

    try:
        assert app.conf.task_soft_time_limit > 10
        problems = time_limit_problems(app)
        assert [p.split(":")[0] for p in problems] == ["tests.too_short"]
        with pytest.raises(ValueError, match="soft_time_limit"):
            too_short.apply_async()
    finally:
        app.tasks.unregister("tests.too_short")


def test_beat_schedule_contains_the_engine_ticker_every_second():
    # Timers, job timeouts and message expiry depend on it (README: worker with beat).
    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert entries["processes.tick"]["schedule"] <= 1.0
    assert "core.retry_webhook_events" in entries


def test_beat_keeps_its_schedule_in_memory_not_in_a_shelve_file():
    # A shelve file is dbm.sqlite3 on Python 3.13+, which fails with "locking protocol" where the
    # file system has no shared-memory locks; every entry runs at least once a minute anyway.
    from celery.beat import PersistentScheduler

    scheduler_cls = symbol_by_name(app.conf.beat_scheduler)
    assert issubclass(scheduler_cls, Scheduler)
    assert not issubclass(scheduler_cls, PersistentScheduler)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beat_applies_every_scheduled_task_and_a_worker_runs_it(own_queue, all_tasks, settings):
    # given the real configuration, a queue of this test's own and a worker consuming it
    settings.CUSTOMS_RATES_PROVIDER = "tests.customs.fakes.FakeRatesProvider"  # no network
    done: dict[str, str] = {}
    lock = threading.Lock()

    def succeeded(sender=None, **_kwargs) -> None:
        with lock:
            done[sender.name] = "success"

    def failed(sender=None, exception=None, **_kwargs) -> None:
        with lock:
            done[sender.name] = f"failure: {exception!r}"

    signals.task_success.connect(succeeded, weak=False)
    signals.task_failure.connect(failed, weak=False)
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[own_queue]
        ):
            # when beat's own code path sends each entry with its configured options
            scheduler = Scheduler(app=app, lazy=True)
            scheduler.update_from_dict(app.conf.beat_schedule)
            with app.producer_or_acquire() as producer:
                for entry in scheduler.schedule.values():
                    if entry.task in scheduled:
                        scheduler.apply_async(entry, producer=producer, advance=False)
            # then every scheduled task ran once in the worker without an error
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with lock:
                    if scheduled <= set(done):
                        break
                time.sleep(0.05)
    finally:
        signals.task_success.disconnect(succeeded)
        signals.task_failure.disconnect(failed)
    assert {task: done.get(task, "not run") for task in scheduled} == dict.fromkeys(
        scheduled, "success"
    )


@pytest.mark.redis
def test_task_round_trip_through_a_real_worker_on_redis(redis_url, own_queue, monkeypatch):
    # given a real worker consuming from the configured Redis broker (without a database: the
    # worker skips Django's checks, which would open a connection)
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    key = f"orderly-test-{uuid.uuid4()}"
    client = redis.Redis.from_url(redis_url)
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[own_queue]
    ):
        # when a task is sent through the broker
        mark_done.delay(redis_url, key)
        # then the worker ran it (it left its mark in Redis)
        deadline = time.monotonic() + 20
        while client.get(key) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert client.get(key) == b"done"
