"""Call activities whose parent instance is busy: continuation order and errors reaching the
parent later. https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/
"""

from __future__ import annotations

import pytest

from processes.engine import service
from processes.engine.store import get_store
from processes.models import ElementInstance, Incident, Record
from tests.processes.engine.test_call_activity import (
    CHILD_TASK,
    ERROR_BOUNDARY,
    _parent,
    _with_error,
    children,
    job,
    root_vars,
    state,
)

pytestmark = pytest.mark.django_db


def _parent_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent row is held by another transaction: a non-waiting lock gets nothing."""
    store = get_store()
    real_lock = store.try_lock_root
    monkeypatch.setattr(
        store, "try_lock_root", lambda key, *, wait: real_lock(key, wait=wait) if wait else None
    )


def _completed_record(instance_key: int, element_id: str) -> Record:
    return Record.objects.get(
        process_instance_key=instance_key, element_id=element_id, intent="ELEMENT_COMPLETED"
    )


def test_parent_continues_after_the_child_run_is_written(process):
    """The child completes (and is written) before its call activity completes."""
    process.deploy(_parent("child"), "p.bpmn")
    process.deploy(CHILD_TASK, "c.bpmn")
    pi = service.create_instance(process_id="parent").key
    child = children(pi)[0]

    service.complete_job(job("child-task").key, {"done": 1})

    assert state(child.key) == ElementInstance.COMPLETED
    assert state(pi) == ElementInstance.COMPLETED
    child_done = _completed_record(child.key, "child")
    call_done = _completed_record(pi, "Call")
    assert child_done.id < call_done.id
    assert root_vars(pi)["done"] == 1


def test_child_error_with_busy_parent_is_recorded_and_resumed(process, monkeypatch):
    """An error the parent would catch is not an incident when the parent is busy."""
    process.deploy(_with_error(_parent("child", boundary=ERROR_BOUNDARY)), "p.bpmn")
    process.deploy(CHILD_TASK, "c.bpmn")
    pi = service.create_instance(process_id="parent").key
    child = children(pi)[0]
    _parent_busy(monkeypatch)

    service.throw_job_error(job("child-task").key, error_code="E-1", variables={"reason": "r"})

    assert not Incident.objects.exists()
    assert ElementInstance.objects.get(key=child.key).data["to_parent"]["error"]["code"] == "E-1"
    assert state(child.key) == ElementInstance.ACTIVE
    monkeypatch.undo()

    assert service.resume_completed_children() == 1

    assert state(child.key) == ElementInstance.TERMINATED
    assert state(pi) == ElementInstance.COMPLETED
    assert root_vars(pi)["reason"] == "r"
    assert "to_parent" not in ElementInstance.objects.get(key=child.key).data
    assert service.resume_completed_children() == 0


def test_child_error_the_busy_parent_would_not_catch_is_an_incident(process, monkeypatch):
    process.deploy(_parent("child"), "p.bpmn")
    process.deploy(CHILD_TASK, "c.bpmn")
    pi = service.create_instance(process_id="parent").key
    child = children(pi)[0]
    _parent_busy(monkeypatch)

    service.throw_job_error(job("child-task").key, error_code="E-1")

    incident = Incident.objects.get()
    assert (incident.process_instance_key, incident.error_type) == (
        child.key,
        "UNHANDLED_ERROR_EVENT",
    )
    assert "to_parent" not in ElementInstance.objects.get(key=child.key).data
