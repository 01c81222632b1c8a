"""Order intake tells the truth about what committed, and a retried request charges once.

- The broker is down (its URL points at a port nobody listens on): the order commits, so the
  answer is 201; the job that could not be enqueued stays activatable and the engine sweep
  offers it again.
- With Redis as the broker, the job of a placed order is enqueued there.
- Concurrent requests with one ``Idempotency-Key`` (PostgreSQL, real threads): one order, and
  every answer is the first answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from config.celery import app
from orders.models import Order
from processes import tasks
from processes.engine import clock
from processes.models import Job
from tests.factories import make_staff
from tests.orders import conftest as marketplace
from tests.orders.test_api_orders import URL, payload

# The marketplace fixtures (vendors, products, the deployed order process, sandbox payments).
clean_sandbox = marketplace.clean_sandbox
sandbox_payments = marketplace.sandbox_payments
market = marketplace.market
deployed = marketplace.deployed

DEAD_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


@pytest.fixture
def broker(settings, monkeypatch):
    """Dispatch on commit to the broker ``use(url)`` names, as with ``CELERY_BROKER_URL`` set."""
    installed = tasks.dispatch_installed()
    previous = app.conf.broker_url
    previous_write, previous_read = app.conf.broker_write_url, app.conf.broker_read_url

    def reconnect() -> None:
        # Celery caches its connection and producer pools per app: new ones for the new URL.
        app._pool = None
        app.amqp._producer_pool = None

    def use(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery prefers it to its settings
        # broker_write_url/broker_read_url were resolved from the first URL: set them too
        app.conf.update(
            broker_url=url, broker_write_url=url, broker_read_url=url, broker_connection_timeout=2
        )
        reconnect()
        tasks.install_dispatch()

    yield use
    if not installed:
        tasks.uninstall_dispatch()
    app.conf.update(
        broker_url=previous, broker_write_url=previous_write, broker_read_url=previous_read
    )
    reconnect()


def staff_client(name: str = "sam") -> APIClient:
    client = APIClient()
    client.force_authenticate(make_staff(name))
    return client


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_committed_order_answers_201_and_the_sweep_offers_its_job(
    deployed, market, broker, caplog
):
    broker(DEAD_BROKER)
    client = staff_client()

    with caplog.at_level(logging.ERROR):
        response = client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    assert order.process_instance_key
    assert "the sweep offers it again" in caplog.text
    waiting = Job.objects.filter(process_instance_key=order.process_instance_key)
    assert waiting.filter(state=Job.ACTIVATABLE).exists()
    # The client retries after a timeout: the same answer, nothing placed or charged again.
    again = client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json() == response.json()
    assert Order.objects.count() == 1
    # The sweep offers the job that was never enqueued once it is stale.
    clock.pin(clock.now() + dt.timedelta(seconds=tasks.STALE_AFTER_S + 1))
    due = tasks.due_jobs()
    assert set(waiting.values_list("key", flat=True)) <= set(due)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_as_broker_the_placed_orders_job_is_enqueued(
    deployed, market, broker, redis_url, monkeypatch
):
    sent: list[Any] = []
    real = tasks.run_job.apply_async

    def record(args, **options):
        result = real(args, **options)
        sent.append(args[0])
        return result

    queue = f"orderly-test-{uuid.uuid4()}"
    monkeypatch.setattr(tasks.run_job, "apply_async", record)
    monkeypatch.setattr(tasks, "_queue_options", lambda: {"queue": queue})
    broker(redis_url)

    response = staff_client().post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="k-r")

    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    keys = set(
        Job.objects.filter(process_instance_key=order.process_instance_key).values_list(
            "key", flat=True
        )
    )
    assert keys and keys <= set(sent)
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.llen(queue) == len(sent)
    client.delete(queue)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_place_one_order_and_answer_alike(deployed, market):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    user = make_staff("sam")
    start = threading.Barrier(8)

    def post(_: int) -> tuple[int, dict]:
        client = APIClient()
        client.force_authenticate(user)
        start.wait()
        try:
            response = client.post(URL, payload(), format="json", HTTP_IDEMPOTENCY_KEY="same")
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(8)))

    assert {status for status, _ in answers} == {201}
    assert len({body["number"] for _, body in answers}) == 1
    assert Order.objects.count() == 1
