"""PostgreSQL backends terminated while jobs run: outcomes are reported once reconnected, not
after the 300 s activation timeout, and a run of orders still ends with exact money."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from orders import services
from orders.services import CustomerInput, LineInput
from processes import jobs
from processes.engine import service
from processes.models import ElementInstance, Record
from processes.workers import WorkerPool
from tests.conftest import require_service
from tests.processes.workers.conftest import register, tasks_in_row, wait_until  # noqa: F401

from .conftest import assert_money_invariants, assert_nothing_stuck, drive_until_final

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BPMN = Path(__file__).resolve().parents[2] / "processes" / "bpmn" / "marketplace-order.bpmn"
CUSTOMER = CustomerInput(email="lena@example.com", name="Lena Fischer", country="DE")


@pytest.fixture(autouse=True)
def postgres():
    require_service("DATABASE_URL", "PostgreSQL")
    if connection.vendor != "postgresql":
        pytest.skip("terminating backends needs PostgreSQL")


def terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_outcome_is_reported_again_after_the_workers_connection_is_terminated(register):  # noqa: F811
    backend: list[int] = []
    cut = threading.Event()
    runs: list[int] = []

    @register("rel-cut", timeout_ms=300_000)
    def handler(job: jobs.Job) -> dict:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend.append(cursor.fetchone()[0])
        assert cut.wait(20)
        runs.append(job.key)
        return {"done": True}

    service.deploy([("rel-cut.bpmn", tasks_in_row("rel-cut-p", ["rel-cut"]))])
    started = time.monotonic()
    with WorkerPool(threads=1, interval=0.1):
        key = service.create_instance(process_id="rel-cut-p").key
        wait_until(lambda: bool(backend), timeout=20, what="the handler to start")
        # when: the worker's backend dies while its handler runs
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend[0]])
            assert cursor.fetchone()[0]
        cut.set()

        def done() -> bool:
            state = ElementInstance.objects.filter(key=key).values_list("state", flat=True)
            return state.first() == ElementInstance.COMPLETED

        wait_until(done, timeout=30, what="the outcome to be reported after reconnecting")
    # then: well inside the 300 s activation timeout, run once, completed once
    assert time.monotonic() - started < 60
    assert len(runs) == 1
    records = Record.objects.filter(value_type="JOB", process_instance_key=key)
    assert records.filter(intent="COMPLETED").count() == 1
    assert not records.filter(intent="TIMED_OUT").exists()


def test_handler_whose_connection_dies_is_failed_with_back_off_without_losing_a_retry(register):  # noqa: F811
    attempts: list[int] = []

    # the handler's own back-off (for its own failures) is ten minutes: a lost connection is
    # not one, so the job is offered again within a second or so
    @register("rel-dies", timeout_ms=300_000, retry_backoff_ms=600_000)
    def handler(job: jobs.Job) -> dict:
        attempts.append(job.retries)
        if len(attempts) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return {"ok": True}

    service.deploy([("rel-dies.bpmn", tasks_in_row("rel-dies-p", ["rel-dies"], retries=1))])
    with WorkerPool(threads=1, interval=0.1):
        key = service.create_instance(process_id="rel-dies-p").key

        def done() -> bool:
            state = ElementInstance.objects.filter(key=key).values_list("state", flat=True)
            return state.first() == ElementInstance.COMPLETED

        wait_until(done, timeout=30, what="the job to be offered again and completed")
    # one retry only, and the lost connection did not use it up (no incident)
    assert attempts == [1, 1]


def test_orders_complete_with_exact_money_while_backends_are_terminated(market):
    service.deploy([(BPMN.name, BPMN.read_text())])
    lines = [
        LineInput("acme-audio", "AA-HP-100", 1),
        LineInput("bolt-bikes", "BB-HLM-M", 1),
        LineInput("cedar-home", "CH-MUG-4", 2),
    ]
    stop = threading.Event()
    cuts: list[int] = []

    def chaos() -> None:
        try:
            while not stop.wait(0.4):
                cuts.append(terminate_other_backends())
        finally:
            connection.close()

    with WorkerPool(threads=2, interval=0.1):
        orders = [
            services.order_place(
                customer=CUSTOMER,
                currency="EUR",
                lines=lines,
                payment_method="tok_visa",
                shipping_minor=500,
            )
            for _ in range(3)
        ]
        killer = threading.Thread(target=chaos, name="rel-chaos")
        killer.start()
        try:
            drive_until_final(orders, timeout=4, tolerate_timeout=True)
        finally:
            stop.set()
            killer.join(10)
        connection.close()
        drive_until_final(orders, timeout=60)
    assert sum(cuts) > 0
    assert_money_invariants(orders)
    assert_nothing_stuck(orders)
