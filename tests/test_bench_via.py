"""The engine bench through the Zeebe gateway (pyzeebe workers) and through the REST API (the
Camunda SDK's job worker): every job is completed exactly once. Correctness only, no timing.

It runs ``bench/engine.py`` as a user would, in a subprocess, on PostgreSQL when
``DATABASE_URL`` points at it (a ``<database>_bench`` database next to the suite's, dropped and
created by the bench), else on a throwaway SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def bench_workers() -> set[int]:
    """Processes running this repository's bench workers (Linux: read from /proc)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        if b"--via-worker" in words and str(REPO / "bench" / "engine.py").encode() in words:
            found.add(int(cmdline.parent.name))
    return found


def bench_environment() -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return ["--databases", "sqlite"], env
    parsed = urllib.parse.urlparse(url)
    database = parsed.path.lstrip("/")
    env["BENCH_POSTGRES_URL"] = urllib.parse.urlunparse(parsed._replace(path="/postgres"))
    return ["--databases", "postgresql", "--db-name", f"{database}_bench"], env


def test_grpc_and_rest_modes_complete_every_job_once() -> None:
    databases, env = bench_environment()
    before = bench_workers()
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "engine.py"), "--via", "grpc", "rest",
         "--configs", "row10", "-n", "3", "--ceiling-seconds", "1", *databases],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    # Each result is printed as it comes and once more at the end.
    results = {(r["via"], r["workers"]): r for r in lines}
    assert set(results) == {("grpc", "pyzeebe"), ("rest", "camunda-sdk")}
    assert len(lines) == 4
    for result in results.values():
        assert result["config"] == "row10" and result["processes"] == 1
        assert result["jobs_expected"] == 30
        assert (result["jobs_completed"], result["jobs_doubled"]) == (30, 0)
        assert result["jobs_ok"] is True
        if result["database"] == "postgresql":
            assert {"ceiling_tps_before", "ceiling_tps_after", "ratio"} <= set(result)
            # The server runs on this machine: its CPU per command and per ceiling transaction.
            assert result["server_cpu_ms_per_command"] > 0
            assert result["ceiling_server_cpu_ms_per_tx"] > 0
            assert result["cpu_bound_ratio"] > 0
    # The bench stopped every worker process it started (none is left behind).
    assert bench_workers() <= before
