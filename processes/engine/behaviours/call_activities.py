"""Call activities: the child instance, its completion and errors reaching the parent.

https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from processes.engine import expressions as ex
from processes.engine.behaviours import event_subprocesses, linked_runs
from processes.engine.bpmn import CalledElement, Element
from processes.engine.state import (
    ACTIVATED,
    runtime,
)
from processes.engine.store import get_store
from processes.models import (
    ElementInstance,
    ProcessDefinition,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.runtime import CommandContext

ACTIVE = ElementInstance.ACTIVE

# ``service`` (the command layer) is imported where used: it imports the runtime, which
# imports the processors and so this module.


def _called(el: Element) -> CalledElement:
    called = el.called_element
    assert called is not None, "the validator requires zeebe:calledElement"
    return called


def _parent_of(root: ElementInstance) -> tuple[int, int]:
    """The parent instance's key and its call activity's key, of a child instance's root."""
    parent, call = root.parent_process_instance_key, root.parent_element_instance_key
    assert parent is not None and call is not None, "only a child instance has a parent"
    return parent, call


def _called_definition(run: Run, el: Element, process_id: str) -> ProcessDefinition:
    called = _called(el)
    definition = run.store.called_definition(
        run.root.tenant_id,
        process_id,
        deployment_key=(
            run.definition.deployment_key if called.binding_type == "deployment" else None
        ),
        version_tag=(called.version_tag or "") if called.binding_type == "versionTag" else None,
    )
    if definition is None:
        binding = {"deployment": " in the same deployment", "versionTag": " with version tag"}
        raise ex.ExpressionFailure(
            f"Expected process with BPMN process id '{process_id}' to be deployed"
            f"{binding.get(called.binding_type, '')}, but not found.",
            "CALLED_ELEMENT_ERROR",
        )
    return definition


def activate_call_activity(run: Run, el: Element, ei: ElementInstance) -> None:
    """Resolve the called process and start it as a child in this transaction."""
    from processes.engine import service

    context = run.visible(ei.key)
    process_id = ex.evaluate_string(_called(el).process_id_expr, context).strip()
    definition = _called_definition(run, el, process_id)
    model = service.model_of(definition)
    starts = [s for s in model.start_events if model.elements[s].event is None]
    if not starts:
        raise ex.ExpressionFailure(
            f"Expected process with BPMN process id '{process_id}' to have a none start event, "
            "but not found.",
            "CALLED_ELEMENT_ERROR",
        )
    if _called(el).propagate_all_parent:
        variables = context
    elif el.inputs:
        variables = {name: var.value for name, var in run.vars.get(ei.key, {}).items()}
    else:
        variables = {}
    run.open_boundaries(el, ei)
    run.activated(el, ei)
    with linked_runs.live(run):
        child = service.start_instance_in(
            run.ctx, definition, model, variables, starts[0], parent=(run.root.key, ei.key)
        )
    if ei.state == ACTIVE:
        runtime(ei).child = child.key
        run.touch(ei)


def _complete_call_activity(run: Run, call_key: int, child_variables: dict[str, Any]) -> None:
    """The child's root variables are the call activity's completion payload."""
    call = run.instances.get(call_key)
    if call is None or call.state != ACTIVE or call.lifecycle != ACTIVATED:
        return
    el = run.model.elements[call.element_id]
    payload = None
    if el.outputs or _called(el).propagate_all_child:
        payload = child_variables
    run.complete(call, payload)


def on_process_end(run: Run, root: ElementInstance) -> None:
    """A completed child continues its parent's call activity.

    Runs for completed and for terminated roots. The parent continuation is deferred until the
    child's own run has flushed, so the child's writes (its completion included) come first;
    the parent is then continued in this transaction if its lock is free (or it is live in this
    command), else the continuation is recorded on the child for ``resume_completed_children``.
    """
    if root.parent_process_instance_key is None or root.state != ElementInstance.COMPLETED:
        return
    variables = {name: var.value for name, var in run.vars.get(root.key, {}).items()}
    run.after_flush.append(lambda: _continue_parent(run.ctx, root, variables))


def _continue_parent(ctx: CommandContext, root: ElementInstance, variables: dict[str, Any]) -> None:
    """Complete the calling call activity of the flushed, completed child ``root``."""
    from processes.engine import service

    parent_key, call_key = _parent_of(root)
    parent_run, opened = linked_runs.run_for(ctx, parent_key, wait=False)
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


def _resume(keys: list[int]) -> None:
    resume_completed_children(keys)


def _record_for_parent(ctx: CommandContext, root: ElementInstance, pending: dict[str, Any]) -> None:
    """Store a parent continuation on the child's root row, finished after commit or by a sweep."""
    runtime(root).to_parent = pending
    ctx.store.save_instance_data(root)
    key = root.key
    ctx.follow_ups.append(lambda: _resume([key]))


def resume_completed_children(keys: list[int] | None = None) -> int:
    """Finish parent continuations of children that could not be done at once.

    A completed child continues its call activity; an active child whose uncaught error
    the parent catches has it thrown at the call activity, which terminates the child.
    Called after commit for the children of that command, and by the timer ticker as a sweep
    (a continuation lost in a crash is still recorded on the child's root). Returns how many.
    """
    from processes.engine import service
    from processes.engine.runtime import CommandContext

    store = get_store()
    done = 0
    for key, parent_key in store.children_to_resume(keys, 500):
        with transaction.atomic():
            parent = store.try_lock_root(parent_key, wait=True)  # parent first, then child
            child = store.lock_child_to_resume(key)
            if child is None:
                continue
            pending = runtime(child).pop("to_parent")
            store.save_instance_data_row(child)
            if parent is None or parent.state != ACTIVE:
                continue
            ctx = CommandContext(service.clock.now())
            parent_run = service.open_run(ctx, parent)
            _parent, call_key = _parent_of(child)
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


def terminate_child(run: Run, ei: ElementInstance) -> None:
    """Terminating a call activity terminates its child instance (parent → child order)."""
    from processes.engine import service

    child_key = runtime(ei).child
    if ei.element_type != "CALL_ACTIVITY" or not child_key:
        return
    child_run, opened = linked_runs.run_for(run.ctx, child_key, wait=True)
    if child_run is None or child_run.root.state != ACTIVE:
        return
    child_run.terminate(child_run.root)
    if opened:
        service.finish_run(child_run)


def error_to_parent(
    run: Run, root: ElementInstance, code: str, message: str, variables: dict[str, Any]
) -> bool:
    """An error not caught in a child continues at the calling call activity."""
    from processes.engine import service

    parent_key = root.parent_process_instance_key
    call_key = root.parent_element_instance_key
    if parent_key is None or call_key is None:
        return False
    with linked_runs.live(run):
        parent_run, opened = linked_runs.run_for(run.ctx, parent_key, wait=False)
        if parent_run is None:
            # Parent busy elsewhere: if it would catch the error (read without its lock),
            # record the throw on the child for ``resume_completed_children``; else incident.
            if not event_subprocesses.has_error_catcher(run, root, code):
                return False
            pending = {"error": {"code": code, "message": message, "variables": variables}}
            run.after_flush.append(lambda: _record_for_parent(run.ctx, root, pending))
            return True
        call = parent_run.instances.get(call_key)
        if (
            call is None
            or call.state != ACTIVE
            or not event_subprocesses.has_error_catcher(parent_run, call, code)
        ):
            return False
        caught = parent_run.throw_error(call, code, message, variables)
        if opened:
            service.finish_run(parent_run)
    return caught
