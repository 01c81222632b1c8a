"""Every service task of the domain processes has a registered job handler."""

from __future__ import annotations

from pathlib import Path

from processes import jobs
from processes.adapters import bpmn_files
from processes.engine.bpmn import parse_bpmn
from tests.processes.workers.conftest import tasks_in_row


def job_types_without_handler(files: list[Path], handled: set[str]) -> list[str]:
    """Problems: static job types with no handler, and FEEL job types (not checkable)."""
    problems = []
    for path in files:
        for model in parse_bpmn(path.read_bytes(), path.name):
            for element in model.elements.values():
                task = getattr(element, "task", None)
                if task is None:
                    continue
                job_type = task.type_expr
                where = f"{path.name}: {model.id}/{element.id}"
                if job_type.startswith("="):
                    problems.append(f"{where}: job type is an expression ({job_type})")
                elif job_type not in handled:
                    problems.append(f"{where}: no handler for job type '{job_type}'")
    return problems


def test_every_service_task_in_processes_bpmn_has_a_handler():
    problems = job_types_without_handler(bpmn_files(), set(jobs.registry()))
    assert problems == [], "\n".join(problems)


def test_the_check_reports_missing_and_expression_job_types(tmp_path):
    path = tmp_path / "check.bpmn"
    path.write_text(tasks_in_row("check", ["wt-known", "wt-unknown", '="x-" + kind']))
    problems = job_types_without_handler([path], {"wt-known"})
    assert len(problems) == 2
    assert "no handler for job type 'wt-unknown'" in problems[0]
    assert "expression" in problems[1]
