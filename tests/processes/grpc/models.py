"""BPMN models of the gateway tests."""

from __future__ import annotations

from tests.processes.api.conftest import bpmn, flows


def charge_process(process_id: str = "charge") -> str:
    """start -> ``charge`` job (error boundary ``DECLINED`` -> ``declined``) -> ``paid``."""
    return bpmn(
        process_id,
        '<bpmn:startEvent id="start" />'
        '<bpmn:serviceTask id="charge"><bpmn:extensionElements>'
        '<zeebe:taskDefinition type="charge" retries="2" />'
        "</bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:boundaryEvent id="onDeclined" attachedToRef="charge">'
        '<bpmn:errorEventDefinition errorRef="declined" /></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="paid" /><bpmn:endEvent id="declined" />'
        + flows(("start", "charge"), ("charge", "paid"), ("onDeclined", "declined")),
        prefix='<bpmn:error id="declined" errorCode="DECLINED" />\n',
    )
