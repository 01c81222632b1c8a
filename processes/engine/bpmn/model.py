"""The BPMN process model: a flat, id-indexed structure built for a fast interpreter.

Every flow node is an `Element` (its `kind`, an `ElementKind`, says what it is), every sequence
flow a `SequenceFlow`, and the diagram interchange (DI) data is kept for drawing. Pure Python:
importing it needs no Django.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class ElementKind(StrEnum):
    """What a flow node is: the BPMN tag name (the value is what element instances and stored
    models have always used, so data written before the enum existed reads unchanged).

    See https://docs.camunda.io/docs/components/modeler/bpmn/bpmn-coverage/ for the elements
    Camunda 8 supports.
    """

    START_EVENT = "startEvent"
    END_EVENT = "endEvent"
    INTERMEDIATE_CATCH_EVENT = "intermediateCatchEvent"
    INTERMEDIATE_THROW_EVENT = "intermediateThrowEvent"
    BOUNDARY_EVENT = "boundaryEvent"
    SERVICE_TASK = "serviceTask"
    SEND_TASK = "sendTask"
    BUSINESS_RULE_TASK = "businessRuleTask"
    SCRIPT_TASK = "scriptTask"
    USER_TASK = "userTask"
    RECEIVE_TASK = "receiveTask"
    MANUAL_TASK = "manualTask"
    TASK = "task"
    EXCLUSIVE_GATEWAY = "exclusiveGateway"
    PARALLEL_GATEWAY = "parallelGateway"
    INCLUSIVE_GATEWAY = "inclusiveGateway"
    EVENT_BASED_GATEWAY = "eventBasedGateway"
    SUB_PROCESS = "subProcess"
    CALL_ACTIVITY = "callActivity"


@dataclass(slots=True)
class Problem:
    """One validation problem; `element_id` is None for document-level problems."""

    element_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.element_id}: {self.message}" if self.element_id else self.message


class BpmnValidationError(ValueError):
    """Raised by `parse_bpmn` with every problem found in the document."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(slots=True)
class Mapping:
    """A `zeebe:input` / `zeebe:output` mapping (`source` may be None = maps null)."""

    source: str | None
    target: str


@dataclass(slots=True)
class TaskDefinition:
    """`zeebe:taskDefinition`: job type and retries (static or FEEL, raw strings)."""

    type_expr: str
    retries_expr: str = "3"


@dataclass(slots=True)
class UserTaskProps:
    """User task properties, raw strings as in the XML (FEEL when they start with "=").

    `job_worker` is True for a job-based user task (no `zeebe:userTask` marker): the engine runs
    it as a job of type `io.camunda.zeebe:userTask`.
    """

    assignee: str | None = None
    candidate_groups: str | None = None
    candidate_users: str | None = None
    due_date: str | None = None
    follow_up_date: str | None = None
    form_key: str | None = None
    form_id: str | None = None
    priority: str | None = None
    job_worker: bool = False


@dataclass(slots=True)
class ScriptProps:
    """`zeebe:script`: FEEL expression and the variable receiving its result."""

    expression: str
    result_variable: str | None


@dataclass(slots=True)
class CalledElement:
    """`zeebe:calledElement` of a call activity."""

    process_id_expr: str
    propagate_all_parent: bool = True
    propagate_all_child: bool = True
    binding_type: str = "latest"
    version_tag: str | None = None


@dataclass(slots=True)
class MultiInstance:
    """Multi-instance loop characteristics (`zeebe:loopCharacteristics`)."""

    sequential: bool
    input_collection: str | None
    input_element: str | None = None
    output_collection: str | None = None
    output_element: str | None = None
    completion_condition: str | None = None


@dataclass(slots=True)
class EventDefinition:
    """The (single) event definition of an event element.

    `type` is one of "timer", "message", "error", "terminate", "compensation".
    """

    type: str
    timer_kind: str | None = None  # "date" | "duration" | "cycle"
    timer_expr: str | None = None
    message_name: str | None = None
    correlation_key: str | None = None
    error_code: str | None = None  # None = catch-all (catch side)
    activity_ref: str | None = None  # compensation throw
    wait_for_completion: bool = True


@dataclass(slots=True)
class Element:
    """A flow node.

    `parent` is the id of the containing sub-process (None = process root). For boundary events
    `parent` is the attached activity's scope. `cancel_activity` is the boundary event's
    `cancelActivity` and, for start events, `isInterrupting` (event sub-process starts).
    """

    id: str
    name: str | None
    kind: ElementKind
    parent: str | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)
    default_flow: str | None = None
    event: EventDefinition | None = None
    attached_to: str | None = None
    cancel_activity: bool = True
    boundary_events: list[str] = field(default_factory=list)
    is_for_compensation: bool = False
    compensation_handler: str | None = None
    triggered_by_event: bool = False
    children: list[str] = field(default_factory=list)
    start_events: list[str] = field(default_factory=list)
    event_subprocesses: list[str] = field(default_factory=list)
    task: TaskDefinition | None = None
    headers: dict[str, str] = field(default_factory=dict)
    inputs: list[Mapping] = field(default_factory=list)
    outputs: list[Mapping] = field(default_factory=list)
    user_task: UserTaskProps | None = None
    script: ScriptProps | None = None
    called_element: CalledElement | None = None
    loop: MultiInstance | None = None

    @property
    def is_activity(self) -> bool:
        """True for tasks, sub-processes and call activities."""
        return self.kind in ACTIVITY_KINDS


