"""The processor interface: what one element kind does in its life cycle."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.bpmn import Element
    from processes.models import ElementInstance


class Processor(ABC):
    """Life-cycle steps of one element kind, as Zeebe's ``BpmnElementProcessor``.

    The run calls ``on_activate`` after the element instance is created and its input mappings
    are applied, ``on_complete`` to write what the completion carries (output mappings), and
    ``on_terminate`` while the instance is being terminated (after its children). The shared
    work (jobs, variables, subscriptions, incidents) is done by the run's behaviours.
    """

    @abstractmethod
    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        """Start the element: open its waits, or complete it at once."""

    def on_complete(
        self, run: Run, el: Element, ei: ElementInstance, payload: dict[str, Any] | None
    ) -> None:
        """Merge the completion payload and apply the output mappings."""
        run.apply_outputs(el, ei, payload)

    def on_terminate(self, run: Run, ei: ElementInstance) -> None:
        """Anything beyond closing the instance's waits (which the run does for every kind)."""
        return None


class PassThrough(Processor):
    """Elements that complete as soon as they are activated (none start event, task, ...)."""

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        run.activated(el, ei)
        run.complete(ei)
