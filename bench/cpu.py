"""CPU time spent by the database server and by this process, for per-command costs in the benches.

On Linux the server's CPU is the sum of ``utime + stime`` over the processes named ``postgres``
(``/proc/<pid>/stat``) plus the ``cutime + cstime`` the postmaster collected from backends that
have exited (proc(5)); so a connection that closed during the run is still counted. Only a
server on this machine can be measured: elsewhere (or without ``/proc``) the server figures are
``None``. The client's CPU is ``resource.getrusage``: this process, and the children it has
waited for (``pgbench``).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid_dir: Path) -> tuple[str, list[str]] | None:
    try:
        text = (pid_dir / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing bracket.
    open_at, close_at = text.find("("), text.rfind(")")
    if open_at < 0 or close_at < 0:
        return None
    return text[open_at + 1 : close_at], text[close_at + 2 :].split()


def server_cpu_s() -> float | None:
    """Seconds of CPU the local PostgreSQL server's processes have used so far."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    ticks, found = 0, False
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        parsed = _stat_fields(pid_dir)
        if parsed is None or parsed[0] != "postgres":
            continue
        found = True
        fields = parsed[1]
        # After comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
        ticks += int(fields[11]) + int(fields[12])
        if fields[1] == "1" or not _is_postgres(proc / fields[1]):
            ticks += int(fields[13]) + int(fields[14])  # the postmaster: its exited backends
    return ticks / TICK if found else None


def _is_postgres(pid_dir: Path) -> bool:
    parsed = _stat_fields(pid_dir)
    return parsed is not None and parsed[0] == "postgres"


def machine_busy_s() -> float | None:
    """Seconds of CPU the whole machine has been busy so far, all cores (``/proc/stat``)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal ...
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in first[1:8])
    return (user + nice + system + irq + softirq) / TICK


def own_cpu_s() -> float:
    """Seconds of CPU this process has used so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_s() -> float:
    """Seconds of CPU used by this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Sample:
    server: float | None
    own: float
    children: float
    machine: float | None

    @classmethod
    def now(cls) -> Sample:
        return cls(server_cpu_s(), own_cpu_s(), children_cpu_s(), machine_busy_s())

    def since(self, earlier: Sample) -> Sample:
        return Sample(
            _minus(self.server, earlier.server),
            self.own - earlier.own,
            self.children - earlier.children,
            _minus(self.machine, earlier.machine),
        )

    @property
    def rest(self) -> float | None:
        """The machine's CPU outside the server: the clients, and anything else running."""
        if self.machine is None or self.server is None:
            return None
        return max(self.machine - self.server, 0.0)


def _minus(later: float | None, earlier: float | None) -> float | None:
    return later - earlier if later is not None and earlier is not None else None
