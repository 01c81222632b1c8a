"""Embedded engine throughput: prints figures and one JSON line per configuration (no assertions).

    python bench/engine.py                       # every configuration, default instance counts
    python bench/engine.py --configs row10 --databases postgresql --workers inprocess -n 200

Configurations: ``row10`` (10 service tasks in a row) and ``mi3`` (parallel multi-instance over
3 items, a service task then a message catch in each branch; the messages are published right
after each start, buffered with a time-to-live). Databases: a throwaway SQLite file, and an
``orderly_bench`` database on the local PostgreSQL server (dropped and migrated per run).
Workers: ``inprocess`` (the ``WorkerPool`` that ``make run`` starts, in the process that also
creates the instances) and ``celery`` (worker subprocesses on Redis, jobs enqueued on commit, as
in production). Handlers do nothing.

Throughput is over the time from the first instance's start to the last one's end (instances
are started as fast as the driver can, while the workers run). Latency is from a worker's job
completion to the next job being activatable: the duration of the completion command, which
creates the next job and commits it. The human line also gives the activation lag (a job
becoming activatable to a worker taking it), which grows with any backlog.

Importing this module registers the bench handlers, so Celery workers load it with ``-I``.
"""

from __future__ import annotations

import argparse
import json
import os
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


LATENCIES_MS: list[float] = []
_instrumented = threading.Lock()


def _noop(job: Job) -> dict:
    _instrument()
    return {}


