import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from config.celery import app


@app.task(name="tests.mark_done")
def mark_done(url: str, key: str) -> None:
    redis.Redis.from_url(url).set(key, "done", ex=60)


@pytest.mark.redis
def test_task_round_trip_through_a_real_worker_on_redis(redis_url):
    # given a real worker consuming from the configured Redis broker
    app.conf.update(broker_url=redis_url)
    key = f"orderly-test-{uuid.uuid4()}"
    client = redis.Redis.from_url(redis_url)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        # when a task is sent through the broker
        mark_done.delay(redis_url, key)
        # then the worker ran it (it left its mark in Redis)
        deadline = time.monotonic() + 20
        while client.get(key) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert client.get(key) == b"done"
