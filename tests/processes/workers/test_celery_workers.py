"""Jobs through real Celery workers on Redis, including a worker killed in the middle of a job.

The workers are subprocesses (``celery -A config worker -P solo``) on a queue of their own,
pointed at this test run's database, so they see what the test commits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from processes import jobs, tasks
from processes.engine import service
from processes.models import ElementInstance, Job, Record
from tests.processes.workers import celery_handlers
from tests.processes.workers.conftest import tasks_in_row, wait_until
from tests.subprocesses import database_url, stop

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def celery_env(redis_url: str, settings, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for worker subprocesses, and this process set up to enqueue to them."""
    queue = f"orderly-test-{uuid.uuid4().hex[:10]}"
    settings.PROCESS_JOB_QUEUE = queue
    settings.CELERY_BROKER_URL = redis_url
    # The handlers exist here too: only types with a handler are enqueued.
    for job_type in ("wt-celery-a", "wt-celery-b", "wt-celery-slow"):
        assert jobs.spec_for(job_type) is not None, celery_handlers.__name__
    was_installed = tasks.dispatch_installed()
    assert tasks.install_dispatch()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=redis_url,
        CELERY_TASK_QUEUE=queue,
        INPROCESS_WORKERS="0",
        WORKER_TEST_DIR=str(tmp_path),
        PYTHONPATH=str(REPO),
    )
    env.pop("WORKER_TEST_BLOCK", None)
    yield env
    if not was_installed:
        tasks.uninstall_dispatch()


@pytest.fixture
def start_worker(celery_env: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(name: str, **extra_env: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-P", "solo", "-Q", celery_env["CELERY_TASK_QUEUE"],
                "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "-I", "tests.processes.workers.celery_handlers",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "WARNING",
            ],
            cwd=REPO,
            env={**celery_env, **extra_env},
        )  # fmt: skip
        started.append(worker)
        return worker

    yield start
    for worker in started:
        stop(worker)


def completed(instance_key: int) -> bool:
    state = ElementInstance.objects.filter(key=instance_key).values_list("state", flat=True)
    return state.first() == ElementInstance.COMPLETED


def test_celery_worker_drives_a_process_to_completion(start_worker, celery_env):
    # given
    service.deploy([("wt-celery.bpmn", tasks_in_row("wt-celery", ["wt-celery-a", "wt-celery-b"]))])
    start_worker("steady")
    # when: creating the instance commits its first job, which is enqueued on commit
    keys = [service.create_instance(process_id="wt-celery").key for _ in range(3)]
    # then
    wait_until(lambda: all(completed(k) for k in keys), timeout=60, what="Celery to finish")
    completions = Record.objects.filter(
        value_type="JOB", intent="COMPLETED", process_instance_key__in=keys
    )
    assert completions.count() == 6
    runs = (Path(celery_env["WORKER_TEST_DIR"]) / "runs.log").read_text().splitlines()
    assert len(runs) == 6
    assert {line.split()[0] for line in runs} != {str(os.getpid())}  # run by the worker


def test_job_of_a_killed_worker_is_run_again_and_completed_once(start_worker, celery_env):
    folder = Path(celery_env["WORKER_TEST_DIR"])
    service.deploy([("wt-kill.bpmn", tasks_in_row("wt-kill", ["wt-celery-slow"]))])
    doomed = start_worker("doomed", WORKER_TEST_BLOCK="1")
    key = service.create_instance(process_id="wt-kill").key
    wait_until((folder / "started").exists, timeout=60, what="the handler to start")
    job = Job.objects.get(process_instance_key=key)
    assert job.state == Job.ACTIVATED
    # when: the worker dies in the middle of the job, and another one is running
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    start_worker("survivor")

    def sweep_until_completed() -> bool:
        tasks.tick()  # re-enqueues the job once its activation timed out
        return completed(key)

    wait_until(sweep_until_completed, timeout=60, what="the job to be run again")
    # then
    records = Record.objects.filter(value_type="JOB", key=job.key)
    assert records.filter(intent="TIMED_OUT").count() >= 1
    assert records.filter(intent="COMPLETED").count() == 1
    runs = (folder / "runs.log").read_text().splitlines()
    assert runs == [runs[0]] and runs[0].endswith(
        f"wt-celery-slow {key}:{job.element_instance_key}"
    )


def test_the_documented_single_node_command_runs_the_engine_ticker(celery_env, tmp_path):
    # given no heartbeat, and the README's one-node command: a worker with beat embedded
    from django.core.cache import caches

    from processes import heartbeat

    assert "Redis" in type(caches[heartbeat.CACHE]).__name__  # shared with the worker
    caches[heartbeat.CACHE].delete(heartbeat.KEY)
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-B",
            "-P", "solo", "-Q", celery_env["CELERY_TASK_QUEUE"],
            "-n", f"beat-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "WARNING",
        ],
        cwd=REPO, env=celery_env,
    )  # fmt: skip
    try:
        # then beat schedules processes.tick, the worker runs it and the warning clears
        wait_until(lambda: heartbeat.last_tick() is not None, timeout=60, what="the ticker to run")
        assert heartbeat.ticker_warning() == ""
        # and beat kept its schedule in memory: no schedule file beside the code
        assert not list(REPO.glob("celerybeat-schedule*"))
    finally:
        stop(worker)
        caches[heartbeat.CACHE].delete(heartbeat.KEY)
