"""CPU time of the engine's Python per command: prints figures (no assertions).

    python bench/command_cpu.py                 # 200 instances of 10 service tasks in a row
    python bench/command_cpu.py -n 500 --db-name orderly_bench_cpu

One thread, no workers, no load beside it: it starts an instance, then activates and completes
its ten jobs one by one, and measures each command's CPU time on its own thread
(``time.thread_time``: Python and the driver, not the server's work, not waiting). On a shared
machine this moves far less than throughput does, so it shows what a change to the engine's
Python costs or saves. The database (``--db-name``, on ``BENCH_POSTGRES_URL``'s server) is
dropped, created and migrated per run. The first fifth of each command's samples is left out
(warm-up: caches, prepared statements).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASKS = 10


def bpmn() -> str:
    ids = [f"t{i}" for i in range(TASKS)]
    tasks = "".join(
        f'<bpmn:serviceTask id="{task}"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="cpu-{task}"/></bpmn:extensionElements></bpmn:serviceTask>'
        for task in ids
    )
    steps = ["s", *ids, "e"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(itertools.pairwise(steps))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="http://b">'
        '<bpmn:process id="cpu-row" isExecutable="true"><bpmn:startEvent id="s"/>'
        f'{tasks}<bpmn:endEvent id="e"/>{flows}</bpmn:process></bpmn:definitions>'
    )


def figures(samples: list[float]) -> str:
    warm = samples[len(samples) // 5 :]
    return (
        f"mean {1e6 * statistics.mean(warm):,.0f} us, "
        f"median {1e6 * statistics.median(warm):,.0f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--instances", type=int, default=200)
    parser.add_argument("--db-name", default=os.environ.get("BENCH_DB", "orderly_bench_cpu"))
    args = parser.parse_args()

    import psycopg

    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {args.db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {args.db_name}")
    os.environ["DATABASE_URL"] = f"{base.rsplit('/', 1)[0]}/{args.db_name}"
    os.environ["INPROCESS_WORKERS"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from processes.engine import service

    service.deploy([("cpu-row.bpmn", bpmn())])
    starts: list[float] = []
    activations: list[float] = []
    completions: list[float] = []
    for n in range(args.instances):
        begun = time.thread_time()
        service.create_instance(process_id="cpu-row", variables={"n": n})
        starts.append(time.thread_time() - begun)
        for i in range(TASKS):
            begun = time.thread_time()
            [job] = service.activate_jobs(f"cpu-t{i}", worker="bench", max_jobs=1)
            activations.append(time.thread_time() - begun)
            begun = time.thread_time()
            service.complete_job(job.job.key, {})
            completions.append(time.thread_time() - begun)
    print(
        f"# CPU per command ({args.instances} instances): start {figures(starts)}; "
        f"activation {figures(activations)}; completion {figures(completions)}"
    )


if __name__ == "__main__":
    main()
