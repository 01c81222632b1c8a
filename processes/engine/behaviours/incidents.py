"""Incidents: raising them and retrying the failed step on resolve.

Incidents: https://docs.camunda.io/docs/components/concepts/incidents/
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processes.engine.bpmn import ElementKind
from processes.engine.processors import processor_of
from processes.engine.state import (
    ACTIVATED,
    ACTIVATING,
    COMPLETING,
    MI_BODY,
    runtime,
)
from processes.models import (
    ElementInstance,
    Incident,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run


class IncidentBehaviour:
    """Incidents: raising them and retrying the failed step on resolve."""

    def raise_incident(
        self: Run,
        ei: ElementInstance,
        error_type: str,
        message: str,
        job_key: int | None = None,
    ) -> Incident:
        incident = Incident(
            key=self.ctx.keys.next(),
            process_instance_key=self.root.key,
            element_instance_key=ei.key,
            definition_id=self.definition.key,
            element_id=ei.element_id,
            job_key=job_key,
            error_type=error_type,
            error_message=message,
            state=Incident.ACTIVE,
            created_at=self.now,
            tenant_id=self.root.tenant_id,
        )
        self.new_incidents.append(incident)
        self.add_wait(ei, "incident")
        ei.has_incident = True
        self.touch(ei)
        self.record(
            "INCIDENT",
            "CREATED",
            incident.key,
            ei.element_id,
            ei.element_type,
            {"errorType": error_type, "errorMessage": message[:500]},
        )
        return incident

    def retry_after_incident(self: Run, ei: ElementInstance) -> None:
        """Re-run the step that failed, from the element's life-cycle state."""
        ei.has_incident = False
        self.touch(ei)
        el = self.model.elements[ei.element_id]
        if ei.lifecycle == ACTIVATING:
            body = self.activate_mi_body if ei.element_type == MI_BODY else self.activate_element
            self.queue.append(lambda: self.run_activation(el, ei, body))
        elif ei.lifecycle == COMPLETING:
            payload = runtime(ei).pop("payload")
            self.queue.append(lambda: self.complete(ei, payload))
        elif ei.lifecycle == ACTIVATED and el.kind == ElementKind.END_EVENT:
            # It failed after activation (its error code expression): run it again, without
            # its input mappings.
            end_event = processor_of(el)
            self.queue.append(
                lambda: self.run_activation(
                    el, ei, lambda el, ei: end_event.on_activate(self, el, ei)
                )
            )
