"""BPMN 2.0 (Camunda 8 / Zeebe dialect): the process model, its parser and its validator.

``model`` holds the dataclasses and the ``ElementKind`` vocabulary, ``parser`` reads XML into
models, ``validator`` applies the deployment-time checks. Callers import from this package::

    from processes.engine.bpmn import ElementKind, ProcessModel, parse_bpmn
"""

from .model import (
    ACTIVITY_KINDS,
    EVENT_KINDS,
    FLOW_NODE_KINDS,
    GATEWAY_KINDS,
    TASK_KINDS,
    Bounds,
    BpmnValidationError,
    CalledElement,
    Diagram,
    Edge,
    Element,
    ElementKind,
    EventDefinition,
    Mapping,
    MultiInstance,
    Problem,
    ProcessModel,
    ScriptProps,
    SequenceFlow,
    Shape,
    TaskDefinition,
    UserTaskProps,
    iter_feel_points,
)
from .parser import BPMN_NS, ZEEBE_NS, parse_bpmn

parse = parse_bpmn

__all__ = [
    "ACTIVITY_KINDS",
    "BPMN_NS",
    "EVENT_KINDS",
    "FLOW_NODE_KINDS",
    "GATEWAY_KINDS",
    "TASK_KINDS",
    "ZEEBE_NS",
    "Bounds",
    "BpmnValidationError",
    "CalledElement",
    "Diagram",
    "Edge",
    "Element",
    "ElementKind",
    "EventDefinition",
    "Mapping",
    "MultiInstance",
    "Problem",
    "ProcessModel",
    "ScriptProps",
    "SequenceFlow",
    "Shape",
    "TaskDefinition",
    "UserTaskProps",
    "iter_feel_points",
    "parse",
    "parse_bpmn",
]
