"""Camunda's TypeScript client ``@camunda8/orchestration-cluster-api`` (npm devDependencies),
unchanged, against this project's REST v2 API on a live server. ``ts/scenario.mjs`` runs the
steps; ``npm ci`` installs the clients. The strictest response mode, ``fanatical``, also refuses
fields unknown to the client's version: the fields Camunda 8.10 added (``suspendedDate``...),
which we send as the newest Camunda does, fail it on 9.x; ``strict`` checks types and required
fields."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.processes.api.conftest import message_process, service_process, user_task_process

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[3]
SCENARIO = Path(__file__).parent / "ts" / "scenario.mjs"
# The newest major (9.x, Camunda 8.9) with strict response checks, and 8.8.x (under an npm alias)
# with warnings only: where 8.8 and newer versions disagree (8.9 requires the deployment's
# other resource kinds as null, 8.8 refuses null there) the answers follow the newest Camunda.
# Requests: "warn", as 9.1.5's strict request check drops a cursor (page.after) it should send.
CLIENTS = {
    "@camunda8/orchestration-cluster-api": "req:warn,res:strict",
    "orchestration-cluster-api-88": "req:warn,res:warn",
    "@camunda8/sdk": "req:warn,res:warn",  # 8.8.x: the 8.8 client inside
}


@pytest.fixture
def environment(live_server, django_user_model, tmp_path: Path) -> dict[str, str]:
    django_user_model.objects.create_superuser("ts-sdk", password="ts-sdk-secret")
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CAMUNDA_REST_ADDRESS": f"{live_server.url}/v2",
        "ZEEBE_REST_ADDRESS": live_server.url,  # the name @camunda8/sdk 8.8 reads
        "CAMUNDA_AUTH_STRATEGY": "BASIC",
        "CAMUNDA_BASIC_AUTH_USERNAME": "ts-sdk",
        "CAMUNDA_BASIC_AUTH_PASSWORD": "ts-sdk-secret",
        "CAMUNDA_SDK_HTTP_RETRY_MAX_ATTEMPTS": "1",
    }


def bpmn_files(folder: Path) -> list[str]:
    written = []
    for name, xml in (
        ("work.bpmn", service_process(retries=1)),
        ("approval.bpmn", user_task_process()),
        ("msg.bpmn", message_process(correlation_key="=orderId")),
    ):
        path = folder / name
        path.write_text(xml)
        written.append(str(path))
    return written


@pytest.mark.parametrize("package", list(CLIENTS))
def test_typescript_client_drives_the_engine(package: str, environment, tmp_path: Path) -> None:
    environment["CAMUNDA_SDK_VALIDATION"] = CLIENTS[package]
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / package).exists():
        if IN_CI:
            pytest.fail(f"node and {package} are required in CI: run npm ci")
        pytest.skip(f"{package} not installed (npm ci)")
    done = subprocess.run(
        [node, str(SCENARIO), package, *bpmn_files(tmp_path)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    steps: list[dict[str, Any]] = [
        json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")
    ]
    failed = [s for s in steps if not s["ok"]]
    assert not failed, failed[0]["error"] if failed else ""
    assert done.returncode == 0, done.stderr
    assert [s["step"] for s in steps][-1] == "cancel"
