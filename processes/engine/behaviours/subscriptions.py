"""Message subscriptions and timers an element instance waits on.

Message and timer subscriptions: https://docs.camunda.io/docs/components/concepts/messages/ and
https://docs.camunda.io/docs/components/modeler/bpmn/timer-events/
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from processes.engine import expressions as ex
from processes.engine import timers as timer_math
from processes.engine.bpmn import Element
from processes.models import (
    ElementInstance,
    MessageCorrelation,
    MessageSubscription,
    Timer,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run


class SubscriptionBehaviour:
    """Message subscriptions and timers an element instance waits on."""

    def open_message_subscription(
        self: Run,
        el: Element,
        owner: ElementInstance,
        catcher: Element,
        *,
        interrupting: bool,
    ) -> MessageSubscription:
        context = self.visible(owner.key)
        event = catcher.event
        assert event is not None, "a message catcher has its message event definition"
        name = event.message_name or ""
        if ex.is_expression(name):
            name = ex.evaluate_string(name, context)
        key = ex.evaluate_correlation_key(event.correlation_key or '=""', context)
        sub = MessageSubscription(
            key=self.ctx.keys.next(),
            process_instance_key=self.root.key,
            element_instance_key=owner.key,
            element_id=catcher.id,
            bpmn_process_id=self.model.id,
            message_name=name,
            correlation_key=key,
            interrupting=interrupting,
            tenant_id=self.root.tenant_id,
        )
        self.new_subs.append(sub)
        self.add_wait(owner, "sub")
        self.pending_message_checks.append(sub)
        return sub

    def create_timer(
        self: Run,
        el: Element,
        owner: ElementInstance,
        catcher: Element,
        *,
        interrupting: bool,
    ) -> None:
        event = catcher.event
        assert event is not None and event.timer_kind is not None, "the validator checks timers"
        timer_kind = event.timer_kind
        raw = event.timer_expr or ""
        value: Any = raw
        if ex.is_expression(raw):
            value = ex.evaluate(raw, self.visible(owner.key))
        try:
            schedule = timer_math.schedule_from(timer_kind, value, self.now)
        except (ValueError, TypeError) as error:
            raise ex.ExpressionFailure(
                f"Invalid timer {event.timer_kind} '{value}' on '{catcher.id}': {error}"
            ) from error
        self.new_timers.append(
            Timer(
                key=self.ctx.keys.next(),
                process_instance_key=self.root.key,
                element_instance_key=owner.key,
                definition_id=self.definition.key,
                element_id=catcher.id,
                due_at=schedule.due_at,
                repetitions=schedule.repetitions_left,
                kind=timer_kind,
                spec=timer_spec(value, timer_kind),
                interrupting=interrupting,
            )
        )
        self.add_wait(owner, "timer")
        self.record(
            "TIMER", "CREATED", None, catcher.id, detail={"due": schedule.due_at.isoformat()}
        )

    def open_boundaries(self: Run, el: Element, ei: ElementInstance) -> None:
        """Open boundary event subscriptions while the activity activates."""
        for boundary_id in el.boundary_events:
            boundary = self.model.elements[boundary_id]
            if boundary.event is None:
                continue
            if boundary.event.type == "timer":
                self.create_timer(el, ei, boundary, interrupting=boundary.cancel_activity)
            elif boundary.event.type == "message":
                self.open_message_subscription(
                    el, ei, boundary, interrupting=boundary.cancel_activity
                )

    def correlate_buffered(self: Run, sub: MessageSubscription) -> None:
        """A new subscription takes the oldest unexpired buffered message not yet used."""
        owner = self.instances.get(sub.element_instance_key)
        if owner is None or owner.state != ElementInstance.ACTIVE:
            return
        taken = [
            c.message_key for c in self.new_correlations if c.bpmn_process_id == sub.bpmn_process_id
        ]
        message = self.store.oldest_buffered(sub, self.now, taken)
        if message is None:
            return
        self.correlate(sub, message.key, message.variables)

    def correlate(self: Run, sub: MessageSubscription, message_key: int, variables: dict) -> bool:
        owner = self.instances.get(sub.element_instance_key)
        if owner is None:
            return False
        if not self.trigger(owner, sub.element_id, variables or {}):
            return False
        self.new_correlations.append(
            MessageCorrelation(
                message_key=message_key,
                bpmn_process_id=sub.bpmn_process_id,
                process_instance_key=self.root.key,
            )
        )
        if sub.interrupting:
            unsaved = [s for s in self.new_subs if s.key == sub.key]
            if unsaved:  # opened in this same command: it was never written
                self.new_subs.remove(unsaved[0])
            else:
                self.store.delete_subscription(sub.key)
        else:
            # A non-interrupting subscription stays open and, once this correlation is
            # done, is offered the next matching buffered message not yet correlated to this
            # process id.
            self.pending_message_checks.append(sub)
        self.record(
            "MESSAGE",
            "CORRELATED",
            message_key,
            sub.element_id,
            detail={"name": sub.message_name, "correlationKey": sub.correlation_key},
        )
        return True


def timer_spec(value: Any, kind: str = "") -> str:
    """The evaluated timer value as text that ``timers.schedule_from`` reads back.

    A string is kept as written; a FEEL date-time or duration becomes its ISO form; a FEEL
    duration for a cycle becomes the unbounded cycle ``R/<duration>`` it stands for, so the next
    due date of a repeating timer can be computed from the stored spec.
    """
    if isinstance(value, str):
        return value
    from processes import feel

    text = feel.to_json(value)
    if kind == "cycle" and isinstance(text, str) and text.lstrip("-").startswith("P"):
        return f"R/{text}"
    return text if isinstance(text, str) else json.dumps(text, default=str)
