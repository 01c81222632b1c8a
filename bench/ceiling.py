"""PostgreSQL's own transaction rate on this machine, now: the ceiling the engine bench compares to.

The machine is shared, so absolute rates move with everything else running on it; the engine's
rate divided by this one, measured in the same minutes, is the figure that carries over. With
``pgbench`` installed (Debian: ``postgresql-client``) the ceiling is its TPC-B-like script
(five statements per transaction: three updates, a select, an insert), prepared statements, as
many clients as the bench's; without it, a probe runs the same five statements from Python
threads (slower: the client's own CPU counts, so it understates the ceiling).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass

try:
    from bench import cpu
except ImportError:  # run as a script from bench/
    import cpu  # type: ignore[no-redef]

SCALE = 4  # pgbench branches: at least one per client, so that clients do not queue on one row


def _parts(url: str) -> dict[str, str]:
    parsed = urllib.parse.urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": str(parsed.port or 5432),
        "user": urllib.parse.unquote(parsed.username or "postgres"),
        "dbname": parsed.path.lstrip("/"),
    }


def _pgbench() -> str | None:
    return shutil.which("pgbench")


def prepare(url: str) -> str:
    """Fill the (freshly created, empty) database at ``url``; returns the method's name."""
    pgbench = _pgbench()
    if pgbench:
        p = _parts(url)
        subprocess.run(  # noqa: S603 - a fixed tool and our own arguments
            [pgbench, "-i", "-q", "-s", str(SCALE), "-h", p["host"], "-p", p["port"],
             "-U", p["user"], p["dbname"]],
            check=True, capture_output=True,
        )  # fmt: skip
        return "pgbench TPC-B"
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE probe_branches (bid int PRIMARY KEY, bbalance int)")
        conn.execute("CREATE TABLE probe_tellers (tid int PRIMARY KEY, bid int, tbalance int)")
        conn.execute("CREATE TABLE probe_accounts (aid int PRIMARY KEY, bid int, abalance int)")
        conn.execute(
            "CREATE TABLE probe_history (tid int, bid int, aid int, delta int, mtime timestamp)"
        )
        rows = "FROM generate_series(1, %s) g"
        conn.execute("INSERT INTO probe_branches SELECT g, 0 " + rows, [SCALE])
        conn.execute(
            "INSERT INTO probe_tellers SELECT g, (g - 1) / 10 + 1, 0 " + rows, [SCALE * 10]
        )
        conn.execute(
            "INSERT INTO probe_accounts SELECT g, (g - 1) / 100000 + 1, 0 " + rows,
            [SCALE * 100_000],
        )
        conn.execute("VACUUM ANALYZE")
    return "in-process TPC-B probe"


@dataclass(frozen=True)
class Ceiling:
    """The server's rate, and what one of its transactions cost in CPU (milliseconds)."""

    tps: float
    server_ms_per_tx: float | None  # PostgreSQL's processes (None: not measurable here)
    client_ms_per_tx: float  # pgbench, or the probe's Python threads


def measure(url: str, seconds: float, clients: int) -> Ceiling:
    """The TPC-B-like script's rate with ``clients`` connections, and its CPU per transaction."""
    before = cpu.Sample.now()
    tps, elapsed = _run(url, seconds, clients)
    # pgbench's backends exit with it: let the postmaster collect them (their CPU moves into
    # its children's total only then).
    time.sleep(0.5)
    spent = cpu.Sample.now().since(before)
    transactions = max(tps * elapsed, 1.0)
    client = spent.children if _pgbench() else spent.own
    return Ceiling(
        tps=tps,
        server_ms_per_tx=(spent.server * 1000 / transactions if spent.server is not None else None),
        client_ms_per_tx=client * 1000 / transactions,
    )


def _run(url: str, seconds: float, clients: int) -> tuple[float, float]:
    """(transactions per second, seconds it ran)."""
    pgbench = _pgbench()
    if pgbench:
        p = _parts(url)
        run = subprocess.run(  # noqa: S603
            [pgbench, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
             "-T", str(max(1, round(seconds))), "-h", p["host"], "-p", p["port"],
             "-U", p["user"], p["dbname"]],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        found = re.search(r"tps = ([0-9.]+)", run.stdout)
        if not found:
            raise RuntimeError(f"no tps in pgbench's output: {run.stdout}")
        return float(found.group(1)), float(max(1, round(seconds)))
    return _probe(url, seconds, clients), seconds


def _probe(url: str, seconds: float, clients: int) -> float:
    import random

    import psycopg

    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        rng = random.Random(index)
        with psycopg.connect(url, prepare_threshold=0) as conn:
            while time.monotonic() < stop:
                aid = rng.randint(1, SCALE * 100_000)
                tid = rng.randint(1, SCALE * 10)
                bid = rng.randint(1, SCALE)
                delta = rng.randint(-5000, 5000)
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(
                        "UPDATE probe_accounts SET abalance = abalance + %s WHERE aid = %s",
                        (delta, aid),
                    )
                    cur.execute("SELECT abalance FROM probe_accounts WHERE aid = %s", (aid,))
                    cur.fetchone()
                    cur.execute(
                        "UPDATE probe_tellers SET tbalance = tbalance + %s WHERE tid = %s",
                        (delta, tid),
                    )
                    cur.execute(
                        "UPDATE probe_branches SET bbalance = bbalance + %s WHERE bid = %s",
                        (delta, bid),
                    )
                    cur.execute(
                        "INSERT INTO probe_history VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP)",
                        (tid, bid, aid, delta),
                    )
                counts[index] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def server_transactions(cursor: object) -> int:
    """Transactions the server counted for the current database (``pg_stat_database``)."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT xact_commit + xact_rollback FROM pg_stat_database "
        "WHERE datname = current_database()"
    )
    return int(cursor.fetchone()[0])  # type: ignore[attr-defined]


def settled_transactions(
    cursor: object, *, at_least_s: float = 0.0, quiet_s: float = 1.5, limit_s: float = 13.0
) -> int:
    """``server_transactions`` once the counts of idle connections have come in.

    Backends report their counts at most once a second, and an idle one only after about ten
    seconds (PostgreSQL 15+): read until the count stops moving (beyond these reads' own
    transactions) for ``quiet_s``, after ``at_least_s`` (other processes' connections stay
    open: wait out the ten seconds) and at most ``limit_s``.
    """
    started = time.monotonic()
    deadline = started + limit_s
    last = server_transactions(cursor)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server_transactions(cursor)
        if now - last > 2:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s and time.monotonic() - started >= at_least_s:
            return now
        last = now
    return last
