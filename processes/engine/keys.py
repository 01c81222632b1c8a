"""Engine-wide int64 keys, shaped like Zeebe's (partition 1 starts at 2**51).

PostgreSQL: a sequence that steps by ``BLOCK``; each ``nextval`` reserves a block that this
process hands out from memory (sequences are not transactional, so a rolled-back command only
leaves a gap). SQLite has no sequences: a counter row is bumped inside the command's own
transaction, so a rollback also takes the reservation back; SQLite serialises writers anyway.
"""

from __future__ import annotations

import threading

from django.db import connection

from . import sql

KEY_BASE = 2**51
BLOCK = 1000
SEQUENCE = "processes_engine_key_seq"

_lock = threading.Lock()
_next = 0
_limit = 0


class KeyAllocator:
    """Keys for one command."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer: list[int] = []

    def next(self) -> int:
        if not self._buffer:
            self._buffer = _reserve()
            self._buffer.reverse()
        return self._buffer.pop()


# Keys a command takes at a time. PostgreSQL: from the process's block in memory, so a few at a
# time (most commands need fewer than eight) and a block lasts more commands before the next
# ``nextval`` (a round trip in the middle of a command, under the process's lock). SQLite:
# each reservation is an update of the counter row, so more at once.
SEQUENCE_CHUNK = 8
COUNTER_CHUNK = 32


def _reserve() -> list[int]:
    if sql.vendor() == "postgresql":
        return _reserve_from_sequence(SEQUENCE_CHUNK)
    return _reserve_from_counter(COUNTER_CHUNK)


def _reserve_from_sequence(count: int) -> list[int]:
    global _next, _limit
    with _lock:
        if _limit - _next < count:
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(%s)", [SEQUENCE])
                start = cursor.fetchone()[0]
            _next, _limit = start, start + BLOCK
        keys = list(range(_next, _next + count))
        _next += count
        return keys


def _reserve_from_counter(count: int) -> list[int]:
    from processes.models import KeyCounter

    with connection.cursor() as cursor:
        table = KeyCounter._meta.db_table
        cursor.execute(
            f"UPDATE {table} SET value = value + %s WHERE name = 'engine' RETURNING value",  # noqa: S608
            [count],
        )
        row = cursor.fetchone()
        if row is None:
            KeyCounter.objects.create(name="engine", value=KEY_BASE + count)
            end = KEY_BASE + count
        else:
            end = row[0]
    return list(range(end - count, end))
