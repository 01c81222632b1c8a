"""Triggers of catch events, boundary events and error throws.

Events: https://docs.camunda.io/docs/components/modeler/bpmn/events/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine.behaviours import call_activities, event_subprocesses
from processes.engine.bpmn import Element, ElementKind
from processes.engine.state import (
    ACTIVATED,
    COMPLETED,
    COMPLETING,
    MI_BODY,
    RuntimeState,
    flow_scope,
    runtime,
)
from processes.models import (
    ElementInstance,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run


class EventBehaviour:
    """Triggers of catch events, boundary events and error throws."""

    def trigger(
        self: Run, owner: ElementInstance, catcher_id: str, payload: dict[str, Any]
    ) -> bool:
        """A message or timer for ``catcher_id`` arrives at ``owner`` (an element instance)."""
        if owner.state != ElementInstance.ACTIVE or owner.lifecycle != ACTIVATED:
            return False
        catcher = self.model.elements[catcher_id]
        if catcher_id == owner.element_id:  # catch event / receive task waiting itself
            self.complete(owner, payload or None)
            return True
        owner_el = self.model.elements.get(owner.element_id)  # None: the process itself
        # First trigger wins
        if owner_el is not None and owner_el.kind == ElementKind.EVENT_BASED_GATEWAY:
            self.finish_event_gateway(owner, catcher, payload)
            return True
        if catcher.kind == ElementKind.BOUNDARY_EVENT:
            self.fire_boundary(owner, catcher, payload)
            return True
        return event_subprocesses.on_trigger(self, owner, catcher, payload)

    def finish_event_gateway(
        self: Run, gw: ElementInstance, catcher: Element, payload: dict
    ) -> None:
        gw.lifecycle = COMPLETING
        self.finish(gw, COMPLETED)
        self.queue.append(
            lambda: self.activate_caught(catcher, flow_scope(gw), payload),
        )

    def activate_caught(self: Run, catcher: Element, scope_key: int, payload: dict) -> None:
        ei = self.new_instance(catcher, scope_key)
        self.activated(catcher, ei)
        self.complete(ei, payload or None)

    def fire_boundary(
        self: Run, activity: ElementInstance, boundary: Element, payload: dict
    ) -> None:
        """Interrupting → terminate the activity, then the boundary runs in its scope."""
        scope_key = flow_scope(activity)
        state = RuntimeState(payload=payload) if payload else None
        if boundary.cancel_activity:
            self.terminate(activity)
        self.activate(boundary, scope_key, state=state)

    def throw_error(
        self: Run,
        thrower: ElementInstance,
        code: str,
        message: str,
        variables: dict[str, Any],
    ) -> bool:
        """Find the nearest catcher of ``code`` and interrupt up to it, or raise an incident."""
        current: ElementInstance | None = thrower
        while current is not None:
            if current.state != ElementInstance.ACTIVE or runtime(current).interrupted:
                break  # an interrupted (or ended) scope stops the walk
            el = self.model.elements.get(current.element_id)
            if el is not None and current.element_type != "PROCESS":
                boundary = self.error_boundary(el, code)
                if boundary is not None:
                    if current.element_type != MI_BODY and runtime(current).mi_inner:
                        current = self.instances.get(flow_scope(current))
                        continue
                    self.fire_boundary(current, boundary, variables)
                    return True
            if event_subprocesses.catch_error_in_scope(self, current, code, variables):
                return True
            if current.scope_key is None:
                if call_activities.error_to_parent(self, current, code, message, variables):
                    return True
                break
            current = self.instances.get(current.scope_key)
        detail = (
            f"Expected to throw an error event with the code '{code}' with message "
            f"'{message}', but it was not caught. No error events are available in the scope."
        )
        self.raise_incident(thrower, "UNHANDLED_ERROR_EVENT", detail)
        return False

    def error_boundary(self: Run, el: Element, code: str) -> Element | None:
        catch_all = None
        for boundary_id in el.boundary_events:
            boundary = self.model.elements[boundary_id]
            if boundary.event is None or boundary.event.type != "error":
                continue
            if boundary.event.error_code == code:
                return boundary
            if not boundary.event.error_code:
                catch_all = boundary
        return catch_all
