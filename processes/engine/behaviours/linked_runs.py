"""Runs of other process instances within one command (parent and child instances).

A run that is executing must be reused (its state is in memory, not yet flushed); any other
instance is locked and loaded afresh. The command's live runs are ``CommandContext.live_runs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.runtime import CommandContext

# ``service`` (the command layer) is imported where used: it imports the runtime, which
# imports the processors and so this module.


@contextmanager
def live(run: Run) -> Iterator[None]:
    """While the block runs, ``run`` is the run of its instance for this command."""
    runs = run.ctx.live_runs
    previous = runs.get(run.root.key)
    runs[run.root.key] = run
    try:
        yield
    finally:
        if previous is None:
            runs.pop(run.root.key, None)
        else:
            runs[run.root.key] = previous


def run_for(ctx: CommandContext, key: int, *, wait: bool) -> tuple[Run | None, bool]:
    """The run for instance ``key``: a live one (owned by the caller) or a newly opened one.

    Without ``wait`` no run is opened when another transaction holds the instance's lock.
    Returns ``(run, opened)``; an opened run must be finished by the caller.
    """
    from processes.engine import service

    current = ctx.live_runs.get(key)
    if current is not None:
        return current, False
    root = ctx.store.try_lock_root(key, wait=wait)
    if root is None:
        return None, False
    return service.open_run(ctx, root), True
