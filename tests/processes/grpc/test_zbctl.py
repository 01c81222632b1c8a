"""Camunda's ``zbctl`` (npm package ``zbctl``, a Go binary) against the embedded engine's gateway.

``npm ci`` installs it; it talks plaintext with ``--insecure``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from processes.grpc.server import GatewayServer
from processes.models import ElementInstance, Incident, Job
from tests.conftest import IN_CI

from .conftest import message_process, service_process

pytestmark = pytest.mark.django_db(transaction=True)

ZBCTL = Path(__file__).resolve().parents[3] / "node_modules" / "zbctl" / "bin" / "zbctl-cli.linux"


@pytest.fixture
def zbctl(gateway: GatewayServer, tmp_path: Path) -> Any:
    if not ZBCTL.exists():
        if IN_CI:
            pytest.fail("zbctl is required in CI: run npm ci")
        pytest.skip("zbctl not installed (npm ci)")

    def run(*args: str, json_out: bool = True, check: bool = True) -> Any:
        """Run zbctl; its answer parsed as JSON (deploy, create, activate and publish print
        JSON; the other commands print JSON when asked with ``--output json``)."""
        command = [str(ZBCTL), *args, "--address", gateway.target, "--insecure"]
        if json_out and args[0] == "status":
            command += ["--output", "json"]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
        if check:
            assert done.returncode == 0, done.stderr + done.stdout
        if not check:
            return done
        return json.loads(done.stdout) if json_out and done.stdout.strip() else done.stdout

    return run


def test_zbctl_drives_a_process_through_the_gateway(zbctl: Any, tmp_path: Path) -> None:
    # status
    status = zbctl("status")
    assert status["clusterSize"] == 1
    assert status["brokers"][0]["partitions"][0]["role"] == "LEADER"
    # deploy resource
    work, msg = tmp_path / "work.bpmn", tmp_path / "msg.bpmn"
    work.write_text(service_process(retries=1))
    msg.write_text(message_process(correlation_key="=orderId"))
    deployed = zbctl("deploy", "resource", str(work), str(msg))
    assert {d["process"]["bpmnProcessId"] for d in deployed["deployments"]} == {"work", "wait-msg"}
    # create instance
    created = zbctl("create", "instance", "work", "--variables", '{"amount": 5}')
    key = int(created["processInstanceKey"])
    # activate and fail a job (its last retry: an incident)
    activated = zbctl("activate", "jobs", "work", "--maxJobsToActivate", "5")
    [job] = activated["jobs"]
    assert json.loads(job["variables"]) == {"amount": 5}
    assert json.loads(job["customHeaders"]) == {"carrier": "dhl"}
    zbctl("fail", "job", job["key"], "--retries", "0", "--errorMessage", "down", json_out=False)
    incident = Incident.objects.get(process_instance_key=key)
    # set retries, resolve the incident, activate again and complete
    zbctl("update", "retries", job["key"], "--retries", "2", json_out=False)
    zbctl("resolve", "incident", str(incident.key), json_out=False)
    [again] = zbctl("activate", "jobs", "work")["jobs"]
    assert again["key"] == job["key"] and again["retries"] == 2
    zbctl("complete", "job", job["key"], "--variables", '{"ok": true}', json_out=False)
    assert ElementInstance.objects.get(key=key).state == ElementInstance.COMPLETED
    assert Job.objects.get(key=int(job["key"])).state == Job.COMPLETED
    # publish a message that a waiting instance correlates
    waiting = int(
        zbctl("create", "instance", "wait-msg", "--variables", '{"orderId": "o-1"}')[
            "processInstanceKey"
        ]
    )
    zbctl("publish", "message", "paid", "--correlationKey", "o-1", json_out=False)
    assert ElementInstance.objects.get(key=waiting).state == ElementInstance.COMPLETED
    # cancel an instance; a second cancel is refused with NOT_FOUND
    doomed = int(zbctl("create", "instance", "work")["processInstanceKey"])
    zbctl("cancel", "instance", str(doomed), json_out=False)
    assert ElementInstance.objects.get(key=doomed).state == ElementInstance.TERMINATED
    refused = zbctl("cancel", "instance", str(doomed), json_out=False, check=False)
    assert refused.returncode != 0 and "NotFound" in refused.stderr + refused.stdout


def test_zbctl_create_instance_with_result(zbctl: Any, tmp_path: Path) -> None:
    path = tmp_path / "straight.bpmn"
    from tests.processes.api.conftest import straight_process

    path.write_text(straight_process())
    zbctl("deploy", "resource", str(path))
    result = zbctl("create", "instance", "straight", "--withResult", "--variables", '{"a": 1}')
    assert json.loads(result["variables"]) == {"a": 1}


def test_the_gateway_command_serves_zbctl(transactional_db: None, tmp_path: Path) -> None:
    import socket
    import sys

    from tests.processes.workers.test_celery_workers import database_url

    if not ZBCTL.exists():
        pytest.skip("zbctl not installed (npm ci)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    repo = Path(__file__).resolve().parents[3]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DATABASE_URL": database_url()}
    env.update(PYTHONPATH=str(repo), PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "zeebe_gateway", f"127.0.0.1:{port}", "--no-ticker"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert "Zeebe gateway on 127.0.0.1:" in server.stdout.readline()
        status = subprocess.run(
            [str(ZBCTL), "status", "--address", f"127.0.0.1:{port}", "--insecure",
             "--output", "json", "--requestTimeout", "20s"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["gatewayVersion"]
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
