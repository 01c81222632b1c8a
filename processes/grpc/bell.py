"""Wake-ups for long-polling requests: rung when jobs become activatable or state changes.

A waiting request takes a ``ticket`` (the bell's counters) before it looks at the database and
waits on that ticket afterwards, so a ring between the look and the wait is not lost. The engine
rings the bell after commit with the job types that got activatable jobs
(``service.JOB_CREATED_LISTENERS``); the gateway also rings it after every command it ran, which
wakes requests waiting for an instance to end.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable


class Bell:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._by_type: defaultdict[str, int] = defaultdict(int)
        self._any = 0
        self._closed = False

    def ring(self, job_types: Iterable[str] = ()) -> None:
        with self._cond:
            for job_type in job_types:
                self._by_type[job_type] += 1
            self._any += 1
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every waiter for good (the server is stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def ticket(self, job_types: Iterable[str] | None = None) -> tuple[int, ...]:
        """The counters to wait on: of ``job_types``, or of any change when None."""
        with self._cond:
            if job_types is None:
                return (self._any,)
            return tuple(self._by_type[t] for t in job_types)

    def wait(
        self, ticket: tuple[int, ...], timeout: float, job_types: Iterable[str] | None = None
    ) -> bool:
        """Wait until rung after ``ticket`` was taken, or ``timeout`` seconds; True when rung."""
        types = None if job_types is None else list(job_types)

        def rung() -> bool:
            return self._closed or self.ticket_unlocked(types) != ticket

        with self._cond:
            return self._cond.wait_for(rung, timeout=max(timeout, 0.0))

    def ticket_unlocked(self, job_types: list[str] | None) -> tuple[int, ...]:
        if job_types is None:
            return (self._any,)
        return tuple(self._by_type[t] for t in job_types)
