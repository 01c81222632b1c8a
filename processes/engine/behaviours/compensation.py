"""Compensation: subscriptions of completed activities, throw events and their handlers.

https://docs.camunda.io/docs/components/modeler/bpmn/compensation-handler/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine.bpmn import Element
from processes.engine.state import (
    ACTIVATED,
    RuntimeState,
    runtime,
)
from processes.models import (
    ElementInstance,
)

if TYPE_CHECKING:
    from processes.engine.runtime import InstanceRun

ACTIVE = ElementInstance.ACTIVE


def on_compensable_completed(run: InstanceRun, el: Element, ei: ElementInstance) -> None:
    """Each completion of an activity with a compensation boundary subscribes.

    Stored on the root instance (with the flow scope chain) so subscriptions of completed
    sub-processes stay reachable.
    """
    subs = runtime(run.root).compensable
    subs.append(
        {
            "activity": el.id,
            "handler": el.compensation_handler,
            "instance": ei.key,
            "chain": run.scope_chain(ei.scope_key) if ei.scope_key is not None else [],
            "triggered": False,
        }
    )
    run.touch(run.root)


def _compensation_scope(run: InstanceRun, ei: ElementInstance) -> int:
    """The scope a throw compensates: its flow scope, or the enclosing one of an ESP."""
    scope_key = ei.scope_key
    scope = run.instances.get(scope_key)
    while scope is not None and scope.element_type == "EVENT_SUB_PROCESS":
        scope_key = scope.scope_key
        scope = run.instances.get(scope_key)
    return scope_key


def _subscriptions_to_trigger(
    run: InstanceRun, scope_key: int, activity_ref: str | None
) -> list[dict[str, Any]]:
    """Not-yet-triggered subscriptions of the scope, nested ones of completed scopes."""
    active = {k for k, e in run.instances.items() if e.state == ACTIVE}
    chosen: list[dict[str, Any]] = []
    candidates = [s for s in runtime(run.root).compensable if not s["triggered"]]
    for sub in candidates:
        chain = sub["chain"]
        if scope_key not in chain:
            continue
        inner = chain[: chain.index(scope_key)]
        if any(key in active for key in inner):
            continue  # inside a still active sub-process: not compensable yet
        if activity_ref is None or (not inner and sub["activity"] == activity_ref):
            chosen.append(sub)
    if activity_ref is not None:
        roots = {s["instance"] for s in chosen}
        for sub in candidates:
            if sub not in chosen and roots.intersection(sub["chain"]):
                chosen.append(sub)
    return chosen


def throw_compensation(run: InstanceRun, el: Element, ei: ElementInstance) -> None:
    """Start all handlers at once; the throw waits until they complete."""
    run.activated(el, ei)
    scope_key = _compensation_scope(run, ei)
    subs = _subscriptions_to_trigger(run, scope_key, el.event.activity_ref)
    handlers = 0
    for sub in subs:
        sub["triggered"] = True
        handler = run.model.elements.get(sub["handler"] or "")
        if handler is None:
            continue
        handlers += 1
        run.activate(handler, ei.scope_key, state=RuntimeState(compensation_throw=ei.key))
        run.record(
            "COMPENSATION_SUBSCRIPTION",
            "TRIGGERED",
            sub["instance"],
            sub["activity"],
            detail={"handler": handler.id, "throw": ei.key},
        )
    if subs:
        run.touch(run.root)
    if handlers == 0:
        run.complete(ei)
        return
    runtime(ei).compensation_pending = handlers
    run.touch(ei)


def on_compensation_handler_completed(run: InstanceRun, handler: ElementInstance) -> None:
    """A handler completed or was terminated: the waiting throw completes after the last one.

    Interrupted handlers are never re-run; that leaves open what the throw does when a handler
    is terminated while the throw itself stays active (e.g. an interrupting boundary event on the
    handler). Decision: a terminated handler counts as finished, so the throw completes once all
    remaining handlers have finished, instead of waiting forever.
    """
    throw = run.instances.get(runtime(handler).compensation_throw)
    if throw is None or throw.state != ACTIVE or throw.lifecycle != ACTIVATED:
        return
    runtime(throw).compensation_pending = (runtime(throw).compensation_pending or 1) - 1
    run.touch(throw)
    if runtime(throw).compensation_pending <= 0:
        runtime(throw).pop("compensation_pending")
        run.queue.append(lambda: _complete_throw(run, throw))


def _complete_throw(run: InstanceRun, throw: ElementInstance) -> None:
    """Complete a compensation throw unless it ended meanwhile (its scope was terminated)."""
    if throw.state == ACTIVE and throw.lifecycle == ACTIVATED:
        run.complete(throw)
