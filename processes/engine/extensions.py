"""Engine extensions: event sub-processes, call activities, compensation and start events.

Everything here plugs into the runtime and the command layer through their hooks
(``runtime.EXTENSIONS``, ``SCOPE_START_HOOKS``, ``PROCESS_END_HOOKS``, ``service.DEPLOY_HOOKS``,
``MESSAGE_START_HOOKS``, ``START_TIMER_HOOKS``). Section numbers (§) refer to the Zeebe
semantics digest in the shared reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from processes.models import (
    ElementInstance,
    Message,
    MessageCorrelation,
    MessageStartSubscription,
    MessageSubscription,
    ProcessDefinition,
    Record,
    Timer,
)

from . import expressions as ex
from . import runtime as rt
from . import service
from . import timers as timer_math
from .bpmn import Element, ProcessModel
from .runtime import ACTIVATED, CommandContext, InstanceRun

ACTIVE = ElementInstance.ACTIVE


# ====================================================================== shared helpers
def _live_runs(ctx: CommandContext) -> dict[int, InstanceRun]:
    """Runs of this command that are on the call stack right now, by process instance key.

    A run that is executing must be reused (its state is in memory, not yet flushed); any other
    instance is locked and loaded afresh.
    """
    live = getattr(ctx, "ext_live_runs", None)
    if live is None:
        live = {}
        ctx.ext_live_runs = live  # type: ignore[attr-defined]
    return live


@contextmanager
def _live(run: InstanceRun) -> Iterator[None]:
    live = _live_runs(run.ctx)
    previous = live.get(run.root.key)
    live[run.root.key] = run
    try:
        yield
    finally:
        if previous is None:
            live.pop(run.root.key, None)
        else:
            live[run.root.key] = previous


def _lock_root(key: int, *, wait: bool) -> ElementInstance | None:
    """Lock a root instance row; without ``wait`` give up when another transaction holds it."""
    query = ElementInstance.objects.filter(key=key, element_type="PROCESS")
    if rt.is_locking_db():
        query = query.select_for_update(skip_locked=not wait)
    return query.first()


def _run_for(ctx: CommandContext, key: int, *, wait: bool) -> tuple[InstanceRun | None, bool]:
    """The run for instance ``key``: a live one (owned by the caller) or a newly opened one.

    Returns ``(run, opened)``; an opened run must be finished by the caller.
    """
    live = _live_runs(ctx).get(key)
    if live is not None:
        return live, False
    root = _lock_root(key, wait=wait)
    if root is None:
        return None, False
    return service.open_run(ctx, root), True


def _element_of(run: InstanceRun, ei: ElementInstance) -> Element | None:
    if ei.element_type == "PROCESS":
        return None
    return run.model.elements.get(ei.element_id)


def _scope_subprocesses(run: InstanceRun, scope: ElementInstance) -> list[Element]:
    """The event sub-processes directly inside ``scope`` (the process or a sub-process)."""
    el = _element_of(run, scope)
    ids = run.model.event_subprocesses if el is None else el.event_subprocesses
    return [run.model.elements[i] for i in ids]


def _start_of(run: InstanceRun, esp: Element) -> Element | None:
    return run.model.elements[esp.start_events[0]] if esp.start_events else None


# ====================================================================== event sub-processes
def open_event_subprocess_subscriptions(
    run: InstanceRun, el: Element | None, scope: ElementInstance
) -> None:
    """§2.6/§4.6/§5.3: open timer and message subscriptions of the scope's event sub-processes.

    Error starts need no subscription: ``throw_error`` asks ``catch_error_in_scope`` (§6.8).
    """
    for esp in _scope_subprocesses(run, scope):
        start = _start_of(run, esp)
        if start is None or start.event is None:
            continue
        try:
            if start.event.type == "timer":
                run._create_timer(esp, scope, start, interrupting=start.cancel_activity)
            elif start.event.type == "message":
                run._open_message_subscription(
                    esp, scope, start, interrupting=start.cancel_activity
                )
        except ex.ExpressionFailure as failure:
            run.raise_incident(scope, failure.error_type, failure.message)
    if el is not None and el.triggered_by_event:
        _enter_event_subprocess(run, el, scope)


def _enter_event_subprocess(run: InstanceRun, esp: Element, ei: ElementInstance) -> None:
    """Start a triggered event sub-process at its start event, with the trigger's payload."""
    start = _start_of(run, esp)
    if start is None:
        return
    payload = ei.data.pop("esp_payload", None) or {}
    error = ei.data.pop("esp_error", False)
    run.touch(ei)
    start_ei = run.new_instance(start, ei.key)
    run._activated(start, start_ei)
    if error:  # §1.11b: the error payload is local to the catching event
        for name, value in payload.items():
            run.set_local(start_ei.key, name, value)
        payload = {}
    run.complete(start_ei, payload or None)