@dataclass(slots=True)
class SequenceFlow:
    """A sequence flow; `condition` is the raw conditionExpression text."""

    id: str
    source: str
    target: str
    condition: str | None = None
    name: str | None = None


@dataclass(slots=True)
class Bounds:
    """A DI rectangle."""

    x: float
    y: float
    width: float
    height: float


@dataclass(slots=True)
class Shape:
    """A DI shape; `label` is the external label's bounds when present."""

    x: float
    y: float
    width: float
    height: float
    is_expanded: bool | None = None
    label: Bounds | None = None


@dataclass(slots=True)
class Edge:
    """A DI edge (sequence flow or association)."""

    waypoints: list[tuple[float, float]]
    label: Bounds | None = None


@dataclass(slots=True)
class Diagram:
    """DI data for one process, keyed by BPMN element id."""

    shapes: dict[str, Shape] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)


@dataclass(slots=True)
class ProcessModel:
    """One executable process of a deployed resource."""

    id: str
    name: str | None
    version_tag: str | None
    elements: dict[str, Element]
    flows: dict[str, SequenceFlow]
    start_events: list[str]
    event_subprocesses: list[str]
    children: list[str]
    diagram: Diagram
    associations: list[tuple[str, str, str]] = field(default_factory=list)
    text_annotations: dict[str, str] = field(default_factory=dict)
    resource_name: str = "process.bpmn"


# --------------------------------------------------------------------------------------------
# Vocabulary (sets of ElementKind)
# --------------------------------------------------------------------------------------------

K = ElementKind
EVENT_KINDS = frozenset(
    {K.START_EVENT, K.END_EVENT, K.INTERMEDIATE_CATCH_EVENT, K.INTERMEDIATE_THROW_EVENT}
    | {K.BOUNDARY_EVENT}
)
TASK_KINDS = frozenset(
    {K.SERVICE_TASK, K.SEND_TASK, K.BUSINESS_RULE_TASK, K.SCRIPT_TASK, K.USER_TASK}
    | {K.RECEIVE_TASK, K.MANUAL_TASK, K.TASK}
)
GATEWAY_KINDS = frozenset(
    {K.EXCLUSIVE_GATEWAY, K.PARALLEL_GATEWAY, K.INCLUSIVE_GATEWAY, K.EVENT_BASED_GATEWAY}
)
ACTIVITY_KINDS = TASK_KINDS | {K.SUB_PROCESS, K.CALL_ACTIVITY}
FLOW_NODE_KINDS = EVENT_KINDS | TASK_KINDS | GATEWAY_KINDS | {K.SUB_PROCESS, K.CALL_ACTIVITY}
del K


def iter_feel_points(model: ProcessModel) -> Iterator[tuple[str, str, str]]:
    """Yield (element_id, what, raw_value) for every expression-capable attribute of a model."""
    for flow in model.flows.values():
        if flow.condition is not None:
            yield flow.id, "condition expression", flow.condition
    for el in model.elements.values():
        for m in el.inputs:
            if m.source is not None:
                yield el.id, f"input mapping source for '{m.target}'", m.source
        for m in el.outputs:
            if m.source is not None:
                yield el.id, f"output mapping source for '{m.target}'", m.source
        if el.task is not None:
            yield el.id, "job type", el.task.type_expr
            yield el.id, "job retries", el.task.retries_expr
        if el.loop is not None:
            for what, value in (
                ("inputCollection", el.loop.input_collection),
                ("outputElement", el.loop.output_element),
                ("completionCondition", el.loop.completion_condition),
            ):
                if value is not None:
                    yield el.id, what, value
        ev = el.event
        if ev is not None:
            if ev.timer_expr is not None:
                yield el.id, f"timer {ev.timer_kind}", ev.timer_expr
            if ev.message_name is not None:
                yield el.id, "message name", ev.message_name
            if ev.correlation_key is not None:
                yield el.id, "correlation key", ev.correlation_key
        if el.called_element is not None:
            yield el.id, "called process id", el.called_element.process_id_expr
        if el.user_task is not None:
            ut = el.user_task
            for what, value in (
                ("assignee", ut.assignee),
                ("candidateGroups", ut.candidate_groups),
                ("candidateUsers", ut.candidate_users),
                ("dueDate", ut.due_date),
                ("followUpDate", ut.follow_up_date),
                ("formKey", ut.form_key),
                ("formId", ut.form_id),
                ("priority", ut.priority),
            ):
                if value is not None:
                    yield el.id, what, value
        if el.script is not None:
            yield el.id, "script expression", el.script.expression
