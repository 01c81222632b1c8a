"""Worker test fixtures: small BPMN models, handler registration, polling helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from processes import jobs
from processes.testing.fixtures import process  # noqa: F401

BPMN_DIR = Path(__file__).parent / "bpmn"

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Definitions_{pid}" '
    'targetNamespace="http://bpmn.io/schema/bpmn">\n'
    '  <bpmn:process id="{pid}" isExecutable="true">\n'
    '    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>\n'
)


def tasks_in_row(process_id: str, job_types: list[str], retries: int = 3) -> str:
    """BPMN XML of a process with one service task per job type, in a row."""
    parts = [_HEAD.format(pid=process_id)]
    for index, job_type in enumerate(job_types):
        parts.append(
            f'    <bpmn:serviceTask id="task{index}">\n'
            "      <bpmn:extensionElements>\n"
            f'        <zeebe:taskDefinition type={quoteattr(job_type)} retries="{retries}" />\n'
            "      </bpmn:extensionElements>\n"
            f"      <bpmn:incoming>f{index}</bpmn:incoming>"
            f"<bpmn:outgoing>f{index + 1}</bpmn:outgoing>\n"
            "    </bpmn:serviceTask>\n"
        )
    last = len(job_types)
    parts.append(
        f'    <bpmn:endEvent id="end"><bpmn:incoming>f{last}</bpmn:incoming></bpmn:endEvent>\n'
    )
    previous = "start"
    for index in range(last + 1):
        target = f"task{index}" if index < last else "end"
        parts.append(
            f'    <bpmn:sequenceFlow id="f{index}" sourceRef="{previous}" targetRef="{target}" />\n'
        )
        previous = target
    parts.append("  </bpmn:process>\n</bpmn:definitions>\n")
    return "".join(parts)


@pytest.fixture
def register() -> Iterator[Callable[..., Callable[[jobs.Handler], jobs.Handler]]]:
    """``register("type", timeout_ms=...)(func)``: a handler that exists for this test only."""
    added: list[str] = []

    def add(job_type: str, **options: int) -> Callable[[jobs.Handler], jobs.Handler]:
        jobs.unregister(job_type)
        added.append(job_type)
        return jobs.job_handler(job_type, **options)

    yield add
    for job_type in added:
        jobs.unregister(job_type)


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds (a deadline, not a
    timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"Timed out after {timeout} s waiting for {what or predicate}")