def trigger_event_subprocess(
    run: InstanceRun,
    scope: ElementInstance,
    start: Element,
    payload: dict[str, Any],
    *,
    error: bool = False,
) -> bool:
    """§2.6: run the event sub-process of ``start`` in ``scope``.

    Interrupting: the scope is marked interrupted (later triggers are discarded), all its other
    children, running non-interrupting event sub-processes included, are terminated first.
    """
    esp = run.model.elements.get(start.parent or "")
    if esp is None or not esp.triggered_by_event:
        return False
    if scope.state != ACTIVE or scope.data.get("interrupted"):
        return False
    if start.cancel_activity:
        scope.data["interrupted"] = True
        scope.data.pop("joins", None)
        run.touch(scope)
        for child_key in list(run.children.get(scope.key, [])):
            run.terminate(run.instances[child_key])
        _close_event_subprocess_waits(run, scope)
    data: dict[str, Any] = {"esp_payload": payload} if payload else {}
    if error:
        data["esp_error"] = True
    # The sub-process activation (input mappings, its own event sub-processes) reaches
    # ``open_event_subprocess_subscriptions`` through the scope start hooks.
    run.activate(esp, scope.key, data=data)
    return True


def _close_event_subprocess_waits(run: InstanceRun, scope: ElementInstance) -> None:
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
    Timer.objects.filter(element_instance_key=scope.key, element_id__in=start_ids).delete()
    MessageSubscription.objects.filter(
        element_instance_key=scope.key, element_id__in=start_ids
    ).delete()


def on_trigger(
    run: InstanceRun, owner: ElementInstance, catcher: Element, payload: dict[str, Any]
) -> bool:
    """``InstanceRun.trigger`` fallback: a timer/message for an event sub-process start."""
    if catcher.kind != "startEvent":
        return False
    return trigger_event_subprocess(run, owner, catcher, payload)


def catch_error_in_scope(
    run: InstanceRun, current: ElementInstance, code: str, variables: dict[str, Any]
) -> bool:
    """§6.8: error event sub-processes of the flow scope that contains ``current``.

    Called for each level of the outward walk after ``current``'s own error boundaries, so an
    event sub-process inside a sub-process catches before that sub-process' boundary events.
    An equal code beats a catch-all at the same level.
    """
    if current.scope_key is None:
        return False
    scope = run.instances.get(current.scope_key)
    if scope is None or scope.state != ACTIVE or scope.data.get("interrupted"):
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


def _has_error_catcher(run: InstanceRun, ei: ElementInstance, code: str) -> bool:
    """Whether an error with ``code`` thrown at ``ei`` would be caught (without side effects)."""
    current: ElementInstance | None = ei
    while current is not None:
        if current.state != ACTIVE or current.data.get("interrupted"):
            return False  # §6.8: an interrupted scope stops the walk
        el = _element_of(run, current)
        if el is not None and run._error_boundary(el, code) is not None:
            return True
        if current.scope_key is not None:
            scope = run.instances.get(current.scope_key)
            if scope is not None and not scope.data.get("interrupted"):
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
            parent_run = _live_runs(run.ctx).get(parent_key)
            if parent_run is None:
                parent_root = ElementInstance.objects.filter(key=parent_key).first()
                if parent_root is None:
                    return False
                parent_run = service.open_run(run.ctx, parent_root)
            call = parent_run.instances.get(call_key)
            return call is not None and _has_error_catcher(parent_run, call, code)
    return False


