"""Concurrent job completion on PostgreSQL: no lost update, the join fires exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from processes.engine import service
from processes.models import ElementInstance, Record
from tests.conftest import require_service

BRANCHES = 8
ROUNDS = 3

pytestmark = [pytest.mark.postgres]


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


MESSAGE_RACE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="http://t">
  <bpmn:message id="M" name="race-msg"><bpmn:extensionElements>
    <zeebe:subscription correlationKey="=ref"/></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="message-race" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="work"><bpmn:extensionElements>
      <zeebe:taskDefinition type="race-work"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="M"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def _in_thread(name: str, call: Callable[[], Any], errors: list[BaseException]) -> threading.Thread:
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.results = results  # type: ignore[attr-defined]
    thread.start()
    return thread


def _wait_until_a_transaction_waits_for_an_advisory_lock() -> None:
    """Poll the server's lock table (from this thread's own connection) for a waiting lock."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("no transaction waited for the correlation lock")


def _pause_in(
    thread_name: str, method: str, monkeypatch
) -> tuple[threading.Event, threading.Event]:
    """Make the store's ``method`` hold its transaction open in ``thread_name`` until released."""
    from processes.engine.store import get_store

    store = get_store()
    real = getattr(store, method)
    reached, release = threading.Event(), threading.Event()

    def paused(*args: Any) -> Any:
        found = real(*args)
        if threading.current_thread().name == thread_name:
            reached.set()
            assert release.wait(30)
        return found

    monkeypatch.setattr(store, method, paused)
    return reached, release


@pytest.mark.django_db(transaction=True)
def test_message_published_while_its_subscription_is_being_opened(postgres, process, monkeypatch):
    """The completion that opens the subscription finds no message and holds its transaction
    open; the publication meanwhile must not miss the subscription: it waits for that commit
    and correlates in its own transaction."""
    process.deploy(MESSAGE_RACE)
    instance = process.start("message-race", {"ref": "r-1"})
    [job] = service.activate_jobs("race-work")
    looked, release = _pause_in("completer", "oldest_buffered", monkeypatch)
    errors: list[BaseException] = []

    completer = _in_thread("completer", lambda: service.complete_job(job.job.key), errors)
    assert looked.wait(30)
    publisher = _in_thread(
        "publisher", lambda: service.publish_message("race-msg", "r-1", ttl_ms=60_000), errors
    )
    _wait_until_a_transaction_waits_for_an_advisory_lock()  # the publication waits
    release.set()
    completer.join(30)
    publisher.join(30)

    assert errors == []
    [(_key, correlated)] = publisher.results  # type: ignore[attr-defined]
    assert correlated == [instance.key]
    instance.is_completed().has_passed("wait", times=1)


@pytest.mark.django_db(transaction=True)
def test_subscription_opened_while_its_message_is_being_published(postgres, process, monkeypatch):
    """The publication finds no subscription and holds its transaction open; the completion
    that opens the subscription meanwhile finds no message (not committed yet) and the
    correlation lock taken: once it has committed it waits for the publication and takes the
    message."""
    process.deploy(MESSAGE_RACE)
    instance = process.start("message-race", {"ref": "r-2"})
    [job] = service.activate_jobs("race-work")
    looked, release = _pause_in("publisher", "subscriptions_for", monkeypatch)
    errors: list[BaseException] = []

    publisher = _in_thread(
        "publisher", lambda: service.publish_message("race-msg", "r-2", ttl_ms=60_000), errors
    )
    assert looked.wait(30)
    completer = _in_thread("completer", lambda: service.complete_job(job.job.key), errors)
    _wait_until_a_transaction_waits_for_an_advisory_lock()  # its second look waits
    release.set()
    publisher.join(30)
    completer.join(30)

    assert errors == []
    [(_key, correlated)] = publisher.results  # type: ignore[attr-defined]
    assert correlated == []  # the subscription was not committed when it looked
    instance.is_completed().has_passed("wait", times=1)
