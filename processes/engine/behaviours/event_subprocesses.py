"""Event sub-processes: their start subscriptions, triggers and error catching.

https://docs.camunda.io/docs/components/modeler/bpmn/event-subprocesses/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine import expressions as ex
from processes.engine.bpmn import Element, ElementKind
from processes.engine.state import RuntimeState, runtime
from processes.models import (
    ElementInstance,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run

ACTIVE = ElementInstance.ACTIVE

# ``service`` (the command layer) is imported where used: it imports the runtime, which
# imports the processors and so this module.


def _element_of(run: Run, ei: ElementInstance) -> Element | None:
    if ei.element_type == "PROCESS":
        return None
    return run.model.elements.get(ei.element_id)


def _scope_subprocesses(run: Run, scope: ElementInstance) -> list[Element]:
    """The event sub-processes directly inside ``scope`` (the process or a sub-process)."""
    el = _element_of(run, scope)
    ids = run.model.event_subprocesses if el is None else el.event_subprocesses
    return [run.model.elements[i] for i in ids]


def _start_of(run: Run, esp: Element) -> Element | None:
    return run.model.elements[esp.start_events[0]] if esp.start_events else None


# ====================================================================== event sub-processes
def open_event_subprocess_subscriptions(
    run: Run, el: Element | None, scope: ElementInstance
) -> None:
    """Open timer and message subscriptions of the scope's event sub-processes.

    Error starts need no subscription: ``throw_error`` asks ``catch_error_in_scope``.
    """
    for esp in _scope_subprocesses(run, scope):
        start = _start_of(run, esp)
        if start is None or start.event is None:
            continue
        try:
            if start.event.type == "timer":
                run.create_timer(esp, scope, start, interrupting=start.cancel_activity)
            elif start.event.type == "message":
                run.open_message_subscription(esp, scope, start, interrupting=start.cancel_activity)
        except ex.ExpressionFailure as failure:
            run.raise_incident(scope, failure.error_type, failure.message)
    if el is not None and el.triggered_by_event:
        _enter_event_subprocess(run, el, scope)


def _enter_event_subprocess(run: Run, esp: Element, ei: ElementInstance) -> None:
    """Start a triggered event sub-process at its start event, with the trigger's payload."""
    start = _start_of(run, esp)
    if start is None:
        return
    payload = runtime(ei).pop("esp_payload") or {}
    error = runtime(ei).pop("esp_error")
    run.touch(ei)
    start_ei = run.new_instance(start, ei.key)
    run.activated(start, start_ei)
    if error:  # the error payload is local to the catching event
        for name, value in payload.items():
            run.set_local(start_ei.key, name, value)
        payload = {}
    run.complete(start_ei, payload or None)


def trigger_event_subprocess(
    run: Run,
    scope: ElementInstance,
    start: Element,
    payload: dict[str, Any],
    *,
    error: bool = False,
) -> bool:
    """Run the event sub-process of ``start`` in ``scope``.

    Interrupting: the scope is marked interrupted (later triggers are discarded), all its other
    children, running non-interrupting event sub-processes included, are terminated first.
    """
    esp = run.model.elements.get(start.parent or "")
    if esp is None or not esp.triggered_by_event:
        return False
    if scope.state != ACTIVE or runtime(scope).interrupted:
        return False
    if start.cancel_activity:
        runtime(scope).interrupted = True
        runtime(scope).pop("joins")
        run.touch(scope)
        for child_key in list(run.children.get(scope.key, [])):
            run.terminate(run.instances[child_key])
        _close_event_subprocess_waits(run, scope)
    state = RuntimeState(esp_payload=payload or None, esp_error=error)
    # The sub-process activation (input mappings, its own event sub-processes) reaches
    # ``open_event_subprocess_subscriptions`` through the scope start hooks.
    run.activate(esp, scope.key, state=state)
    return True


def _close_event_subprocess_waits(run: Run, scope: ElementInstance) -> None:
    """An interrupted scope's event sub-process timers and subscriptions close."""
    start_ids = [esp.start_events[0] for esp in _scope_subprocesses(run, scope) if esp.start_events]
    if not start_ids:
        return
    run.new_timers = [
        t
        for t in run.new_timers
        if not (t.element_instance_key == scope.key and t.element_id in start_ids)
    ]
    run.new_subs = [
        s
        for s in run.new_subs
        if not (s.element_instance_key == scope.key and s.element_id in start_ids)
    ]
    run.store.delete_scope_waits(scope.key, start_ids)


def on_trigger(run: Run, owner: ElementInstance, catcher: Element, payload: dict[str, Any]) -> bool:
    """``InstanceRun.trigger`` fallback: a timer/message for an event sub-process start."""
    if catcher.kind != ElementKind.START_EVENT:
        return False
    return trigger_event_subprocess(run, owner, catcher, payload)


def catch_error_in_scope(
    run: Run, current: ElementInstance, code: str, variables: dict[str, Any]
) -> bool:
    """Error event sub-processes of the flow scope that contains ``current``.

    Called for each level of the outward walk after ``current``'s own error boundaries, so an
    event sub-process inside a sub-process catches before that sub-process' boundary events.
    An equal code beats a catch-all at the same level.
    """
    if current.scope_key is None:
        return False
    scope = run.instances.get(current.scope_key)
    if scope is None or scope.state != ACTIVE or runtime(scope).interrupted:
        return False
    exact = catch_all = None
    for esp in _scope_subprocesses(run, scope):
        start = _start_of(run, esp)
        if start is None or start.event is None or start.event.type != "error":
            continue
        if start.event.error_code == code:
            exact = start
        elif not start.event.error_code:
            catch_all = start
    start = exact or catch_all
    if start is None:
        return False
    return trigger_event_subprocess(run, scope, start, variables, error=True)


def has_error_catcher(run: Run, ei: ElementInstance, code: str) -> bool:
    """Whether an error with ``code`` thrown at ``ei`` would be caught (without side effects)."""
    from processes.engine import service

    current: ElementInstance | None = ei
    while current is not None:
        if current.state != ACTIVE or runtime(current).interrupted:
            return False  # an interrupted scope stops the walk
        el = _element_of(run, current)
        if el is not None and run.error_boundary(el, code) is not None:
            return True
        if current.scope_key is not None:
            scope = run.instances.get(current.scope_key)
            if scope is not None and not runtime(scope).interrupted:
                for esp in _scope_subprocesses(run, scope):
                    start = _start_of(run, esp)
                    event = start.event if start is not None else None
                    if event and event.type == "error" and event.error_code in (code, None, ""):
                        return True
            current = scope
        else:
            parent_key = current.parent_process_instance_key
            call_key = current.parent_element_instance_key
            if parent_key is None or call_key is None:
                return False
            parent_run = run.ctx.live_runs.get(parent_key)
            if parent_run is None:
                parent_root = run.store.root(parent_key)
                if parent_root is None:
                    return False
                parent_run = service.open_run(run.ctx, parent_root)
            call = parent_run.instances.get(call_key)
            return call is not None and has_error_catcher(parent_run, call, code)
    return False
