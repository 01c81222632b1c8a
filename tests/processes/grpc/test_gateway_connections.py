"""The gateway gives its database connection back after each command, as Django does at the end
of a request: with a pool smaller than the gateway's threads, concurrent commands all succeed
(an idle thread holding a pooled connection would starve the others until the pool's timeout)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto import gateway_pb2_grpc

from processes.engine import service
from tests.conftest import require_service
from tests.processes.api.conftest import service_process
from tests.subprocesses import database_url, free_port, stop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[3]
POOL_SIZE = 3


def test_commands_from_more_threads_than_the_pool_has_connections_all_succeed():
    require_service("DATABASE_URL", "PostgreSQL")
    service.deploy([("pool-work.bpmn", service_process("pool-work", job_type="pool-work"))])
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE),
        "DATABASE_POOL_TIMEOUT": "5",  # a starved command fails within seconds, not 30
        "CELERY_BROKER_URL": "",
        "INPROCESS_WORKERS": "0",
        "LOG_LEVEL": "WARNING",
    }
    gateway = subprocess.Popen(
        [sys.executable, "manage.py", "zeebe_gateway", f"127.0.0.1:{port}", "--threads", "16"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = gateway_pb2_grpc.GatewayStub(channel)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                stub.Topology(pb.TopologyRequest(), timeout=2)
                break
            except grpc.RpcError:
                assert gateway.poll() is None, "the gateway exited"
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)

        def start(_: int) -> int:
            answer = stub.CreateProcessInstance(
                pb.CreateProcessInstanceRequest(bpmnProcessId="pool-work", version=-1),
                timeout=30,
            )
            return answer.processInstanceKey

        # when 16 clients start 64 instances at once, through more gateway threads than the
        # pool has connections
        with ThreadPoolExecutor(16) as clients:
            keys = list(clients.map(start, range(64)))
        # then every command succeeded
        assert len(set(keys)) == 64
    finally:
        channel.close()
        stop(gateway)