# ====================================================================== call activities (§1.12)
def _called_definition(run: InstanceRun, el: Element, process_id: str) -> ProcessDefinition:
    called = el.called_element
    query = ProcessDefinition.objects.filter(
        tenant_id=run.root.tenant_id, bpmn_process_id=process_id
    )
    if called.binding_type == "deployment":
        query = query.filter(deployment_key=run.definition.deployment_key)
    elif called.binding_type == "versionTag":
        query = query.filter(version_tag=called.version_tag or "")
    definition = query.order_by("-version").first()
    if definition is None:
        binding = {"deployment": " in the same deployment", "versionTag": " with version tag"}
        raise ex.ExpressionFailure(
            f"Expected process with BPMN process id '{process_id}' to be deployed"
            f"{binding.get(called.binding_type, '')}, but not found.",
            "CALLED_ELEMENT_ERROR",
        )
    return definition


def activate_call_activity(run: InstanceRun, el: Element, ei: ElementInstance) -> None:
    """§1.12a: resolve the called process and start it as a child in this transaction."""
    context = run.visible(ei.key)
    process_id = ex.evaluate_string(el.called_element.process_id_expr, context).strip()
    definition = _called_definition(run, el, process_id)
    model = service.model_of(definition)
    starts = [s for s in model.start_events if model.elements[s].event is None]
    if not starts:
        raise ex.ExpressionFailure(
            f"Expected process with BPMN process id '{process_id}' to have a none start event, "
            "but not found.",
            "CALLED_ELEMENT_ERROR",
        )
    if el.called_element.propagate_all_parent:
        variables = context
    elif el.inputs:
        variables = {name: var.value for name, var in run.vars.get(ei.key, {}).items()}
    else:
        variables = {}
    run._open_boundaries(el, ei)
    run._activated(el, ei)
    with _live(run):
        child = service.start_instance_in(
            run.ctx, definition, model, variables, starts[0], parent=(run.root.key, ei.key)
        )
    if ei.state == ACTIVE:
        ei.data["child"] = child.key
        run.touch(ei)


def _complete_call_activity(
    run: InstanceRun, call_key: int, child_variables: dict[str, Any]
) -> bool:
    """§1.12b: the child's root variables are the call activity's completion payload."""
    call = run.instances.get(call_key)
    if call is None or call.state != ACTIVE or call.lifecycle != ACTIVATED:
        return False
    el = run.model.elements[call.element_id]
    payload = None
    if el.outputs or el.called_element.propagate_all_child:
        payload = child_variables
    run.complete(call, payload)
    return True


def on_process_end(run: InstanceRun, root: ElementInstance) -> None:
    """A finished root frees its message start key (§4.8); a completed child continues its
    parent's call activity (§1.12b).

    Runs for completed and for terminated roots. The parent continuation is deferred until the
    child's own run has flushed, so the child's writes (its completion included) come first;
    the parent is then continued in this transaction if its lock is free (or it is live in this
    command), else the continuation is recorded on the child for ``resume_completed_children``.
    """
    if root.data.get("message_start_key"):
        run.ctx.follow_ups.append(
            lambda: _start_buffered_after(root.element_id, root.tenant_id, root.definition_id)
        )
    if root.parent_process_instance_key is None or root.state != ElementInstance.COMPLETED:
        return
    variables = {name: var.value for name, var in run.vars.get(root.key, {}).items()}
    run.after_flush.append(lambda: _continue_parent(run.ctx, root, variables))


def _continue_parent(ctx: CommandContext, root: ElementInstance, variables: dict[str, Any]) -> None:
    """Complete the calling call activity of the flushed, completed child ``root``."""
    parent_run, opened = _run_for(ctx, root.parent_process_instance_key, wait=False)
    call_key = root.parent_element_instance_key
    if parent_run is None:
        # The parent is locked by another transaction: never wait for it while holding the
        # child (lock order parent → child). Record it; a follow-up or the sweep finishes it.
        _record_for_parent(ctx, root, {"variables": variables})
        return
    if opened:
        _complete_call_activity(parent_run, call_key, variables)
        service.finish_run(parent_run)
    else:
        parent_run.queue.append(lambda: _complete_call_activity(parent_run, call_key, variables))


def _record_for_parent(ctx: CommandContext, root: ElementInstance, pending: dict[str, Any]) -> None:
    """Store a parent continuation on the child's root row, finished after commit or by a sweep."""
    root.data["to_parent"] = pending
    ElementInstance.objects.filter(key=root.key).update(data=root.data)
    key = root.key
    ctx.follow_ups.append(lambda: resume_completed_children([key]))


