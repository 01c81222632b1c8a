"""Embedded engine throughput: prints figures and one JSON line per configuration (no assertions).

    python bench/engine.py                       # every configuration, default instance counts
    python bench/engine.py --configs row10 --databases postgresql --workers inprocess -n 200

Configurations: ``row10`` (10 service tasks in a row) and ``mi3`` (parallel multi-instance over
3 items, a service task then a message catch in each branch; the messages are published right
after each start, buffered with a time-to-live). Databases: a throwaway SQLite file, and an
``orderly_bench`` database on the local PostgreSQL server (dropped and migrated per run).
Workers: ``inprocess`` (N threads calling the engine service directly) and ``celery`` (worker
subprocesses on Redis). Handlers do nothing.

Latency is from a job becoming activatable (its ``created_at``, which for a job after another
one is the time of the previous job's completion command) to its activation (its deadline minus
the activation timeout).

Importing this module registers the bench handlers, so Celery workers load it with ``-I``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from processes.jobs import Job, job_handler

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 120_000
ROW_TYPES = [f"bench-step-{i}" for i in range(10)]
MI_TYPE = "bench-branch"
PG_BENCH_DB = "orderly_bench"


def _noop(job: Job) -> dict:
    return {}


for _job_type in [*ROW_TYPES, MI_TYPE]:
    job_handler(_job_type, timeout_ms=TIMEOUT_MS)(_noop)

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="http://b">\n'
)


def row10_xml() -> str:
    nodes = ['<bpmn:startEvent id="s"/>']
    flows, previous = [], "s"
    for i, job_type in enumerate(ROW_TYPES):
        nodes.append(
            f'<bpmn:serviceTask id="t{i}"><bpmn:extensionElements><zeebe:taskDefinition '
            f'type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask>'
        )
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="t{i}"/>')
        previous = f"t{i}"
    nodes.append('<bpmn:endEvent id="e"/>')
    flows.append(f'<bpmn:sequenceFlow id="fe" sourceRef="{previous}" targetRef="e"/>')
    body = "".join(nodes + flows)
    return f'{HEAD}<bpmn:process id="bench-row10" isExecutable="true">{body}</bpmn:process>' + (
        "</bpmn:definitions>"
    )


def mi3_xml() -> str:
    return (
        HEAD + '<bpmn:message id="M" name="bench-msg"><bpmn:extensionElements>'
        '<zeebe:subscription correlationKey="=ref + &quot;-&quot; + item"/>'
        "</bpmn:extensionElements></bpmn:message>"
        '<bpmn:process id="bench-mi3" isExecutable="true"><bpmn:startEvent id="s"/>'
        '<bpmn:subProcess id="sub"><bpmn:multiInstanceLoopCharacteristics>'
        '<bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=items" '
        'inputElement="item"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>'
        '<bpmn:startEvent id="ss"/><bpmn:serviceTask id="work"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{MI_TYPE}"/></bpmn:extensionElements></bpmn:serviceTask>'
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="M"/>'
        '</bpmn:intermediateCatchEvent><bpmn:endEvent id="se"/>'
        '<bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="work"/>'
        '<bpmn:sequenceFlow id="g2" sourceRef="work" targetRef="wait"/>'
        '<bpmn:sequenceFlow id="g3" sourceRef="wait" targetRef="se"/></bpmn:subProcess>'
        '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="e"/></bpmn:process>'
        "</bpmn:definitions>"
    )


CONFIGS = {"row10": ("bench-row10", row10_xml, ROW_TYPES), "mi3": ("bench-mi3", mi3_xml, [MI_TYPE])}


# ---------------------------------------------------------------------------------- one run
def run_inprocess(job_types: list[str], threads: int, done: threading.Event) -> None:
    from django.db import connection

    from processes import jobs
    from processes.engine import service

    def loop() -> None:
        try:
            while not done.is_set():
                idle = True
                for job_type in job_types:
                    with jobs.engine_guard():
                        batch = service.activate_jobs(
                            job_type, worker="bench", timeout_ms=TIMEOUT_MS, max_jobs=4
                        )
                    for activated in batch:
                        jobs.run_job(activated)
                        idle = False
                if idle:
                    time.sleep(0.002)
        finally:
            connection.close()

    for index in range(threads):
        threading.Thread(target=loop, name=f"bench-{index}", daemon=True).start()


def measure(config: str, instances: int, workers: str, threads: int) -> dict[str, object]:
    import datetime as dt

    from django.db import connection

    from processes.engine import service
    from processes.models import ElementInstance, Job, Record

    process_id, xml_of, job_types = CONFIGS[config]
    service.deploy([(f"{process_id}.bpmn", xml_of())])
    done = threading.Event()
    if workers == "inprocess":
        run_inprocess(job_types, threads, done)
    started = time.perf_counter()
    keys = []
    for n in range(instances):
        variables = {"ref": f"r{n}", "items": ["a", "b", "c"]} if config == "mi3" else {}
        keys.append(service.create_instance(process_id=process_id, variables=variables).key)
        if config == "mi3":
            for item in ("a", "b", "c"):
                service.publish_message("bench-msg", f"r{n}-{item}", ttl_ms=600_000)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        left = ElementInstance.objects.filter(key__in=keys).exclude(state="COMPLETED").count()
        if not left:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    done.set()
    records = Record.objects.filter(process_instance_key__in=keys)
    flow_nodes = (
        records.filter(value_type="PROCESS_INSTANCE", intent="ELEMENT_COMPLETED")
        .exclude(element_type="PROCESS")
        .count()
    )
    job_count = records.filter(value_type="JOB", intent="COMPLETED").count()
    completed = ElementInstance.objects.filter(key__in=keys, state="COMPLETED").count()
    latencies = [
        ((deadline_at - dt.timedelta(milliseconds=TIMEOUT_MS)) - created).total_seconds() * 1000
        for created, deadline_at in Job.objects.filter(
            process_instance_key__in=keys, deadline__isnull=False
        ).values_list("created_at", "deadline")
    ]
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else 0.0
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return {
        "config": config,
        "database": connection.vendor,
        "workers": workers,
        "instances_per_s": round(completed / elapsed, 1),
        "flow_node_instances_per_s": round(flow_nodes / elapsed, 1),
        "jobs_per_s": round(job_count / elapsed, 1),
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
    }


def child(args: argparse.Namespace) -> None:
    """Runs inside a process whose DATABASE_URL points at the bench database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for config in args.configs:
        result = measure(config, args.instances[config], args.worker_mode, args.threads)
        print(
            f"# {result['config']} on {result['database']} with {result['workers']} workers: "
            f"{result['instances_per_s']} instances/s, {result['flow_node_instances_per_s']} "
            f"flow-node instances/s, {result['jobs_per_s']} jobs/s, p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms",
            flush=True,
        )
        print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------- driver
