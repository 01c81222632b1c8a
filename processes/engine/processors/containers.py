"""Processors of elements that contain a flow: sub-processes and call activities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from processes.engine.behaviours import call_activities

from .base import Processor

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.bpmn import Element
    from processes.models import ElementInstance


class SubProcess(Processor):
    """Embedded and event sub-processes.
    https://docs.camunda.io/docs/components/modeler/bpmn/embedded-subprocesses/
    """

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        run.open_boundaries(el, ei)
        run.activated(el, ei)
        run.start_scope(el, ei)


class CallActivity(Processor):
    """Starts the called process as a child instance and waits for it.
    https://docs.camunda.io/docs/components/modeler/bpmn/call-activities/
    """

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        call_activities.activate_call_activity(run, el, ei)

    def on_terminate(self, run: Run, ei: ElementInstance) -> None:
        call_activities.terminate_child(run, ei)