def resume_completed_children(keys: list[int] | None = None) -> int:
    """Finish parent continuations of children that could not be done at once.

    A completed child continues its call activity (§1.12b); an active child whose uncaught error
    the parent catches (§6.8) has it thrown at the call activity, which terminates the child.
    Called after commit for the children of that command, and by the timer ticker as a sweep
    (a continuation lost in a crash is still recorded on the child's root). Returns how many.
    """
    query = ElementInstance.objects.filter(element_type="PROCESS", data__has_key="to_parent")
    if keys is not None:
        query = query.filter(key__in=keys)
    done = 0
    for key, parent_key in list(query.values_list("key", "parent_process_instance_key")[:500]):
        with transaction.atomic():
            parent = _lock_root(parent_key, wait=True)  # parent first, then child
            child = (
                ElementInstance.objects.select_for_update()
                .filter(key=key, data__has_key="to_parent")
                .first()
            )
            if child is None:
                continue
            pending = child.data.pop("to_parent")
            child.save(update_fields=["data"])
            if parent is None or parent.state != ACTIVE:
                continue
            ctx = CommandContext(service.clock.now())
            parent_run = service.open_run(ctx, parent)
            call_key = child.parent_element_instance_key
            if "error" in pending:
                call = parent_run.instances.get(call_key)
                if child.state != ACTIVE or call is None or call.state != ACTIVE:
                    continue
                error = pending["error"]
                parent_run.throw_error(call, error["code"], error["message"], error["variables"])
            elif child.state == ElementInstance.COMPLETED:
                _complete_call_activity(parent_run, call_key, pending["variables"])
            service.finish_run(parent_run)
            service._after_commit(ctx)
            done += 1
    return done


def on_terminating(run: InstanceRun, ei: ElementInstance) -> None:
    """§2.9: terminating a call activity terminates its child instance (parent → child order).

    A terminated compensation handler counts as finished for its waiting throw event (§9.6).
    """
    if ei.data.get("compensation_throw"):
        on_compensation_handler_completed(run, ei)
    child_key = ei.data.get("child")
    if ei.element_type != "CALL_ACTIVITY" or not child_key:
        return
    child_run, opened = _run_for(run.ctx, child_key, wait=True)
    if child_run is None or child_run.root.state != ACTIVE:
        return
    child_run.terminate(child_run.root)
    if opened:
        service.finish_run(child_run)


def error_to_parent(
    run: InstanceRun, root: ElementInstance, code: str, message: str, variables: dict[str, Any]
) -> bool:
    """§6.8: an error not caught in a child continues at the calling call activity."""
    parent_key = root.parent_process_instance_key
    call_key = root.parent_element_instance_key
    if parent_key is None or call_key is None:
        return False
    with _live(run):
        parent_run, opened = _run_for(run.ctx, parent_key, wait=False)
        if parent_run is None:
            # Parent busy elsewhere: if it would catch the error (read without its lock),
            # record the throw on the child for ``resume_completed_children``; else incident.
            if not _has_error_catcher(run, root, code):
                return False
            pending = {"error": {"code": code, "message": message, "variables": variables}}
            run.after_flush.append(lambda: _record_for_parent(run.ctx, root, pending))
            return True
        call = parent_run.instances.get(call_key)
        if call is None or call.state != ACTIVE or not _has_error_catcher(parent_run, call, code):
            return False
        caught = parent_run.throw_error(call, code, message, variables)
        if opened:
            service.finish_run(parent_run)
    return caught


# ====================================================================== compensation (§9)
def on_compensable_completed(run: InstanceRun, el: Element, ei: ElementInstance) -> None:
    """§9.1/§9.5: each completion of an activity with a compensation boundary subscribes.

    Stored on the root instance (with the flow scope chain) so subscriptions of completed
    sub-processes stay reachable.
    """
    subs = run.root.data.setdefault("compensable", [])
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
    """The scope a throw compensates: its flow scope, or the enclosing one of an ESP (§9.6)."""
    scope_key = ei.scope_key
    scope = run.instances.get(scope_key)
    while scope is not None and scope.element_type == "EVENT_SUB_PROCESS":
        scope_key = scope.scope_key
        scope = run.instances.get(scope_key)
    return scope_key


