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


@pytest.mark.django_db(transaction=True)
def test_message_published_while_its_subscription_is_being_opened(postgres, process, monkeypatch):
    """The completion that opens the subscription finds no message; before it commits, the
    message is published and finds no subscription. The message must still be correlated."""
    from processes.engine.store import get_store

    process.deploy(MESSAGE_RACE)
    instance = process.start("message-race", {"ref": "r-1"})
    [job] = service.activate_jobs("race-work")
    looked = threading.Event()
    published = threading.Event()
    store = get_store()
    real_lookup = store.oldest_buffered

    def lookup_then_wait(sub, now, taken):
        found = real_lookup(sub, now, taken)
        if threading.current_thread().name == "completer":
            looked.set()  # no message yet; hold this transaction open until it is published
            assert published.wait(30)
        return found

    monkeypatch.setattr(store, "oldest_buffered", lookup_then_wait)
    errors: list[BaseException] = []

    def complete() -> None:
        try:
            service.complete_job(job.job.key)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    completer = threading.Thread(target=complete, name="completer")
    completer.start()
    assert looked.wait(30)
    _key, correlated = service.publish_message("race-msg", "r-1", ttl_ms=60_000)
    assert correlated == []  # the subscription was not committed yet
    published.set()
    completer.join(30)

    assert errors == []
    instance.is_completed().has_passed("wait", times=1)
