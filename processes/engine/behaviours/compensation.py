"""Compensation: subscriptions of completed activities, throw events and their handlers.

https://docs.camunda.io/docs/components/modeler/bpmn/compensation-handler/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine.bpmn import Element
from processes.engine.state import (
    ACTIVATED,
    RuntimeState,
    flow_scope,
    runtime,
)
from processes.models import (
    ElementInstance,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run

ACTIVE = ElementInstance.ACTIVE


def on_compensable_completed(run: Run, el: Element, ei: ElementInstance) -> None:
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


def _compensation_scope(run: Run, ei: ElementInstance) -> int:
    """The scope a throw compensates: its flow scope, or the enclosing one of an ESP."""
    scope_key = flow_scope(ei)
    scope = run.instances.get(scope_key)
    while scope is not None and scope.element_type == "EVENT_SUB_PROCESS":
        scope_key = flow_scope(scope)  # an event sub-process is never a root
        scope = run.instances.get(scope_key)
    return scope_key


def _subscriptions_to_trigger(
    run: Run, scope_key: int, activity_ref: str | None
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


def throw_compensation(run: Run, el: Element, ei: ElementInstance) -> None:
    """Start all handlers at once; the throw waits until they complete."""
    run.activated(el, ei)
    scope_key = _compensation_scope(run, ei)
    activity_ref = el.event.activity_ref if el.event is not None else None
    subs = _subscriptions_to_trigger(run, scope_key, activity_ref)
    handlers = 0
    for sub in subs:
        sub["triggered"] = True
        handler = run.model.elements.get(sub["handler"] or "")
        if handler is None:
            continue
        handlers += 1
        run.activate(handler, flow_scope(ei), state=RuntimeState(compensation_throw=ei.key))
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


def on_compensation_handler_completed(run: Run, handler: ElementInstance) -> None:
    """A handler completed or was terminated: the waiting throw completes after the last one.

    Interrupted handlers are never re-run; that leaves open what the throw does when a handler
    is terminated while the throw itself stays active (e.g. an interrupting boundary event on the
    handler). Decision: a terminated handler counts as finished, so the throw completes once all
    remaining handlers have finished, instead of waiting forever.
    """
    throw_key = runtime(handler).compensation_throw
    throw = run.instances.get(throw_key) if throw_key is not None else None
    if throw is None or throw.state != ACTIVE or throw.lifecycle != ACTIVATED:
        return
    state = runtime(throw)
    pending = (1 if state.compensation_pending is None else state.compensation_pending) - 1
    state.compensation_pending = pending
    run.touch(throw)
    if pending <= 0:
        runtime(throw).pop("compensation_pending")
        run.queue.append(lambda: _complete_throw(run, throw))


def _complete_throw(run: Run, throw: ElementInstance) -> None:
    """Complete a compensation throw unless it ended meanwhile (its scope was terminated)."""
    if throw.state == ACTIVE and throw.lifecycle == ACTIVATED:
        run.complete(throw)