def _subscriptions_to_trigger(
    run: InstanceRun, scope_key: int, activity_ref: str | None
) -> list[dict[str, Any]]:
    """§9.2-§9.4: not-yet-triggered subscriptions of the scope, nested ones of completed scopes."""
    active = {k for k, e in run.instances.items() if e.state == ACTIVE}
    chosen: list[dict[str, Any]] = []
    candidates = [s for s in run.root.data.get("compensable", []) if not s["triggered"]]
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
    """§9.2/§9.3: start all handlers at once; the throw waits until they complete."""
    run._activated(el, ei)
    scope_key = _compensation_scope(run, ei)
    subs = _subscriptions_to_trigger(run, scope_key, el.event.activity_ref)
    handlers = 0
    for sub in subs:
        sub["triggered"] = True
        handler = run.model.elements.get(sub["handler"] or "")
        if handler is None:
            continue
        handlers += 1
        run.activate(handler, ei.scope_key, data={"compensation_throw": ei.key})
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
    ei.data["compensation_pending"] = handlers
    run.touch(ei)


def on_compensation_handler_completed(run: InstanceRun, handler: ElementInstance) -> None:
    """A handler completed or was terminated: the waiting throw completes after the last one.

    §9.6 (interrupted handlers are never re-run) leaves open what the throw does when a handler
    is terminated while the throw itself stays active (e.g. an interrupting boundary event on the
    handler). Decision: a terminated handler counts as finished, so the throw completes once all
    remaining handlers have finished, instead of waiting forever.
    """
    throw = run.instances.get(handler.data.get("compensation_throw"))
    if throw is None or throw.state != ACTIVE or throw.lifecycle != ACTIVATED:
        return
    throw.data["compensation_pending"] = throw.data.get("compensation_pending", 1) - 1
    run.touch(throw)
    if throw.data["compensation_pending"] <= 0:
        throw.data.pop("compensation_pending", None)
        run.queue.append(lambda: _complete_throw(run, throw))


def _complete_throw(run: InstanceRun, throw: ElementInstance) -> None:
    """Complete a compensation throw unless it ended meanwhile (its scope was terminated)."""
    if throw.state == ACTIVE and throw.lifecycle == ACTIVATED:
        run.complete(throw)


# ====================================================================== start events
def _start_timer_row(
    ctx: CommandContext, definition: ProcessDefinition, start: Element
) -> Timer | None:
    event = start.event
    raw = event.timer_expr or ""
    value: Any = ex.evaluate(raw, {}) if ex.is_expression(raw) else raw
    schedule = timer_math.schedule_from(event.timer_kind, value, ctx.now)
    return Timer.objects.create(
        key=ctx.keys.next(),
        process_instance_key=None,
        element_instance_key=None,
        definition=definition,
        element_id=start.id,
        due_at=schedule.due_at,
        repetitions=schedule.repetitions_left,
        kind=event.timer_kind,
        spec=rt._timer_spec(value, event.timer_kind),
        interrupting=True,
    )


def on_deploy(ctx: CommandContext, definition: ProcessDefinition, model: ProcessModel) -> None:
    """§5.5/§4.8/§10.3: only the latest version's timer and message start events are live."""
    older = ProcessDefinition.objects.filter(
        tenant_id=definition.tenant_id, bpmn_process_id=definition.bpmn_process_id
    ).exclude(key=definition.key)
    Timer.objects.filter(process_instance_key__isnull=True, definition__in=older).delete()
    MessageStartSubscription.objects.filter(definition__in=older).delete()
    for start_id in model.start_events:
        start = model.elements[start_id]
        if start.event is None:
            continue
        if start.event.type == "timer":
            _start_timer_row(ctx, definition, start)
        elif start.event.type == "message":
            name = start.event.message_name or ""
            if ex.is_expression(name):
                name = ex.evaluate_string(name, {})
            MessageStartSubscription.objects.create(
                definition=definition,
                bpmn_process_id=model.id,
                element_id=start.id,
                message_name=name,
            )


def on_start_timer(ctx: CommandContext, timer: Timer) -> None:
    """§5.5: a due start timer starts an instance; a cycle is rescheduled (§5.4)."""
    definition = service.definition_by_key(timer.definition_id)
    model = service.model_of(definition)
    Record.objects.create(
        value_type="TIMER", intent="TRIGGERED", key=timer.key, element_id=timer.element_id,
        at=ctx.now,
    )  # fmt: skip
    again = service._next_due(timer)
    if again is None:
        timer.delete()
    else:
        timer.due_at, timer.repetitions = again
        timer.save(update_fields=["due_at", "repetitions"])
    if timer.element_id in model.elements:
        service.start_instance_in(ctx, definition, model, {}, timer.element_id)