def _instrument() -> None:
    """Time every job completion command of this process (once, on the first job)."""
    if getattr(_instrument, "done", False):
        return
    with _instrumented:
        if getattr(_instrument, "done", False):
            return
        from processes.engine import service

        complete = service.complete_job
        folder = os.environ.get("BENCH_LATENCY_DIR")
        sink = open(Path(folder) / f"lat-{os.getpid()}.txt", "a", buffering=1) if folder else None  # noqa: SIM115

        def timed(job_key: int, variables: dict | None = None) -> None:
            start = time.perf_counter()
            complete(job_key, variables)
            elapsed = (time.perf_counter() - start) * 1000
            LATENCIES_MS.append(elapsed)
            if sink is not None:
                sink.write(f"{elapsed:.3f}\n")

        service.complete_job = timed
        _instrument.done = True


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
def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(
    config: str, instances: int, workers: str, threads: int, clients: int
) -> dict[str, object]:
    import datetime as dt

    from django.db import connection
    from django.db.models import Max

    from processes.engine import clock, service
    from processes.models import ElementInstance, Job, Record
    from processes.workers import WorkerPool

    process_id, xml_of, _types = CONFIGS[config]
    _key, deployed = service.deploy([(f"{process_id}.bpmn", xml_of())])
    definition_key = deployed[0].definition.key
    pool = WorkerPool(threads, name="bench").start() if workers == "inprocess" else None
    LATENCIES_MS.clear()
    started = clock.now()
    keys: list[int] = []

    def client(numbers: range) -> None:
        try:
            for n in numbers:
                variables = {"ref": f"r{n}", "items": ["a", "b", "c"]} if config == "mi3" else {}
                keys.append(service.create_instance(process_id=process_id, variables=variables).key)
                if config == "mi3":
                    for item in ("a", "b", "c"):
                        service.publish_message("bench-msg", f"r{n}-{item}", ttl_ms=600_000)
        finally:
            connection.close()

    try:
        # Several clients start instances at once, as the back-office and webhooks do.
        starters = [
            threading.Thread(target=client, args=(range(i, instances, clients),))
            for i in range(clients)
        ]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()
        deadline = time.monotonic() + 900
        # A cheap poll (few CPU cycles taken from the engine): any instance of this run still
        # active? Each run deploys its own process into a fresh database.
        running = ElementInstance.objects.filter(
            definition_id=definition_key, element_type="PROCESS", state="ACTIVE"
        )
        while time.monotonic() < deadline and running.exists():
            time.sleep(0.1)
        roots = ElementInstance.objects.filter(key__in=keys)
    finally:
        if pool is not None:
            pool.stop()
    ended = roots.aggregate(last=Max("ended_at"))["last"] or clock.now()
    elapsed = max((ended - started).total_seconds(), 1e-6)
    records = Record.objects.filter(process_instance_key__in=keys)
    flow_nodes = (
        records.filter(value_type="PROCESS_INSTANCE", intent="ELEMENT_COMPLETED")
        .exclude(element_type="PROCESS")
        .count()
    )
    job_count = records.filter(value_type="JOB", intent="COMPLETED").count()
    completed = roots.filter(state="COMPLETED").count()
    latencies = list(LATENCIES_MS)
    folder = os.environ.get("BENCH_LATENCY_DIR")
    if folder:
        for path in Path(folder).glob("lat-*.txt"):
            latencies += [float(line) for line in path.read_text().split()]
            path.write_text("")  # the worker keeps appending to it for the next configuration
    lags = [
        ((deadline_at - dt.timedelta(milliseconds=TIMEOUT_MS)) - created).total_seconds() * 1000
        for created, deadline_at in Job.objects.filter(
            process_instance_key__in=keys, deadline__isnull=False
        ).values_list("created_at", "deadline")
    ]
    return {
        "config": config,
        "database": connection.vendor,
        "workers": workers,
        "instances_per_s": round(completed / elapsed, 1),
        "flow_node_instances_per_s": round(flow_nodes / elapsed, 1),
        "jobs_per_s": round(job_count / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "_detail": (
            f"{clients} clients, "
            + (f"{threads} worker threads, " if workers == "inprocess" else "")
            + f"{completed}/{instances} instances in {elapsed:.2f} s, {len(latencies)} completions "
            f"timed; activation lag p50 {percentile(lags, 0.5):.1f} ms, "
            f"p99 {percentile(lags, 0.99):.1f} ms"
        ),
    }


def child(args: argparse.Namespace) -> None:
    """Runs inside a process whose DATABASE_URL points at the bench database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for config in args.configs:
        result = measure(
            config, args.instances[config], args.worker_mode, args.threads, args.clients
        )
        detail = result.pop("_detail")
        print(
            f"# {result['config']} on {result['database']} with {result['workers']} workers: "
            f"{result['instances_per_s']} instances/s, {result['flow_node_instances_per_s']} "
            f"flow-node instances/s, {result['jobs_per_s']} jobs/s, p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms ({detail})",
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
    parser.add_argument(
        "--threads", type=int, default=2, help="in-process worker threads (handlers do nothing)"
    )
    parser.add_argument("--clients", type=int, default=4, help="threads starting instances")
    parser.add_argument("--celery-workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--broker", default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-mode", default="inprocess", help=argparse.SUPPRESS)
    args = parser.parse_args()
    defaults = {"row10": 200, "mi3": 200}
    args.instances = {c: args.instances or defaults[c] for c in CONFIGS}
    sys.path.insert(0, str(REPO))
    if args.child:
        child(args)
        return
    results: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for url in database_urls(args.databases, Path(folder)).values():
            for mode in args.workers:
                results += run_child(args, url, mode, Path(folder))
    print("\n".join(results))  # the JSON lines again, together at the end


def run_child(args: argparse.Namespace, url: str, mode: str, folder: Path) -> list[str]:
    """Run one database and worker mode in a child process; its JSON lines."""
    env = {**os.environ, "DATABASE_URL": url, "INPROCESS_WORKERS": "0", "PYTHONPATH": str(REPO)}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("BENCH_LATENCY_DIR", None)
    workers: list[subprocess.Popen] = []
    if mode == "celery":
        queue = f"orderly-bench-{uuid.uuid4().hex[:8]}"
        latency_dir = folder / f"latency-{queue}"
        latency_dir.mkdir()
        env.update(
            CELERY_BROKER_URL=args.broker,
            CELERY_TASK_QUEUE=queue,
            BENCH_LATENCY_DIR=str(latency_dir),
        )
        for index in range(args.celery_workers):
            workers.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "--quiet",
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
                    env={**env, "PYTHONWARNINGS": "ignore"},  # not the warning about root
                )
            )
    try:
        command = [sys.executable, str(Path(__file__)), "--child", "--worker-mode", mode,
                   "--threads", str(args.threads), "--clients", str(args.clients),
                   "--configs", *args.configs]  # fmt: skip
        if args.instances:
            command += ["-n", str(max(args.instances.values()))]
        lines = []
        with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as run:  # noqa: S603
            for line in run.stdout:
                print(line, end="", flush=True)
                if line.startswith("{"):
                    lines.append(line.rstrip())
        if run.returncode:
            raise SystemExit(f"bench child failed with exit code {run.returncode}")
        return lines
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)


if __name__ == "__main__":
    main()
