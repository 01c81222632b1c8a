"""The Zeebe path end to end: the port on ``PROCESS_ENGINE=zeebe`` against a live gRPC gateway.

Here the embedded engine behind ``processes.grpc`` plays the Zeebe cluster: the test process
serves the gateway (and, for user tasks, the REST v2 API on a live server), while the job bridge
(``manage.py zeebe_bridge``) and a Celery worker on Redis run as subprocesses configured for
Zeebe, pointed at this run's database for the domain rows the handlers write. Nothing in the
chain reads the engine's tables directly except the gateway and the REST API.

PostgreSQL only: domain services call the port inside their own transactions (``order_place``
starts the instance while it holds the order's row lock), and on SQLite's single writer the
gateway's command would wait for that very transaction. A real cluster has its own storage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from processes import port, tasks
from processes.adapters import zeebe
from processes.grpc.server import GatewayServer
from processes.testing import reset_caches
from tests.conftest import require_service
from tests.orders.conftest import market  # noqa: F401
from tests.processes.workers.conftest import register  # noqa: F401
from tests.returns.conftest import customer, customer_user, shop  # noqa: F401
from tests.subprocesses import database_url
from tests.subprocesses import stop as _stop

REPO = Path(__file__).resolve().parents[3]
BPMN_DIR = REPO / "processes" / "bpmn"


@dataclass
class ZeebePath:
    gateway: GatewayServer
    env: dict[str, str]


@pytest.fixture
def zeebe_path(
    redis_url: str, transactional_db: None, live_server, settings, django_user_model
) -> Iterator[ZeebePath]:
    require_service("DATABASE_URL", "PostgreSQL")
    if connection.vendor != "postgresql":
        pytest.skip("the Zeebe path shares one database with the gateway: PostgreSQL only")
    reset_caches()
    # The embedded engine behind the gateway must not dispatch jobs itself: on Zeebe, jobs
    # reach Celery only through the bridge.
    dispatching = tasks.dispatch_installed()
    tasks.uninstall_dispatch()
    gateway = GatewayServer("127.0.0.1:0", recheck_s=0.5).start()
    django_user_model.objects.create_superuser("zeebe-rest", password="zeebe-rest-secret")
    queue = f"orderly-zeebe-{uuid.uuid4().hex[:10]}"
    rest = {
        "CAMUNDA_REST_ADDRESS": f"{live_server.url}/v2",
        "CAMUNDA_REST_USERNAME": "zeebe-rest",
        "CAMUNDA_REST_PASSWORD": "zeebe-rest-secret",
    }
    for name, value in rest.items():
        setattr(settings, name, value)
    settings.PROCESS_ENGINE = "zeebe"
    settings.ZEEBE_ADDRESS = gateway.target
    settings.CELERY_BROKER_URL = redis_url
    settings.PROCESS_JOB_QUEUE = queue
    zeebe._adapter = None
    env = dict(os.environ)
    env.update(
        rest,
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=redis_url,
        CELERY_TASK_QUEUE=queue,
        PROCESS_ENGINE="zeebe",
        ZEEBE_ADDRESS=gateway.target,
        INPROCESS_WORKERS="0",
        PAYMENT_PROVIDER="sandbox",
        SIMULATOR="off",
        PYTHONPATH=str(REPO),
    )
    children = [
        subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-P", "threads", "-c", "4", "-Q", queue,
                "-n", f"zeebe-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "WARNING",
            ],
            cwd=REPO,
            env=env,
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "zeebe_bridge"], cwd=REPO, env=env
        ),
    ]  # fmt: skip
    try:
        port.deploy_all()  # through pyzeebe and the gateway
        yield ZeebePath(gateway, env)
    finally:
        for child in children:
            _stop(child)
        if zeebe._adapter is not None:
            zeebe._adapter.close()
        zeebe._adapter = None
        gateway.stop(grace=0.5)
        if dispatching:
            tasks.install_dispatch()
        reset_caches()


@pytest.fixture(
    params=["embedded", pytest.param("zeebe", marks=[pytest.mark.redis, pytest.mark.postgres])]
)
def engine_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """The same process test on both paths: ``embedded`` (the in-process worker pool of
    ``make run`` on the embedded engine) and ``zeebe`` (pyzeebe through the gateway, the bridge
    and a Celery worker, as ``zeebe_path``)."""
    if request.param == "zeebe":
        request.getfixturevalue("zeebe_path")
        yield "zeebe"
        return
    from processes.workers import WorkerPool

    request.getfixturevalue("transactional_db")
    reset_caches()
    dispatching = tasks.dispatch_installed()
    tasks.uninstall_dispatch()  # the pool takes the jobs, as with no broker
    try:
        port.deploy_all()
        with WorkerPool(threads=2, interval=0.1):
            yield "embedded"
    finally:
        if dispatching:
            tasks.install_dispatch()
        reset_caches()
