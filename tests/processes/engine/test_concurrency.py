"""Concurrent job completion on PostgreSQL: no lost update, the join fires exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from processes.engine import service
from processes.models import ElementInstance, Record
from tests.conftest import require_service
from tests.processes.engine.conftest import requires_feel

BRANCHES = 8
ROUNDS = 3

pytestmark = [pytest.mark.postgres, requires_feel]


@pytest.fixture
def postgres() -> None:
    require_service("DATABASE_URL", "PostgreSQL")
    if connection.vendor != "postgresql":
        pytest.skip("row locking is only exercised on PostgreSQL")


def _complete_all_at_once(
    activated: list[service.ActivatedJob],
    answer: Callable[[service.ActivatedJob], dict[str, Any]],
) -> list[BaseException]:
    """Complete every job from its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(activated))
    errors: list[BaseException] = []

    def worker(job: service.ActivatedJob) -> None:
        try:
            barrier.wait(timeout=30)
            service.complete_job(job.job.key, answer(job))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in activated]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a completing thread hangs"
    return errors


@pytest.mark.django_db(transaction=True)
def test_parallel_multi_instance_completed_from_threads(postgres, process):
    process.deploy("core-mi-parallel.bpmn")
    items = list(range(1, BRANCHES + 1))
    for _round in range(ROUNDS):
        # given
        instance = process.start("core-mi-parallel", {"items": items})
        activated = service.activate_jobs("price", max_jobs=BRANCHES * 2)
        assert len(activated) == BRANCHES

        # when
        errors = _complete_all_at_once(activated, lambda j: {"price": j.variables["item"] * 10})

        # then
        assert errors == []
        instance.is_completed().has_no_incidents()
        instance.has_variables(prices=[i * 10 for i in items])
        instance.has_passed("Price", times=BRANCHES).has_passed("End", times=1)
        bodies = ElementInstance.objects.filter(
            process_instance_key=instance.key, element_type="MULTI_INSTANCE_BODY"
        )
        assert [b.state for b in bodies] == [ElementInstance.COMPLETED]
        body_completions = Record.objects.filter(
            process_instance_key=instance.key,
            intent="ELEMENT_COMPLETED",
            element_type="MULTI_INSTANCE_BODY",
        )
        assert body_completions.count() == 1
        process_completions = Record.objects.filter(
            process_instance_key=instance.key, intent="ELEMENT_COMPLETED", element_type="PROCESS"
        )
        assert process_completions.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_join_completed_from_threads(postgres, process):
    process.deploy("core-parallel.bpmn")
    for _round in range(ROUNDS):
        instance = process.start("core-parallel")
        activated = service.activate_jobs("pack") + service.activate_jobs("invoice")
        assert len(activated) == 2
        errors = _complete_all_at_once(activated, lambda j: {j.job.type: True})

        assert errors == []
        instance.is_completed().has_passed("Join", times=1).has_passed("End", times=1)
        instance.has_variables(pack=True, invoice=True)
