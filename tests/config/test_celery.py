import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app, ping


@pytest.mark.redis
def test_task_round_trip_through_a_real_worker_on_redis(redis_url):
    # given a real worker consuming from the configured Redis broker
    app.conf.update(broker_url=redis_url, result_backend=redis_url)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        # when a task is sent through the broker
        result = ping.delay()
        # then the worker ran it and the answer came back through Redis
        assert result.get(timeout=20) == "pong"
