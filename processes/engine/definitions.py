"""Deployed definitions and their parsed models, cached per process (definitions never change)."""

from __future__ import annotations

import threading

from processes.models import ProcessDefinition

from .bpmn import ProcessModel, parse_bpmn

_models: dict[int, ProcessModel] = {}
_definitions: dict[int, ProcessDefinition] = {}
_lock = threading.Lock()


def model_of(definition: ProcessDefinition) -> ProcessModel:
    """The parsed model of a definition (parsed once per process, then cached)."""
    model = _models.get(definition.key)
    if model is None:
        parsed = parse_bpmn(definition.xml, definition.resource_name)
        model = next(m for m in parsed if m.id == definition.bpmn_process_id)
        remember(definition, model)
    return model


def definition_by_key(key: int) -> ProcessDefinition:
    definition = _definitions.get(key)
    if definition is None:
        definition = ProcessDefinition.objects.get(key=key)
        _definitions[key] = definition
    return definition


def remember(definition: ProcessDefinition, model: ProcessModel) -> None:
    """Cache a definition with its model (a deployment just parsed it)."""
    with _lock:
        _models[definition.key] = model
        _definitions[definition.key] = definition


def clear_cache() -> None:
    """Forget every cached definition and model (a test database was rolled back)."""
    with _lock:
        _models.clear()
        _definitions.clear()
