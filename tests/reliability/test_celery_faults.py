"""Celery workers on a Redis server of the test's own: a worker killed with SIGKILL in the
middle of a job, and Redis restarted during a run. Orders end with exact money, the killed
job is offered again and its effect happens once, nothing is left stuck."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from orders import services
from orders.models import Order
from orders.services import CustomerInput, LineInput
from processes import tasks
from processes.engine import service
from processes.models import ElementInstance, Job, Record
from tests.processes.workers.conftest import tasks_in_row, wait_until
from tests.subprocesses import database_url, free_port, stop

from . import celery_handlers
from .conftest import assert_money_invariants, assert_nothing_stuck, drive_until_final

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
BPMN = REPO / "processes" / "bpmn" / "marketplace-order.bpmn"
BROKER_URLS = ("broker_url", "broker_write_url", "broker_read_url")
CUSTOMER = CustomerInput(email="lena@example.com", name="Lena Fischer", country="DE")
LINES = [LineInput("acme-audio", "AA-HP-100", 1), LineInput("bolt-bikes", "BB-HLM-M", 1)]


class RedisServer:
    """``redis-server`` on a free port, its append-only file in ``folder`` (survives restarts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--protected-mode", "no",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not Path("/usr/bin/redis-server").exists() and not _on_path("redis-server"):
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _on_path(name: str) -> bool:
    return any((Path(p) / name).exists() for p in os.environ.get("PATH", "").split(":"))


@pytest.fixture
def workers(redis_server, settings, tmp_path, market) -> Iterator[Callable[..., subprocess.Popen]]:
    from config.celery import app

    queue = f"orderly-rel-{uuid.uuid4().hex[:10]}"
    settings.PROCESS_JOB_QUEUE = queue
    settings.CELERY_BROKER_URL = redis_server.url
    previous = {key: app.conf[key] for key in BROKER_URLS}
    # broker_write_url/broker_read_url were resolved from the first URL: all three change
    app.conf.update(dict.fromkeys(BROKER_URLS, redis_server.url))
    _forget_connections(app)  # producers connect to this test's server
    assert celery_handlers.SLOW_TIMEOUT_MS
    was_installed = tasks.dispatch_installed()
    assert tasks.install_dispatch()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": redis_server.url,
        "CELERY_TASK_QUEUE": queue,
        "INPROCESS_WORKERS": "0",
        "RELIABILITY_DIR": str(tmp_path),
        "PAYMENT_PROVIDER": "sandbox",
        "PYTHONPATH": str(REPO),
    }
    started: list[subprocess.Popen] = []

    def start(name: str, **extra: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-P", "solo", "-Q", queue, "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "-I", "tests.reliability.celery_handlers",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "WARNING",
            ],
            cwd=REPO,
            env={**env, **extra},
        )  # fmt: skip
        started.append(worker)
        return worker

    service.deploy([(BPMN.name, BPMN.read_text())])
    yield start
    for worker in started:
        stop(worker)
    app.conf.update(previous)
    _forget_connections(app)
    if not was_installed:
        tasks.uninstall_dispatch()


def _forget_connections(app) -> None:
    """Drop the app's cached broker connections and producers (they name a server's port)."""
    app._pool = None
    app.amqp._producer_pool = None


def place_orders(count: int) -> list[Order]:
    return [
        services.order_place(
            customer=CUSTOMER,
            currency="EUR",
            lines=LINES,
            payment_method="tok_visa",
            shipping_minor=500,
        )
        for _ in range(count)
    ]


def sweep() -> None:
    try:
        tasks.tick()  # timers, and jobs whose activation timed out or whose message was lost
    except Exception:  # the broker is down right now: the next sweep sends them
        connection.close()


def test_worker_killed_mid_job_job_offered_again_effect_once_money_exact(workers, tmp_path):
    service.deploy([("rel-slow.bpmn", tasks_in_row("rel-slow-p", ["rel-slow"]))])
    doomed = workers("doomed", RELIABILITY_BLOCK="1")
    slow_key = service.create_instance(process_id="rel-slow-p").key
    wait_until((tmp_path / "started").exists, timeout=60, what="the slow handler to start")
    orders = place_orders(3)  # queued behind the blocked worker
    # when: the worker dies in the middle of its job
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    workers("survivor")
    drive_until_final(orders, timeout=90, tick=sweep)

    def slow_done() -> bool:
        sweep()
        state = ElementInstance.objects.filter(key=slow_key).values_list("state", flat=True)
        return state.first() == ElementInstance.COMPLETED

    wait_until(slow_done, timeout=60, what="the killed job to be run again")
    # then
    job = Job.objects.get(process_instance_key=slow_key)
    records = Record.objects.filter(value_type="JOB", key=job.key)
    assert records.filter(intent="TIMED_OUT").exists()
    assert records.filter(intent="COMPLETED").count() == 1
    assert (tmp_path / "effects.log").read_text().split() == [
        f"{slow_key}:{job.element_instance_key}"
    ]
    assert_money_invariants(orders)
    assert_nothing_stuck(orders)


def test_redis_restarted_during_a_run_orders_still_end_with_exact_money(workers, redis_server):
    workers("steady")
    orders = place_orders(4)
    drive_until_final(orders, timeout=3, tick=sweep, tolerate_timeout=True)
    # when: the broker goes away for a moment and comes back on the same port
    redis_server.stop()
    drive_until_final(orders, timeout=1.5, tick=sweep, tolerate_timeout=True)
    redis_server.start()
    drive_until_final(orders, timeout=120, tick=sweep)
    # then
    assert_money_invariants(orders)
    assert_nothing_stuck(orders)
