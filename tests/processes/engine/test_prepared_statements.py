"""PostgreSQL: the engine's statements are prepared on the server, and its hot commands take two
round trips (begin with the first reads, commit with the writes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from processes.engine import keys, service
from tests.conftest import require_service

pytestmark = [pytest.mark.postgres]

TWO_TASKS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="http://t">
  <bpmn:process id="two-tasks" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="a"><bpmn:extensionElements>
      <zeebe:taskDefinition type="rt-a"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="b"><bpmn:extensionElements>
      <zeebe:taskDefinition type="rt-b"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def postgres() -> None:
    require_service("DATABASE_URL", "PostgreSQL")
    if connection.vendor != "postgresql":
        pytest.skip("statement preparation and round trips are PostgreSQL's")


def _run_one(n: int) -> None:
    instance = service.create_instance(process_id="two-tasks", variables={"n": n})
    for job_type in ("rt-a", "rt-b"):
        [job] = service.activate_jobs(job_type, worker="t", max_jobs=1)
        assert job.variables["n"] == n
        service.complete_job(job.job.key, {job_type: n})
    instance.refresh_from_db()
    assert instance.state == "COMPLETED"


# What psycopg waits on without waiting for the server: queueing a statement in a pipeline
# (sent without waiting for its answer), entering the outermost pipeline, and changing the
# autocommit flag or committing while no transaction is open (no statement is sent then).
QUEUED = {"BaseCursor._execute_gen", "BaseConnection._exec_command"}
LOCAL = {"BaseConnection._set_autocommit_gen"}
IDLE_ONLY = {"BaseConnection._commit_gen", "BaseConnection._rollback_gen"}


class Trips(list[str]):
    """The round trips of a block, and the statements and commands it queued in pipelines
    (each costs the driver a pass of its pipeline machinery, answered or not)."""

    queued: list[str]


@contextlib.contextmanager
def _round_trips() -> Iterator[Trips]:
    """The waits for the server's answer on this thread's connection, one per round trip."""
    from psycopg.pq import TransactionStatus

    raw = connection.connection
    trips = Trips()
    trips.queued = []
    real = raw.wait

    def counted(gen: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(gen, "__qualname__", repr(gen))
        pipeline = raw._pipeline
        in_pipeline = pipeline is not None
        idle = raw.pgconn.transaction_status == TransactionStatus.IDLE
        local = (
            (name in QUEUED and in_pipeline)
            or (name in LOCAL and not in_pipeline)
            or (name == "BasePipeline._enter_gen" and pipeline.level == 0)
            or (name in IDLE_ONLY and idle)
        )
        if not local:
            trips.append(name)
        elif name in QUEUED:
            trips.queued.append(name)
        return real(gen, *args, **kwargs)

    raw.wait = counted
    try:
        yield trips
    finally:
        del raw.wait


@pytest.mark.django_db(transaction=True)
def test_engine_statements_are_prepared_on_the_connection(postgres, process):
    process.deploy(TWO_TASKS)
    for n in range(3):
        _run_one(n)

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    # Job activation, the completion's lock and reads, and the combined writes.
    assert any("picked" in text and "SKIP LOCKED" in text for text in prepared), prepared
    assert any("FOR UPDATE" in text and "processes_job" in text for text in prepared), prepared
    assert any("jsonb_populate_recordset" in text for text in prepared), prepared


@pytest.mark.django_db(transaction=True)
def test_start_activation_and_completion_take_two_round_trips_each(postgres, process):
    process.deploy(TWO_TASKS)
    _run_one(0)  # definitions cached, statements prepared
    connection.ensure_connection()
    with keys._lock:
        keys._limit = keys._next  # the next command reserves a fresh block of keys ...
    keys.KeyAllocator().next()  # ... here, so that no command below asks the sequence

    with _round_trips() as start:
        instance = service.create_instance(process_id="two-tasks")
    with _round_trips() as activation:
        [job] = service.activate_jobs("rt-a", worker="t", max_jobs=1)
    with _round_trips() as completion:
        service.complete_job(job.job.key)

    assert (len(start), len(activation), len(completion)) == (2, 2, 2), (
        start,
        activation,
        completion,
    )
    # A completion queues BEGIN, the instance lock, the job's update with the instance's reads
    # (one statement), the combined writes and COMMIT.
    assert len(completion.queued) == 5, completion.queued
    instance.refresh_from_db()
    assert instance.state == "ACTIVE"
    [next_job] = service.activate_jobs("rt-b", worker="t", max_jobs=1)
    assert next_job.job.process_instance_key == instance.key


CATCH = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="http://t">
  <bpmn:message id="M" name="rt-msg"><bpmn:extensionElements>
    <zeebe:subscription correlationKey="=ref"/></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="rt-catch" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="M"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.django_db(transaction=True)
def test_a_publication_is_one_transaction_in_three_round_trips(postgres, process):
    """Begin, write the message and find the subscription; lock and read the instance; write
    and commit. A second transaction (a look again after the commit) would take two more."""
    process.deploy(CATCH)
    warm = service.create_instance(process_id="rt-catch", variables={"ref": "warm"})
    service.publish_message("rt-msg", "warm", ttl_ms=60_000)
    warm.refresh_from_db()
    assert warm.state == "COMPLETED"
    instance = service.create_instance(process_id="rt-catch", variables={"ref": "r-1"})
    connection.ensure_connection()
    with keys._lock:
        keys._limit = keys._next
    keys.KeyAllocator().next()

    with _round_trips() as publication:
        _key, correlated = service.publish_message("rt-msg", "r-1", ttl_ms=60_000)

    assert correlated == [instance.key]
    assert len(publication) == 3, publication
    # BEGIN; the message's writes, the correlation lock, the subscriptions, the start events;
    # the instance's lock and its reads (one statement); the subscription's and the wait's
    # deletes, the writes and COMMIT.
    assert len(publication.queued) == 11, publication.queued
    instance.refresh_from_db()
    assert instance.state == "COMPLETED"