def _blocked_by_key(process_id: str, tenant_id: str, correlation_key: str) -> bool:
    """§4.8: an active instance started by a message with the same non-empty key blocks."""
    if not correlation_key:
        return False
    return ElementInstance.objects.filter(
        element_type="PROCESS",
        state=ACTIVE,
        element_id=process_id,
        tenant_id=tenant_id,
        data__message_start_key=correlation_key,
    ).exists()


def _start_by_message(
    ctx: CommandContext, sub: MessageStartSubscription, message: Message
) -> int | None:
    definition = sub.definition
    model = service.model_of(definition)
    if MessageCorrelation.objects.filter(
        message_key=message.key, bpmn_process_id=sub.bpmn_process_id
    ).exists():
        return None  # §4.4: once per process id
    if _blocked_by_key(sub.bpmn_process_id, definition.tenant_id, message.correlation_key):
        return None
    root = service.start_instance_in(
        ctx, definition, model, dict(message.variables or {}), sub.element_id
    )
    if message.correlation_key:
        root.data["message_start_key"] = message.correlation_key
        ElementInstance.objects.filter(key=root.key).update(data=root.data)
    MessageCorrelation.objects.create(
        message_key=message.key, bpmn_process_id=sub.bpmn_process_id, process_instance_key=root.key
    )
    Record.objects.create(
        process_instance_key=root.key,
        value_type="MESSAGE",
        intent="CORRELATED",
        key=message.key,
        element_id=sub.element_id,
        detail={"name": message.name, "correlationKey": message.correlation_key},
        at=ctx.now,
    )
    return root.key


def on_message_start(ctx: CommandContext, message: Message, served: set[str]) -> list[int]:
    """§4.3/§4.8: message start events of process ids not served by a subscription."""
    started: list[int] = []
    subs = MessageStartSubscription.objects.filter(
        message_name=message.name, definition__tenant_id=message.tenant_id
    ).select_related("definition")
    for sub in subs.order_by("id"):
        if sub.bpmn_process_id in served:
            continue
        key = _start_by_message(ctx, sub, message)
        if key is not None:
            served.add(sub.bpmn_process_id)
            started.append(key)
    return started


def _start_buffered_after(process_id: str, tenant_id: str, definition_key: int) -> None:
    """§4.8: when a message-started instance ends, the oldest blocked buffered message starts."""
    with transaction.atomic():
        ctx = CommandContext(service.clock.now())
        subs = MessageStartSubscription.objects.filter(
            bpmn_process_id=process_id, definition__tenant_id=tenant_id
        ).select_related("definition")
        for sub in subs:
            used = MessageCorrelation.objects.filter(bpmn_process_id=process_id).values(
                "message_key"
            )
            candidates = (
                Message.objects.filter(
                    name=sub.message_name, tenant_id=tenant_id, expires_at__gt=ctx.now
                )
                .exclude(correlation_key="")
                .exclude(key__in=used)
                .order_by("key")
            )
            for message in candidates:
                if _start_by_message(ctx, sub, message) is not None:
                    break
        service._after_commit(ctx)


# ====================================================================== registration
def _register() -> None:
    rt.EXTENSIONS.update(
        {
            "trigger": on_trigger,
            "error_event_subprocess": catch_error_in_scope,
            "callActivity": activate_call_activity,
            "terminating": on_terminating,
            "error_to_parent": error_to_parent,
            "compensable_completed": on_compensable_completed,
            "intermediateThrowEvent:compensation": throw_compensation,
            "endEvent:compensation": throw_compensation,
            "compensation_handler_completed": on_compensation_handler_completed,
        }
    )
    for hooks, hook in (
        (rt.SCOPE_START_HOOKS, open_event_subprocess_subscriptions),
        (rt.PROCESS_END_HOOKS, on_process_end),
        (service.DEPLOY_HOOKS, on_deploy),
        (service.MESSAGE_START_HOOKS, on_message_start),
        (service.START_TIMER_HOOKS, on_start_timer),
    ):
        if hook not in hooks:
            hooks.append(hook)


_register()