def database_urls(databases: list[str], folder: Path) -> dict[str, str]:
    urls = {}
    if "sqlite" in databases:
        urls["sqlite"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    if "postgresql" in databases:
        import psycopg

        base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        urls["postgresql"] = base.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--workers", nargs="+", choices=["inprocess", "celery"], default=["inprocess", "celery"]
    )
    parser.add_argument("-n", "--instances", type=int, default=0, help="instances per config")
    parser.add_argument("--threads", type=int, default=4, help="in-process worker threads")
    parser.add_argument("--celery-workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--broker", default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-mode", default="inprocess", help=argparse.SUPPRESS)
    args = parser.parse_args()
    defaults = {"row10": 100, "mi3": 100}
    args.instances = {c: args.instances or defaults[c] for c in CONFIGS}
    sys.path.insert(0, str(REPO))
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        for url in database_urls(args.databases, Path(folder)).values():
            for mode in args.workers:
                run_child(args, url, mode)


def run_child(args: argparse.Namespace, url: str, mode: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "INPROCESS_WORKERS": "0", "PYTHONPATH": str(REPO)}
    env.pop("CELERY_BROKER_URL", None)
    workers: list[subprocess.Popen] = []
    if mode == "celery":
        queue = f"orderly-bench-{uuid.uuid4().hex[:8]}"
        env.update(CELERY_BROKER_URL=args.broker, CELERY_TASK_QUEUE=queue)
        for index in range(args.celery_workers):
            workers.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "-P",
                        "solo",
                        "-Q",
                        queue,
                        "-n",
                        f"bench{index}-{queue}@%h",
                        "-I",
                        "bench.engine",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "--loglevel",
                        "ERROR",
                    ],
                    cwd=REPO,
                    env=env,
                )
            )
    try:
        command = [sys.executable, str(Path(__file__)), "--child", "--worker-mode", mode,
                   "--threads", str(args.threads), "--configs", *args.configs]  # fmt: skip
        if args.instances:
            command += ["-n", str(max(args.instances.values()))]
        subprocess.run(command, cwd=REPO, env=env, check=True)  # noqa: S603
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)


if __name__ == "__main__":
    main()
