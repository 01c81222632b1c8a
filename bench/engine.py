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

``--via`` chooses the way jobs reach the engine: ``engine`` (the workers above call the engine's
Python API), ``grpc`` (the bench serves the Zeebe gateway and worker processes run pyzeebe
workers against it) or ``rest`` (the bench serves the Django app and worker processes run the
job worker of Camunda's Python SDK against ``/v2/``). Several values run one after the other,
so their figures come out of one run, side by side.

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
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from processes.jobs import Job, job_handler

try:
    from bench import ceiling, cpu
except ImportError:  # run as a script: bench/ is the script's folder
    import ceiling  # type: ignore[no-redef]
    import cpu  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 120_000
ROW_TYPES = [f"bench-step-{i}" for i in range(10)]
MI_TYPE = "bench-branch"
PG_BENCH_DB = os.environ.get("BENCH_DB", "orderly_bench")
JOBS_PER_INSTANCE = {"row10": 10, "mi3": 3}
VIAS = ["engine", "grpc", "rest"]
WORKERS_OF_VIA = {"grpc": "pyzeebe", "rest": "camunda-sdk"}  # who works the jobs of each
BATCH = 32  # jobs one remote worker activates and runs at once per job type (pyzeebe's default)
REST_USER = "bench"


def gateway_threads(processes: int, job_types: int) -> int:
    """gRPC server threads: one per waiting long poll (a job type of a worker process) and
    16 for the commands."""
    return 16 + processes * job_types


def via_pool_size(via: str, processes: int, job_types: int, clients: int) -> int:
    """PostgreSQL connections the child's pool may open for ``via`` grpc or rest.

    A gateway thread keeps the connection of its last command while it idles (it returns it
    before its next one), so the pool must cover every thread, the clients and the ticker;
    the HTTP server's threads hold one for a request only.
    """
    if via == "grpc":
        return gateway_threads(processes, job_types) + clients + 2
    return 20 + clients


LATENCIES_MS: list[float] = []
ACTIVATIONS: list[int] = []  # jobs per activation command (a poll that finds none counts too)
_instrumented = threading.Lock()
_instrumented_done = threading.Event()


def _noop(job: Job) -> dict:
    _instrument()
    return {}


def _instrument() -> None:
    """Time every job completion command of this process (once, on the first job)."""
    if _instrumented_done.is_set():
        return
    with _instrumented:
        if _instrumented_done.is_set():
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
        activate = service.activate_jobs
        activations = (
            open(Path(folder) / f"act-{os.getpid()}.txt", "a", buffering=1) if folder else None  # noqa: SIM115
        )

        def counted(*args: object, **kwargs: object) -> list:
            activated = activate(*args, **kwargs)  # type: ignore[arg-type]
            ACTIVATIONS.append(len(activated))
            if activations is not None:
                activations.write(f"{len(activated)}\n")
            return activated

        service.activate_jobs = counted
        _instrumented_done.set()


def _instrument_celery_worker(**_kwargs: object) -> None:
    _instrument()  # before the first activation, so that every one is counted


for _job_type in [*ROW_TYPES, MI_TYPE]:
    job_handler(_job_type, timeout_ms=TIMEOUT_MS)(_noop)

try:  # Celery workers load this module (``-I``): count from their first activation on
    from celery.signals import worker_ready

    worker_ready.connect(_instrument_celery_worker, weak=False)
except ImportError:  # pragma: no cover - Celery is a dependency
    pass

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


def _drain(folder: str | None, prefix: str) -> list[str]:
    """Lines the worker processes appended to ``<prefix>-<pid>.txt`` since the last drain."""
    lines: list[str] = []
    if folder:
        for path in Path(folder).glob(f"{prefix}-*.txt"):
            lines += path.read_text().split()
            path.write_text("")  # the worker keeps appending to it for the next configuration
    return lines


def _per(seconds: float | None, count: int) -> float | None:
    return round(seconds * 1000 / count, 3) if seconds is not None and count else None


def measure(
    config: str,
    instances: int,
    workers: str,
    threads: int,
    clients: int,
    *,
    external: bool,
    finished: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One configuration's run; ``finished`` stops the remote workers once every instance ended
    (before the server's transaction count is read)."""
    import datetime as dt

    from django.db import connection
    from django.db.models import Max

    from processes.engine import clock, service
    from processes.models import ElementInstance, Job, Record
    from processes.workers import WorkerPool

    process_id, xml_of, _types = CONFIGS[config]
    _key, deployed = service.deploy([(f"{process_id}.bpmn", xml_of())])
    definition_key = deployed[0].definition.key
    postgres = connection.vendor == "postgresql"
    folder = os.environ.get("BENCH_LATENCY_DIR")
    _drain(folder, "lat")
    _drain(folder, "act")
    if postgres:
        with connection.cursor() as cursor:
            transactions_before = ceiling.settled_transactions(cursor, quiet_s=0.6)
    run_pool = workers == "inprocess" and not external
    cpu_before = cpu.Sample.now()
    pool = WorkerPool(threads, name="bench").start() if run_pool else None
    LATENCIES_MS.clear()
    ACTIVATIONS.clear()
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
        if finished is not None:
            finished()
    spent = cpu.Sample.now().since(cpu_before)
    ended = roots.aggregate(last=Max("ended_at"))["last"] or clock.now()
    elapsed = max((ended - started).total_seconds(), 1e-6)
    server_transactions = 0
    if postgres:
        with connection.cursor() as cursor:
            after = ceiling.settled_transactions(cursor, at_least_s=11.0 if external else 0.0)
        server_transactions = after - transactions_before
    records = Record.objects.filter(process_instance_key__in=keys)
    flow_nodes = (
        records.filter(value_type="PROCESS_INSTANCE", intent="ELEMENT_COMPLETED")
        .exclude(element_type="PROCESS")
        .count()
    )
    job_records = records.filter(value_type="JOB", intent="COMPLETED")
    job_count = job_records.count()
    distinct_jobs = job_records.values("key").distinct().count()
    expected_jobs = instances * JOBS_PER_INSTANCE[config]
    completed_rows = Job.objects.filter(process_instance_key__in=keys, state="COMPLETED").count()
    completed = roots.filter(state="COMPLETED").count()
    latencies = list(LATENCIES_MS) + [float(line) for line in _drain(folder, "lat")]
    activations = list(ACTIVATIONS) + [int(line) for line in _drain(folder, "act")]
    publications = instances * 3 if config == "mi3" else 0
    # Commands: starts, publications, activations (polls that found nothing included) and
    # completions; each is one server transaction.
    commands = len(keys) + publications + len(activations) + job_count
    lags = [
        ((deadline_at - dt.timedelta(milliseconds=TIMEOUT_MS)) - created).total_seconds() * 1000
        for created, deadline_at in Job.objects.filter(
            process_instance_key__in=keys, deadline__isnull=False
        ).values_list("created_at", "deadline")
        if deadline_at is not None
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
        "commands_per_s": round(commands / elapsed, 1),
        # CPU per command (ms): PostgreSQL's processes; this bench process (the engine, the
        # clients and the in-process pool, not worker processes of its own); the rest of the
        # machine (worker processes, and whatever else runs beside the bench).
        "server_cpu_ms_per_command": _per(spent.server, commands),
        "bench_cpu_ms_per_command": _per(spent.own, commands),
        "other_cpu_ms_per_command": _per(
            None if spent.rest is None else max(spent.rest - spent.own, 0.0), commands
        ),
        "server_transactions_per_s": round(server_transactions / elapsed, 1),
        "jobs_expected": expected_jobs,
        "jobs_completed": job_count,
        "jobs_doubled": job_count - distinct_jobs,
        "jobs_ok": job_count == distinct_jobs == completed_rows == expected_jobs,
        "_detail": (
            f"{clients} clients, "
            + (f"{threads} worker threads, " if workers == "inprocess" else "")
            + f"{completed}/{instances} instances in {elapsed:.2f} s, {len(latencies)} completions "
            f"timed; {len(activations)} activations ({sum(activations)} jobs); activation lag "
            f"p50 {percentile(lags, 0.5):.1f} ms, p99 {percentile(lags, 0.99):.1f} ms; jobs "
            f"{job_count} completed of {expected_jobs}, {job_count - distinct_jobs} twice"
        ),
    }


def child(args: argparse.Namespace) -> None:
    """Runs inside a process whose DATABASE_URL points at the bench database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    _instrument()
    postgres = connection.vendor == "postgresql"
    ceiling_url = os.environ.get("BENCH_CEILING_URL") if postgres else None
    via = args.via_now
    target, stop_server = "", None
    if via != "engine":
        most_types = max(len(CONFIGS[config][2]) for config in args.configs)
        target, stop_server = start_server(via, gateway_threads(args.processes_now, most_types))
    try:
        for config in args.configs:
            child_config(args, config, via, target, ceiling_url)
    finally:
        if stop_server is not None:
            stop_server()


def child_config(
    args: argparse.Namespace, config: str, via: str, target: str, ceiling_url: str | None
) -> None:
    """One configuration's figures, printed; for ``via`` grpc or rest with its own workers."""
    before = after = ceiling.Ceiling(0.0, None, 0.0)
    if ceiling_url:
        before = ceiling.measure(ceiling_url, args.ceiling_seconds, args.clients)
    remote = None
    if via != "engine":
        remote = RemoteWorkers(via, target, CONFIGS[config][2], args.processes_now).start()
    try:
        result = measure(
            config,
            args.instances[config],
            args.worker_mode,
            args.threads,
            args.clients,
            external=args.external_workers,
            finished=remote.stop if remote is not None else None,
        )
    finally:
        if remote is not None:
            remote.stop()
    if ceiling_url:
        after = ceiling.measure(ceiling_url, args.ceiling_seconds, args.clients)
    detail = result.pop("_detail")
    result["via"] = via
    result["processes"] = args.processes_now
    ceiling_text = ""
    if ceiling_url:
        tps = (before.tps + after.tps) / 2
        result["ceiling_tps_before"] = round(before.tps, 1)
        result["ceiling_tps_after"] = round(after.tps, 1)
        result["ratio"] = round(float(result["commands_per_s"]) / tps, 3) if tps else None
        server = float(result["server_transactions_per_s"])
        result["server_ratio"] = round(server / tps, 3) if tps else None
        ceiling_text = (
            f"; ceiling {before.tps:.0f} / {after.tps:.0f} tx/s before / after, ratio "
            f"{result['ratio']} (server transactions {result['server_ratio']})"
        )
        ceiling_text += _cpu_text(result, before, after)
    print(
        f"# {result['config']} on {result['database']} via {via} with {result['workers']}"
        f" workers x{args.processes_now}: {result['instances_per_s']} instances/s, "
        f"{result['flow_node_instances_per_s']} flow-node instances/s, {result['jobs_per_s']} "
        f"jobs/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
        f"{result['commands_per_s']} commands/s, {result['server_transactions_per_s']} server "
        f"tx/s{ceiling_text}; jobs {'ok' if result['jobs_ok'] else 'LOST OR DOUBLED'} "
        f"({detail})",
        flush=True,
    )
    print(json.dumps(result), flush=True)


def _cpu_text(result: dict[str, Any], before: ceiling.Ceiling, after: ceiling.Ceiling) -> str:
    """CPU per command against CPU per ceiling transaction, added to ``result`` and as text.

    ``cpu_bound_ratio`` is the ratio the run would have if the engine and the ceiling were both
    limited by the machine's CPU alone (each using all of it): CPU per ceiling transaction
    (server and pgbench) over CPU per engine command (server, bench process, rest of the
    machine). A measured ratio well below it means waiting (round trips, locks), not CPU.
    """
    if before.server_ms_per_tx is None or after.server_ms_per_tx is None:
        return ""
    server_tx = (before.server_ms_per_tx + after.server_ms_per_tx) / 2
    client_tx = (before.client_ms_per_tx + after.client_ms_per_tx) / 2
    result["ceiling_server_cpu_ms_per_tx"] = round(server_tx, 3)
    result["ceiling_client_cpu_ms_per_tx"] = round(client_tx, 3)
    parts = [
        result.get("server_cpu_ms_per_command"),
        result.get("bench_cpu_ms_per_command"),
        result.get("other_cpu_ms_per_command"),
    ]
    if any(part is None for part in parts):
        return ""
    per_command = sum(float(part) for part in parts)  # type: ignore[arg-type]
    result["cpu_bound_ratio"] = round((server_tx + client_tx) / per_command, 3)
    return (
        f"; CPU per command {parts[0]:.2f} ms server + {parts[1]:.2f} ms bench process + "
        f"{parts[2]:.2f} ms rest of the machine, per ceiling transaction {server_tx:.2f} ms "
        f"server + {client_tx:.2f} ms client: CPU-bound ratio {result['cpu_bound_ratio']}"
    )


# ------------------------------------------------------------------ --via grpc and --via rest
def _rest_user() -> str:
    """A superuser for the SDK's basic authentication in the bench database; its password.

    Every REST call checks the password, and Django's default hasher (PBKDF2, about 0.4 s of
    CPU per check here) would be most of what the bench measures; the bench process hashes
    with the quick hasher Django's testing docs suggest (a throwaway database, nobody else's
    account): https://docs.djangoproject.com/en/stable/topics/testing/overview/#password-hashing
    """
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()
    password = secrets.token_urlsafe(16)
    user, _created = get_user_model().objects.get_or_create(
        username=REST_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    user.set_password(password)
    user.save()
    return password


def serve_http() -> tuple[str, Callable[[], None]]:
    """The Django app on a free port of 127.0.0.1 in this process (threaded, as runserver
    serves it); its address and the function that stops it."""
    from django.core.servers.basehttp import (
        ThreadedWSGIServer,
        WSGIRequestHandler,
        get_internal_wsgi_application,
    )

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # no line per request

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(get_internal_wsgi_application())
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="bench-http", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}", stop


def start_server(via: str, threads: int) -> tuple[str, Callable[[], None]]:
    """The server ``--via grpc`` or ``--via rest`` works through, inside this process (so that
    the completion timing sees every command), for all of the child's configurations: its
    address and the function that stops it.

    One server per child: a gateway thread keeps the database connection of its last command
    until its next one, so a server per configuration would leave the stopped one's connections
    checked out of the pool.
    """
    if via == "grpc":
        from processes.grpc.server import GatewayServer

        # A thread per waiting long poll and for the commands; no back-pressure refusals within
        # the bench's own load.
        gateway = GatewayServer("127.0.0.1:0", threads=threads, max_in_flight=threads).start()
        return gateway.target, gateway.stop
    os.environ["BENCH_REST_PASSWORD"] = _rest_user()  # the workers inherit it
    return serve_http()


class RemoteWorkers:
    """``processes`` worker processes working one configuration's job types through the server
    at ``target``: pyzeebe (grpc) or the SDK's job worker (rest)."""

    def __init__(self, via: str, target: str, job_types: list[str], processes: int) -> None:
        self.via, self.target, self.job_types, self.processes = via, target, job_types, processes
        self.workers: list[subprocess.Popen[str]] = []

    def start(self) -> RemoteWorkers:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        try:
            for _index in range(self.processes):
                self.workers.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                        [sys.executable, str(Path(__file__)), "--via-worker", self.via,
                         "--target", self.target, "--job-types", *self.job_types],
                        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
                    )
                )  # fmt: skip
            self._wait_ready(time.monotonic() + 120)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Each worker prints one line once its workers poll."""
        waiting = selectors.DefaultSelector()
        for worker in self.workers:
            assert worker.stdout is not None
            waiting.register(worker.stdout, selectors.EVENT_READ)
        try:
            left = len(self.workers)
            while left:
                events = waiting.select(max(deadline - time.monotonic(), 0))
                if not events:
                    raise SystemExit(f"{self.via} workers not ready within 120 s")
                for key, _mask in events:
                    if key.fileobj.readline().strip() != "ready":  # type: ignore[union-attr]
                        raise SystemExit(f"a {self.via} worker process ended before it was ready")
                    waiting.unregister(key.fileobj)
                    left -= 1
        finally:
            waiting.close()

    def stop(self) -> None:
        """Stop the workers (they finish what they hold); idempotent."""
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()
        self.workers = []


def via_worker(args: argparse.Namespace) -> None:
    """One OS process working jobs from outside the engine until it is terminated (or its
    parent goes away): pyzeebe workers on the gateway, or the SDK's job workers on /v2/."""
    import asyncio

    parent = os.getppid()

    def ready() -> None:
        print("ready", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        async def orphaned() -> None:
            while os.getppid() == parent:
                await asyncio.sleep(1)
            stop.set()

        watch = asyncio.create_task(orphaned())
        try:
            if args.via_worker == "grpc":
                await _pyzeebe_workers(args.target, args.job_types, stop, ready)
            else:
                await _sdk_workers(args.target, args.job_types, stop, ready)
        finally:
            watch.cancel()

    asyncio.run(main())


async def _pyzeebe_workers(
    target: str, job_types: list[str], stop: Any, ready: Callable[[], None]
) -> None:
    import asyncio
    import contextlib

    from pyzeebe import ZeebeWorker, create_insecure_channel

    channel = create_insecure_channel(grpc_address=target)
    worker = ZeebeWorker(channel, name=f"bench-{os.getpid()}")
    for job_type in job_types:

        async def noop() -> dict[str, Any]:  # pyzeebe passes the variables it names: none
            return {}

        # Room for a second batch while one runs: at its cap pyzeebe pauses the type's polling
        # for poll_retry_delay (5 s), which would be most of what a run measures.
        worker.task(
            task_type=job_type, timeout_ms=TIMEOUT_MS, max_jobs_to_activate=BATCH,
            max_running_jobs=2 * BATCH,
        )(noop)  # type: ignore[arg-type]  # a handler without parameters is fine at run time  # fmt: skip
    running = asyncio.create_task(worker.work())
    ready()
    await stop.wait()
    await worker.stop()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    await channel.close()


async def _sdk_workers(
    address: str, job_types: list[str], stop: Any, ready: Callable[[], None]
) -> None:
    import logging

    import camunda_orchestration_sdk as sdk
    from camunda_orchestration_sdk.runtime.configuration_resolver import CamundaSdkConfigPartial

    configuration: CamundaSdkConfigPartial = {
        "CAMUNDA_REST_ADDRESS": f"{address}/v2",
        "CAMUNDA_AUTH_STRATEGY": "BASIC",
        "CAMUNDA_BASIC_AUTH_USERNAME": REST_USER,
        "CAMUNDA_BASIC_AUTH_PASSWORD": os.environ["BENCH_REST_PASSWORD"],
    }

    async def noop(job: Any) -> dict[str, Any]:
        return {}

    # Warnings and errors only (the SDK's default logger writes a line per poll).
    quiet = logging.getLogger("bench.camunda-sdk")
    async with sdk.CamundaAsyncClient(configuration=configuration, logger=quiet) as client:
        workers = [
            client.create_job_worker(
                sdk.WorkerConfig(
                    job_type=job_type,
                    job_timeout_milliseconds=TIMEOUT_MS,
                    max_concurrent_jobs=BATCH,
                    worker_name=f"bench-{os.getpid()}",
                ),
                noop,
                execution_strategy="async",
            )
            for job_type in job_types
        ]
        ready()
        await stop.wait()
        for worker in workers:
            await worker.aclose()


def pool_worker(args: argparse.Namespace) -> None:
    """One OS process running an in-process ``WorkerPool`` until it is terminated."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from processes.workers import WorkerPool

    _instrument()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    pool = WorkerPool(args.threads, name=f"bench-{os.getpid()}").start()
    try:
        stopped.wait()
    finally:
        pool.stop()


# ---------------------------------------------------------------------------------- driver
def database_urls(databases: list[str], folder: Path, name: str) -> tuple[dict[str, str], str]:
    """The bench databases by vendor, and the ceiling's database (PostgreSQL) or ``""``."""
    urls, ceiling_url = {}, ""
    if "sqlite" in databases:
        urls["sqlite"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    if "postgresql" in databases:
        import psycopg

        base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        server = base.rsplit("/", 1)[0]
        with psycopg.connect(base, autocommit=True) as conn:
            for database in (name, f"{name}_ceiling"):
                conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {database}")
        urls["postgresql"] = f"{server}/{name}"
        ceiling_url = f"{server}/{name}_ceiling"
        method = ceiling.prepare(ceiling_url)
        print(f"# ceiling: {method} in {name}_ceiling", flush=True)
    return urls, ceiling_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--workers", nargs="+", choices=["inprocess", "celery"], default=["inprocess", "celery"]
    )
    parser.add_argument(
        "--via",
        nargs="+",
        choices=VIAS,
        default=["engine"],
        help="how jobs reach the engine: engine (the --workers call its Python API), grpc "
        "(pyzeebe workers through the Zeebe gateway), rest (the job worker of Camunda's Python "
        "SDK through /v2/); several run in turn",
    )
    parser.add_argument("-n", "--instances", type=int, default=0, help="instances per config")
    parser.add_argument(
        "--threads", type=int, default=2, help="in-process worker threads (handlers do nothing)"
    )
    parser.add_argument("--clients", type=int, default=4, help="threads starting instances")
    parser.add_argument("--celery-workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="run with 1, 2, ... N worker processes (in-process pools each in its own OS "
        "process, Celery worker processes, or pyzeebe / SDK worker processes for --via grpc / "
        "rest, which otherwise run one) against one database and print the scaling",
    )
    parser.add_argument(
        "--db-name",
        default=PG_BENCH_DB,
        help="PostgreSQL database to drop, create and use (BENCH_DB; its ceiling uses "
        "<name>_ceiling)",
    )
    parser.add_argument(
        "--ceiling-seconds", type=float, default=5.0, help="length of each ceiling measurement"
    )
    parser.add_argument(
        "--broker", default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pool-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--external-workers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--processes-now", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker-mode", default="inprocess", help=argparse.SUPPRESS)
    parser.add_argument("--via-now", default="engine", help=argparse.SUPPRESS)
    parser.add_argument("--via-worker", choices=["grpc", "rest"], help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--job-types", nargs="+", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    defaults = {"row10": 200, "mi3": 200}
    given = args.instances
    args.instances = {c: given or defaults[c] for c in CONFIGS}
    args.given_instances = given
    sys.path.insert(0, str(REPO))
    if args.via_worker:
        via_worker(args)
        return
    if args.pool_worker:
        pool_worker(args)
        return
    if args.child:
        child(args)
        return
    results: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        urls, ceiling_url = database_urls(args.databases, Path(folder), args.db_name)
        for vendor, url in urls.items():
            for via in args.via:
                modes = args.workers if via == "engine" else [WORKERS_OF_VIA[via]]
                for mode in modes:
                    counts = range(1, args.processes + 1) if args.processes else [0]
                    for count in counts:
                        results += run_child(
                            args, url, mode, via, Path(folder), count,
                            ceiling_url * (vendor != "sqlite"),
                        )  # fmt: skip
    print("\n".join(results))  # the JSON lines again, together at the end
    parsed = [json.loads(line) for line in results]
    if len(args.via) > 1:
        print_side_by_side(parsed)
    if args.processes:
        print_scaling(parsed)


def print_side_by_side(results: list[dict]) -> None:
    """Per configuration and database, one line per way in (via and workers)."""
    print("# side by side (jobs/s, p50/p99 ms of a completion, commands/s, ratio, jobs)")
    for result in sorted(results, key=lambda r: (r["database"], r["config"])):
        print(
            f"# {result['config']} {result['database']} {result['via']:<6} "
            f"{result['workers']} x{result['processes']}: {result['jobs_per_s']} jobs/s, "
            f"p50/p99 {result['p50_ms']}/{result['p99_ms']} ms, {result['commands_per_s']} cmd/s, "
            f"ratio {result.get('ratio')}, jobs {'ok' if result['jobs_ok'] else 'LOST/DOUBLED'}"
        )


def print_scaling(results: list[dict]) -> None:
    print("# scaling with worker processes (jobs/s, commands/s, ratio to the ceiling, jobs)")
    rows: dict[tuple, list[dict]] = {}
    for result in results:
        key = (result["config"], result["database"], result["via"], result["workers"])
        rows.setdefault(key, []).append(result)
    for (config, database, via, workers), runs in rows.items():
        cells = "  ".join(
            f"{r['processes']}: {r['jobs_per_s']} jobs/s {r['commands_per_s']} cmd/s "
            f"ratio {r.get('ratio')} {'ok' if r['jobs_ok'] else 'LOST/DOUBLED'}"
            for r in runs
        )
        print(f"# {config} {database} via {via} {workers}: {cells}")


def run_child(
    args: argparse.Namespace,
    url: str,
    mode: str,
    via: str,
    folder: Path,
    processes: int,
    ceiling_url: str,
) -> list[str]:
    """Run one database, way in and worker mode in a child process; its JSON lines.

    ``processes``: 0 for the default layout (in-process pool inside the child,
    ``--celery-workers`` Celery workers, or one pyzeebe / SDK worker process), else that many
    worker processes. For ``via`` grpc or rest the child starts its worker processes itself,
    once its server listens.
    """
    env = {**os.environ, "DATABASE_URL": url, "INPROCESS_WORKERS": "0", "PYTHONPATH": str(REPO)}
    env["SIMULATOR"] = "off"
    if via != "engine":
        most_types = max(len(CONFIGS[config][2]) for config in args.configs)
        size = via_pool_size(via, processes or 1, most_types, args.clients)
        env["DATABASE_POOL_MAX_SIZE"] = str(size)
    env.pop("CELERY_BROKER_URL", None)
    env.pop("BENCH_LATENCY_DIR", None)
    env.pop("BENCH_CEILING_URL", None)
    if ceiling_url:
        env["BENCH_CEILING_URL"] = ceiling_url
    workers: list[subprocess.Popen] = []
    latency_dir = folder / f"latency-{uuid.uuid4().hex[:8]}"
    latency_dir.mkdir()
    external = mode == "celery" or processes > 0 or via != "engine"
    if external and via == "engine":  # else the child's own server times every command
        env["BENCH_LATENCY_DIR"] = str(latency_dir)
    # With --via grpc/rest the child serves the gateway or the app and starts the workers itself.
    if via == "engine" and mode == "celery":
        queue = f"orderly-bench-{uuid.uuid4().hex[:8]}"
        env.update(CELERY_BROKER_URL=args.broker, CELERY_TASK_QUEUE=queue)
        for index in range(processes or args.celery_workers):
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
    elif via == "engine" and processes:
        for _index in range(processes):
            workers.append(
                subprocess.Popen(  # noqa: S603
                    [
                        sys.executable,
                        str(Path(__file__)),
                        "--pool-worker",
                        "--threads",
                        str(args.threads),
                    ],
                    cwd=REPO,
                    env=env,
                )
            )
    try:
        command = [sys.executable, str(Path(__file__)), "--child", "--worker-mode", mode,
                   "--via-now", via, "--threads", str(args.threads),
                   "--clients", str(args.clients), "--ceiling-seconds", str(args.ceiling_seconds),
                   "--processes-now", str(processes or (args.celery_workers if mode == "celery"
                                                        else 1)),
                   "--configs", *args.configs]  # fmt: skip
        if external:
            command.append("--external-workers")
        if args.given_instances:
            command += ["-n", str(args.given_instances)]
        lines = []
        with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as run:  # noqa: S603
            assert run.stdout is not None
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
