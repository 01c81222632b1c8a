"""Camunda's Python client (``camunda-orchestration-sdk``), unchanged, against this project's REST
v2 API on a live server: the newest major (10.x, Camunda 8.10) and the one before (9.x, 8.9).

The SDK checks every response against the API contract (a missing required field raises
``MissingRequiredFieldError``), so each step below also checks the shapes we answer.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.processes.api.conftest import message_process, service_process, user_task_process
from tests.processes.clients import sdk_scenarios

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def configuration(live_server, django_user_model) -> dict[str, Any]:
    django_user_model.objects.create_superuser("sdk", password="sdk-secret")
    return {
        "CAMUNDA_REST_ADDRESS": f"{live_server.url}/v2",
        "CAMUNDA_AUTH_STRATEGY": "BASIC",
        "CAMUNDA_BASIC_AUTH_USERNAME": "sdk",
        "CAMUNDA_BASIC_AUTH_PASSWORD": "sdk-secret",
    }


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    written = []
    for name, xml in (
        ("work.bpmn", service_process(retries=1)),
        ("approval.bpmn", user_task_process()),
        ("msg.bpmn", message_process(correlation_key="=orderId")),
    ):
        path = tmp_path / name
        path.write_text(xml)
        written.append(str(path))
    return written


def test_python_sdk_drives_the_engine_end_to_end(configuration, files) -> None:
    sdk_scenarios.drive_end_to_end(configuration, files)


def test_python_sdk_job_worker_completes_jobs(configuration, files) -> None:
    assert sdk_scenarios.job_worker_completes_jobs(configuration, files) == ["task"]


def test_previous_python_sdk_major_runs_the_same_scenarios(configuration, files) -> None:
    # Camunda 8.9's client (9.x), from its own virtualenv (`make test` installs it)
    python = REPO / os.environ.get("SDK9_VENV", ".venv-sdk9") / "bin" / "python"
    assert python.exists(), f"{python} is missing: `make sdk9` (part of `make test`) installs it"
    ask = "import importlib.metadata as m; print(m.version('camunda-orchestration-sdk'))"
    version = subprocess.run(
        [python, "-c", ask], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version.startswith("9."), version
    run = subprocess.run(
        [python, str(Path(sdk_scenarios.__file__)), json.dumps(configuration), *files],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "scenarios passed" in run.stdout
