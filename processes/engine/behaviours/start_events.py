"""Timer and message start events of deployed processes.

https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/ and
https://docs.camunda.io/docs/components/modeler/bpmn/message-events/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from processes.engine import expressions as ex
from processes.engine import timers as timer_math
from processes.engine.behaviours.subscriptions import timer_spec
from processes.engine.bpmn import Element, ProcessModel
from processes.engine.state import runtime
from processes.engine.store import get_store
from processes.models import (
    ElementInstance,
    Message,
    MessageCorrelation,
    MessageStartSubscription,
    ProcessDefinition,
    Record,
    Timer,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.runtime import CommandContext

ACTIVE = ElementInstance.ACTIVE

# ``service`` (the command layer) is imported where used: it imports the runtime, which
# imports the processors and so this module.


def _start_timer_row(
    ctx: CommandContext, definition: ProcessDefinition, start: Element
) -> Timer | None:
    event = start.event
    assert event is not None and event.timer_kind is not None, "the validator checks timers"
    timer_kind = event.timer_kind
    raw = event.timer_expr or ""
    value: Any = ex.evaluate(raw, {}) if ex.is_expression(raw) else raw
    schedule = timer_math.schedule_from(timer_kind, value, ctx.now)
    timer = Timer(
        key=ctx.keys.next(),
        process_instance_key=None,
        element_instance_key=None,
        definition=definition,
        element_id=start.id,
        due_at=schedule.due_at,
        repetitions=schedule.repetitions_left,
        kind=timer_kind,
        spec=timer_spec(value, timer_kind),
        interrupting=True,
    )
    ctx.store.add(timer)
    return timer


def on_deploy(ctx: CommandContext, definition: ProcessDefinition, model: ProcessModel) -> None:
    """Only the latest version's timer and message start events are live."""
    ctx.store.retire_start_events(definition)
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
            ctx.store.add(
                MessageStartSubscription(
                    definition=definition,
                    bpmn_process_id=model.id,
                    element_id=start.id,
                    message_name=name,
                )
            )


def on_start_timer(ctx: CommandContext, timer: Timer) -> None:
    """A due start timer starts an instance; a cycle is rescheduled."""
    from processes.engine import service

    definition = service.definition_by_key(timer.definition_id)
    model = service.model_of(definition)
    ctx.store.add(
        Record(
            value_type="TIMER",
            intent="TRIGGERED",
            key=timer.key,
            element_id=timer.element_id,
            at=ctx.now,
        )
    )
    ctx.store.advance_timer(timer, service._next_due(timer))
    if timer.element_id in model.elements:
        service.start_instance_in(ctx, definition, model, {}, timer.element_id)


def on_process_end(run: Run, root: ElementInstance) -> None:
    """A finished message-started root lets the oldest message it blocked start an instance.

    Runs for completed and for terminated roots.
    """
    if runtime(root).message_start_key:
        run.ctx.follow_ups.append(
            lambda: start_buffered_after(root.element_id, root.tenant_id, root.definition_id)
        )


def _blocked_by_key(process_id: str, tenant_id: str, correlation_key: str) -> bool:
    """An active instance started by a message with the same non-empty key blocks."""
    if not correlation_key:
        return False
    return get_store().started_by_message_key(process_id, tenant_id, correlation_key)


def _start_by_message(
    ctx: CommandContext, sub: MessageStartSubscription, message: Message
) -> int | None:
    from processes.engine import service

    definition = sub.definition
    model = service.model_of(definition)
    if ctx.store.is_correlated(message.key, sub.bpmn_process_id):
        return None  # once per process id
    if _blocked_by_key(sub.bpmn_process_id, definition.tenant_id, message.correlation_key):
        return None
    root = service.start_instance_in(
        ctx, definition, model, dict(message.variables or {}), sub.element_id
    )
    if message.correlation_key:
        runtime(root).message_start_key = message.correlation_key
        ctx.store.save_instance_data(root)
    ctx.store.add(
        MessageCorrelation(
            message_key=message.key,
            bpmn_process_id=sub.bpmn_process_id,
            process_instance_key=root.key,
        )
    )
    ctx.store.add(
        Record(
            process_instance_key=root.key,
            value_type="MESSAGE",
            intent="CORRELATED",
            key=message.key,
            element_id=sub.element_id,
            detail={"name": message.name, "correlationKey": message.correlation_key},
            at=ctx.now,
        )
    )
    return root.key


def on_message_start(ctx: CommandContext, message: Message, served: set[str]) -> list[int]:
    """Message start events of process ids not served by a subscription."""
    started: list[int] = []
    subs = ctx.store.message_start_subscriptions(tenant_id=message.tenant_id, name=message.name)
    for sub in subs:
        if sub.bpmn_process_id in served:
            continue
        key = _start_by_message(ctx, sub, message)
        if key is not None:
            served.add(sub.bpmn_process_id)
            started.append(key)
    return started


def start_buffered_after(process_id: str, tenant_id: str, definition_key: int) -> None:
    """When a message-started instance ends, the oldest blocked buffered message starts."""
    from processes.engine import service
    from processes.engine.runtime import CommandContext

    with transaction.atomic():
        ctx = CommandContext(service.clock.now())
        subs = ctx.store.message_start_subscriptions(tenant_id=tenant_id, process_id=process_id)
        for sub in subs:
            for message in ctx.store.messages_blocked_by_key(sub, tenant_id, ctx.now):
                if _start_by_message(ctx, sub, message) is not None:
                    break
        service._after_commit(ctx)
