"""Gateway processors.

https://docs.camunda.io/docs/components/modeler/bpmn/gateways/
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import PassThrough, Processor

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.bpmn import Element
    from processes.models import ElementInstance


class ExclusiveGateway(Processor):
    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        # The flow is chosen while ACTIVATING: an incident there is retried on resolve.
        flow = run.choose_exclusive(el, ei)
        run.activated(el, ei)
        run.complete(ei, flows=[flow] if flow else [])


class InclusiveGateway(Processor):
    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        flows = run.choose_inclusive(el, ei)
        run.activated(el, ei)
        run.complete(ei, flows=flows)


class ParallelGateway(PassThrough):
    """Forks on completion; a join is waited for before activation (``arrive_at_join``)."""


class EventBasedGateway(Processor):
    """Subscribes to the events after it; the first one triggered wins."""

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        for flow_id in el.outgoing:
            target = run.model.elements[run.model.flows[flow_id].target]
            if target.event and target.event.type == "message":
                run.open_message_subscription(target, ei, target, interrupting=True)
            elif target.event and target.event.type == "timer":
                run.create_timer(target, ei, target, interrupting=True)
        run.activated(el, ei)
