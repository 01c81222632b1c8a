"""Event processors.

https://docs.camunda.io/docs/components/modeler/bpmn/events/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine import expressions as ex
from processes.engine.behaviours import compensation
from processes.engine.state import flow_scope, runtime

from .base import PassThrough, Processor

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.bpmn import Element
    from processes.models import ElementInstance


class IntermediateThrowEvent(PassThrough):
    """A none throw event passes; a compensation throw event waits for its handlers."""

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        if el.event is not None and el.event.type == "compensation":
            compensation.throw_compensation(run, el, ei)
        else:
            super().on_activate(run, el, ei)


class IntermediateCatchEvent(Processor):
    """Waits for its message or timer."""

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        event = el.event
        if event is not None and event.type == "message":
            run.open_boundaries(el, ei)
            run.open_message_subscription(el, ei, el, interrupting=True)
        elif event is not None and event.type == "timer":
            run.create_timer(el, ei, el, interrupting=True)
        else:
            raise ex.ExpressionFailure(f"Element kind '{el.kind}' is not supported", "UNKNOWN")
        run.activated(el, ei)


class EndEvent(Processor):
    """None, terminate, error and compensation end events.

    Also called again (without input mappings) when an incident at an activated end event is
    resolved: an error code expression that failed is evaluated anew.
    """

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        event = el.event
        if event is None:
            run.activated(el, ei)
            run.complete(ei)
        elif event.type == "terminate":
            run.activated(el, ei)
            run.complete(ei, flows=[])
            scope = run.instances[flow_scope(ei)]
            for child_key in list(run.children.get(scope.key, [])):
                if child_key != ei.key:
                    run.terminate(run.instances[child_key])
            runtime(scope).pop("joins")
            run.touch(scope)
            run.queue.append(lambda: run.check_scope(scope.key))
        elif event.type == "error":
            run.activated(el, ei)
            code = event.error_code or ""
            if ex.is_expression(code):
                code = ex.evaluate_string(code, run.visible(ei.key))
            run.throw_error(ei, code, "", {})
        elif event.type == "compensation":
            compensation.throw_compensation(run, el, ei)
        else:
            raise ex.ExpressionFailure(f"End event '{event.type}' is not supported", "UNKNOWN")


class BoundaryEvent(Processor):
    """Runs in the attached activity's scope once triggered (``fire_boundary``)."""

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        run.activated(el, ei)
        run.complete(ei, runtime(ei).pop("payload"))

    def on_complete(
        self, run: Run, el: Element, ei: ElementInstance, payload: dict[str, Any] | None
    ) -> None:
        if el.event is None or el.event.type != "error":
            super().on_complete(run, el, ei, payload)
            return
        # The error's variables are local to the catching event; output mappings move them.
        # https://docs.camunda.io/docs/components/modeler/bpmn/error-events/#variable-mappings
        if payload:
            for name, value in payload.items():
                run.set_local(ei.key, name, value)
        if el.outputs:
            run.apply_outputs(el, ei, None)
