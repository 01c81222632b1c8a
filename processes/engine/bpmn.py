"""BPMN 2.0 (Camunda 8 / Zeebe dialect) parsing and deployment-time validation.

`parse_bpmn` turns a BPMN XML document into one `ProcessModel` per executable process. The model
is a flat, id-indexed structure built for a fast interpreter: every flow node is an `Element`
(its `kind` says what it is), every sequence flow a `SequenceFlow`, and the diagram interchange
(DI) data is kept for drawing.

Validation mirrors what Zeebe rejects at deployment for the subset of BPMN we support; all
problems are collected and raised together in one `BpmnValidationError`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from processes.engine import timers

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

_B = "{" + BPMN_NS + "}"
_Z = "{" + ZEEBE_NS + "}"
_DI = "{" + BPMNDI_NS + "}"
_DC = "{" + DC_NS + "}"
_DDI = "{" + DI_NS + "}"

__all__ = [
    "Bounds",
    "BpmnValidationError",
    "CalledElement",
    "Diagram",
    "Edge",
    "Element",
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
    "parse_bpmn",
]


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


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
    kind: str
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
# Vocabulary
# --------------------------------------------------------------------------------------------

EVENT_KINDS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
TASK_KINDS = frozenset(
    {
        "serviceTask",
        "sendTask",
        "businessRuleTask",
        "scriptTask",
        "userTask",
        "receiveTask",
        "manualTask",
        "task",
    }
)
GATEWAY_KINDS = frozenset(
    {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
)
ACTIVITY_KINDS = TASK_KINDS | {"subProcess", "callActivity"}
FLOW_NODE_KINDS = EVENT_KINDS | TASK_KINDS | GATEWAY_KINDS | {"subProcess", "callActivity"}

# Scope children that carry no execution semantics.
_IGNORED_TAGS = frozenset(
    {
        "textAnnotation",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "laneSet",
        "documentation",
        "extensionElements",
        "group",
        "property",
        "ioSpecification",
        "incoming",
        "outgoing",
        "multiInstanceLoopCharacteristics",
        "standardLoopCharacteristics",
        "dataInputAssociation",
        "dataOutputAssociation",
    }
)

_EVENT_DEF_TYPES = {
    "timerEventDefinition": "timer",
    "messageEventDefinition": "message",
    "errorEventDefinition": "error",
    "terminateEventDefinition": "terminate",
    "compensateEventDefinition": "compensation",
}

# Which event definitions each event kind may carry (None = no definition).
_ALLOWED_EVENTS: dict[str, frozenset[str | None]] = {
    "startEvent": frozenset({None, "timer", "message", "error"}),
    "endEvent": frozenset({None, "error", "terminate", "compensation"}),
    "intermediateCatchEvent": frozenset({"timer", "message"}),
    "intermediateThrowEvent": frozenset({None, "compensation"}),
    "boundaryEvent": frozenset({"timer", "message", "error", "compensation"}),
}

_TIMER_TAGS = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}


def _local(tag: str) -> tuple[str, str]:
    """Split `{ns}local` into (ns, local)."""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _bool_attr(node: ET.Element, name: str, default: bool) -> bool:
    value = node.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() == "true"


def _text(node: ET.Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    return node.text.strip()


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


class _Parser:
    """Builds the models of one document and collects problems."""

    def __init__(self, root: ET.Element, resource_name: str) -> None:
        self.root = root
        self.resource_name = resource_name
        self.problems: list[Problem] = []
        self.messages: dict[str, tuple[str | None, str | None]] = {}
        self.errors: dict[str, str | None] = {}
        self.all_ids: dict[str, str] = {}
        self.flow_scope: dict[str, str | None] = {}
        self.unsupported_ids: set[str] = set()
        self.artifact_ids: set[str] = set()
        for node in root:
            ns, tag = _local(node.tag)
            if ns != BPMN_NS:
                continue
            if tag == "message":
                sub = node.find(f"{_B}extensionElements/{_Z}subscription")
                key = sub.get("correlationKey") if sub is not None else None
                self.messages[node.get("id", "")] = (node.get("name"), key)
            elif tag == "error":
                self.errors[node.get("id", "")] = node.get("errorCode")

    def problem(self, element_id: str | None, message: str) -> None:
        self.problems.append(Problem(element_id, message))

    # ---------------------------------------------------------------- processes

    def parse(self) -> list[ProcessModel]:
        models: list[ProcessModel] = []
        seen: set[str] = set()
        for node in self.root.findall(f"{_B}process"):
            if not _bool_attr(node, "isExecutable", False):
                continue
            pid = node.get("id") or ""
            if not pid:
                self.problem(None, "executable process has no id")
                continue
            if pid in seen:
                self.problem(pid, f"duplicate process id '{pid}' in one document")
                continue
            seen.add(pid)
            models.append(self.parse_process(node))
        if not models and not self.problems:
            self.problem(None, 'no executable process (isExecutable="true") in the document')
        return models

    def parse_process(self, node: ET.Element) -> ProcessModel:
        pid = node.get("id", "")
        model = ProcessModel(
            id=pid,
            name=node.get("name"),
            version_tag=None,
            elements={},
            flows={},
            start_events=[],
            event_subprocesses=[],
            children=[],
            diagram=Diagram(),
            resource_name=self.resource_name,
        )
        vt = node.find(f"{_B}extensionElements/{_Z}versionTag")
        if vt is not None:
            model.version_tag = vt.get("value")
        self.model = model
        self.parse_scope(node, None, model.children)
        self.link(model)
        model.start_events, model.event_subprocesses = self.scope_entries(model, model.children)
        for el in model.elements.values():
            if el.kind == "subProcess":
                el.start_events, el.event_subprocesses = self.scope_entries(model, el.children)
        self.extract_diagram(model)
        return model

    def scope_entries(
        self, model: ProcessModel, children: list[str]
    ) -> tuple[list[str], list[str]]:
        starts = [c for c in children if model.elements[c].kind == "startEvent"]
        subs = [
            c
            for c in children
            if model.elements[c].kind == "subProcess" and model.elements[c].triggered_by_event
        ]
        return starts, subs

    def register_id(self, element_id: str, what: str) -> bool:
        if not element_id:
            self.problem(None, f"{what} without an id")
            return False
        if element_id in self.all_ids:
            self.problem(element_id, f"duplicate element id '{element_id}'")
            return False
        self.all_ids[element_id] = what
        return True

    def parse_scope(self, scope: ET.Element, parent: str | None, children: list[str]) -> None:
        model = self.model
        for node in scope:
            ns, tag = _local(node.tag)
            if ns != BPMN_NS:
                continue  # foreign extension content
            if tag in _IGNORED_TAGS:
                if tag == "textAnnotation" and node.get("id"):
                    model.text_annotations[node.get("id", "")] = _text(node.find(f"{_B}text")) or ""
                if node.get("id"):
                    self.artifact_ids.add(node.get("id", ""))
                continue
            if tag == "sequenceFlow":
                fid = node.get("id", "")
                if not self.register_id(fid, "sequence flow"):
                    continue
                cond = node.find(f"{_B}conditionExpression")
                model.flows[fid] = SequenceFlow(
                    id=fid,
                    source=node.get("sourceRef", ""),
                    target=node.get("targetRef", ""),
                    condition=_text(cond) if cond is not None else None,
                    name=node.get("name"),
                )
                self.flow_scope[fid] = parent
                continue
            if tag == "association":
                aid = node.get("id", "")
                model.associations.append(
                    (aid, node.get("sourceRef", ""), node.get("targetRef", ""))
                )
                continue
            if tag in ("adHocSubProcess", "transaction") or tag not in FLOW_NODE_KINDS:
                self.problem(node.get("id"), f"unsupported element 'bpmn:{tag}'")
                self.unsupported_ids.add(node.get("id") or "")
                continue
            el = self.parse_element(node, tag, parent)
            if el is None:
                continue
            children.append(el.id)
            if tag == "subProcess":
                self.parse_scope(node, el.id, el.children)

    def parse_element(self, node: ET.Element, tag: str, parent: str | None) -> Element | None:
        eid = node.get("id", "")
        if not self.register_id(eid, f"bpmn:{tag}"):
            return None
        el = Element(id=eid, name=node.get("name"), kind=tag, parent=parent)
        self.model.elements[eid] = el
        el.default_flow = node.get("default") or None
        el.is_for_compensation = _bool_attr(node, "isForCompensation", False)
        if tag == "boundaryEvent":
            el.attached_to = node.get("attachedToRef") or None
            el.cancel_activity = _bool_attr(node, "cancelActivity", True)
        elif tag == "startEvent":
            el.cancel_activity = _bool_attr(node, "isInterrupting", True)
        if tag == "subProcess":
            el.triggered_by_event = _bool_attr(node, "triggeredByEvent", False)
        if tag == "receiveTask":
            # A receive task waits for a message like a catch event: keep it as its event.
            ev = EventDefinition(type="message")
            ref = node.get("messageRef")
            if ref and ref in self.messages:
                ev.message_name, ev.correlation_key = self.messages[ref]
            elif ref:
                self.problem(eid, f"messageRef '{ref}' does not name a bpmn:message")
            el.event = ev
        if tag in EVENT_KINDS:
            self.parse_event_definition(node, el)
        self.parse_extensions(node, el)
        lc = node.find(f"{_B}multiInstanceLoopCharacteristics")
        if lc is not None:
            zl = lc.find(f"{_B}extensionElements/{_Z}loopCharacteristics")
            get: Callable[[str], str | None] = (
                (lambda a: zl.get(a) or None) if zl is not None else (lambda a: None)
            )
            el.loop = MultiInstance(
                sequential=_bool_attr(lc, "isSequential", False),
                input_collection=get("inputCollection"),
                input_element=get("inputElement"),
                output_collection=get("outputCollection"),
                output_element=get("outputElement"),
                completion_condition=_text(lc.find(f"{_B}completionCondition")) or None,
            )
        if node.find(f"{_B}standardLoopCharacteristics") is not None:
            self.problem(eid, "unsupported element 'bpmn:standardLoopCharacteristics'")
        return el

    def parse_event_definition(self, node: ET.Element, el: Element) -> None:
        defs = []
        for child in node:
            ns, tag = _local(child.tag)
            if ns == BPMN_NS and tag.endswith("EventDefinition"):
                defs.append((tag, child))
        for tag in ("eventDefinitionRef",):
            if node.find(f"{_B}{tag}") is not None:
                self.problem(el.id, "unsupported event definition reference 'eventDefinitionRef'")
        if not defs:
            if None not in _ALLOWED_EVENTS[el.kind]:
                self.problem(el.id, f"{el.kind} has no event definition")
            return
        if len(defs) > 1:
            self.problem(el.id, f"{el.kind} has more than one event definition (multiple events)")
        tag, d = defs[0]
        etype = _EVENT_DEF_TYPES.get(tag)
        if etype is None or etype not in _ALLOWED_EVENTS[el.kind]:
            self.problem(el.id, f"unsupported event definition '{tag}' on {el.kind}")
            return
        ev = EventDefinition(type=etype)
        el.event = ev
        if etype == "timer":
            for child in d:
                ns, ttag = _local(child.tag)
                if ns == BPMN_NS and ttag in _TIMER_TAGS:
                    ev.timer_kind = _TIMER_TAGS[ttag]
                    ev.timer_expr = _text(child) or ""
                    break
        elif etype == "message":
            ref = d.get("messageRef")
            if ref:
                if ref in self.messages:
                    ev.message_name, ev.correlation_key = self.messages[ref]
                else:
                    self.problem(el.id, f"messageRef '{ref}' does not name a bpmn:message")
        elif etype == "error":
            ref = d.get("errorRef")
            if ref:
                if ref in self.errors:
                    code = self.errors[ref]
                    ev.error_code = code if code not in (None, "") else None
                else:
                    self.problem(el.id, f"errorRef '{ref}' does not name a bpmn:error")
        elif etype == "compensation":
            ev.activity_ref = d.get("activityRef") or None
            ev.wait_for_completion = _bool_attr(d, "waitForCompletion", True)

    def parse_extensions(self, node: ET.Element, el: Element) -> None:
        ext = node.find(f"{_B}extensionElements")
        if el.kind == "userTask":
            el.user_task = UserTaskProps(job_worker=True)
        if ext is None:
            return
        for child in ext:
            ns, tag = _local(child.tag)
            if ns != ZEEBE_NS:
                continue
            if tag == "taskDefinition":
                el.task = TaskDefinition(
                    type_expr=(child.get("type") or "").strip(),
                    retries_expr=(child.get("retries") or "3").strip() or "3",
                )
            elif tag == "taskHeaders":
                for h in child.findall(f"{_Z}header"):
                    if h.get("key") is not None:
                        el.headers[h.get("key", "")] = h.get("value", "")
            elif tag == "ioMapping":
                for m in child:
                    mns, mtag = _local(m.tag)
                    if mns != ZEEBE_NS or mtag not in ("input", "output"):
                        continue
                    mapping = Mapping(source=m.get("source"), target=m.get("target", ""))
                    (el.inputs if mtag == "input" else el.outputs).append(mapping)
            elif tag == "userTask" and el.user_task is not None:
                el.user_task.job_worker = False
            elif tag == "assignmentDefinition" and el.user_task is not None:
                el.user_task.assignee = child.get("assignee")
                el.user_task.candidate_groups = child.get("candidateGroups")
                el.user_task.candidate_users = child.get("candidateUsers")
            elif tag == "taskSchedule" and el.user_task is not None:
                el.user_task.due_date = child.get("dueDate")
                el.user_task.follow_up_date = child.get("followUpDate")
            elif tag == "formDefinition" and el.user_task is not None:
                el.user_task.form_key = child.get("formKey") or child.get("externalReference")
                el.user_task.form_id = child.get("formId")
            elif tag == "priorityDefinition" and el.user_task is not None:
                el.user_task.priority = child.get("priority")
            elif tag == "script":
                el.script = ScriptProps(
                    expression=child.get("expression", ""),
                    result_variable=child.get("resultVariable"),
                )
            elif tag == "calledElement":
                el.called_element = CalledElement(
                    process_id_expr=(child.get("processId") or "").strip(),
                    propagate_all_parent=_bool_attr(child, "propagateAllParentVariables", True),
                    propagate_all_child=_bool_attr(child, "propagateAllChildVariables", True),
                    binding_type=child.get("bindingType") or "latest",
                    version_tag=child.get("versionTag"),
                )

    # ---------------------------------------------------------------- linking

    def link(self, model: ProcessModel) -> None:
        """Fill incoming/outgoing, boundary lists and compensation handlers."""
        for flow in model.flows.values():
            src = model.elements.get(flow.source)
            tgt = model.elements.get(flow.target)
            if src is not None:
                src.outgoing.append(flow.id)
            if tgt is not None:
                tgt.incoming.append(flow.id)
        for el in model.elements.values():
            if el.kind == "boundaryEvent" and el.attached_to:
                host = model.elements.get(el.attached_to)
                if host is not None:
                    host.boundary_events.append(el.id)
        for _aid, source, target in model.associations:
            src = model.elements.get(source)
            if (
                src is not None
                and src.kind == "boundaryEvent"
                and src.event is not None
                and src.event.type == "compensation"
                and src.attached_to in model.elements
                and target in model.elements
            ):
                model.elements[src.attached_to].compensation_handler = target

    # ---------------------------------------------------------------- diagram

    def extract_diagram(self, model: ProcessModel) -> None:
        wanted = (
            set(model.elements)
            | set(model.flows)
            | {a[0] for a in model.associations}
            | self.artifact_ids
        )
        for plane in self.root.iter(f"{_DI}BPMNPlane"):
            for node in plane:
                ref = node.get("bpmnElement")
                if ref not in wanted:
                    continue
                if node.tag == f"{_DI}BPMNShape":
                    b = node.find(f"{_DC}Bounds")
                    if b is None:
                        continue
                    expanded = node.get("isExpanded")
                    model.diagram.shapes[ref] = Shape(
                        x=float(b.get("x", 0)),
                        y=float(b.get("y", 0)),
                        width=float(b.get("width", 0)),
                        height=float(b.get("height", 0)),
                        is_expanded=None if expanded is None else expanded.lower() == "true",
                        label=_label_bounds(node),
                    )
                elif node.tag == f"{_DI}BPMNEdge":
                    points = [
                        (float(w.get("x", 0)), float(w.get("y", 0)))
                        for w in node.findall(f"{_DDI}waypoint")
                    ]
                    model.diagram.edges[ref] = Edge(waypoints=points, label=_label_bounds(node))


def _label_bounds(node: ET.Element) -> Bounds | None:
    b = node.find(f"{_DI}BPMNLabel/{_DC}Bounds")
    if b is None:
        return None
    return Bounds(
        float(b.get("x", 0)),
        float(b.get("y", 0)),
        float(b.get("width", 0)),
        float(b.get("height", 0)),
    )


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


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def parse_bpmn(xml: str | bytes, resource_name: str = "process.bpmn") -> list[ProcessModel]:
    """Parse and validate a BPMN document; return one model per executable process.

    Raises `BpmnValidationError` listing every problem found.
    """
    try:
        root = ET.fromstring(xml)  # noqa: S314 - models are deployed by staff, not the public
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":")[0]
        raise BpmnValidationError(
            [
                Problem(
                    None, f"malformed XML in {resource_name}: {reason} at line {line}, column {col}"
                )
            ]
        ) from None
    if root.tag != f"{_B}definitions":
        raise BpmnValidationError(
            [Problem(None, "document root is not bpmn:definitions (BPMN 2.0 model namespace)")]
        )
    parser = _Parser(root, resource_name)
    models = parser.parse()
    _validate(parser, models)
    if parser.problems:
        raise BpmnValidationError(parser.problems)
    return models


def _validate(parser: _Parser, models: list[ProcessModel]) -> None:
    """Deployment-time validation; appends every problem found to `parser.problems`."""
    for model in models:
        _Validator(model, parser).run()


_JOB_TASKS = frozenset({"serviceTask", "sendTask", "businessRuleTask"})
_CONDITIONAL_SOURCES = frozenset({"exclusiveGateway", "inclusiveGateway"})
# Allowed timer kinds (§5.1); keys: (element kind, interrupting).
_TIMER_KINDS: dict[tuple[str, bool], frozenset[str]] = {
    ("startEvent", True): frozenset({"date", "cycle"}),
    ("intermediateCatchEvent", True): frozenset({"date", "duration"}),
    ("boundaryEvent", True): frozenset({"date", "duration"}),
    ("boundaryEvent", False): frozenset({"date", "duration", "cycle"}),
    ("eventSubProcessStart", True): frozenset({"date", "duration"}),
    ("eventSubProcessStart", False): frozenset({"date", "duration", "cycle"}),
}


class _Validator:
    """Checks one process model; problems go to the shared parser's list."""

    def __init__(self, model: ProcessModel, parser: _Parser) -> None:
        self.model = model
        self.el = model.elements
        self.problem = parser.problem
        self.flow_scope = parser.flow_scope
        self.unsupported = parser.unsupported_ids

    def run(self) -> None:
        self.check_flows()
        self.check_root()
        for el in self.el.values():
            self.check_element(el)
        self.check_error_catchers()
        self.check_compensation_associations()
        self.check_feel()

    # ------------------------------------------------------------------ flows and scopes

    def check_flows(self) -> None:
        for flow in self.model.flows.values():
            scope = self.flow_scope.get(flow.id)
            for role, ref in (("source", flow.source), ("target", flow.target)):
                node = self.el.get(ref)
                if node is None and ref in self.unsupported:
                    continue  # already reported as unsupported
                if node is None:
                    self.problem(
                        flow.id, f"sequence flow {role} '{ref}' is not a flow node of this process"
                    )
                elif node.parent != scope:
                    self.problem(
                        flow.id,
                        f"sequence flow crosses a scope boundary ({role} '{ref}' is in "
                        f"'{node.parent or self.model.id}', the flow in "
                        f"'{scope or self.model.id}')",
                    )
            src = self.el.get(flow.source)
            if flow.condition is not None:
                if not flow.condition.startswith("="):
                    self.problem(
                        flow.id,
                        f"condition expression '{flow.condition}' must be a FEEL expression "
                        "starting with '='",
                    )
                if src is not None and src.kind not in _CONDITIONAL_SOURCES:
                    self.problem(
                        flow.id,
                        f"conditions are only supported on flows leaving an exclusive or "
                        f"inclusive gateway, not a {src.kind}",
                    )
                if src is not None and src.default_flow == flow.id:
                    self.problem(flow.id, "the default flow must not have a condition")

    def check_scope_starts(self, scope_id: str | None, children: list[str]) -> None:
        starts = [self.el[c] for c in children if self.el[c].kind == "startEvent"]
        if scope_id is None:
            nones = [s for s in starts if s.event is None]
            if not starts:
                self.problem(self.model.id, "process has no none, timer or message start event")
            if len(nones) > 1:
                self.problem(
                    self.model.id,
                    "process has more than one none start event: " + ", ".join(s.id for s in nones),
                )
            return
        scope = self.el[scope_id]
        if scope.triggered_by_event:
            if len(starts) != 1:
                self.problem(
                    scope_id,
                    f"event sub-process must have exactly one start event, has {len(starts)}",
                )
            for s in starts:
                if s.event is None or s.event.type not in ("timer", "message", "error"):
                    self.problem(
                        s.id,
                        "event sub-process start event must be a timer, message or error start",
                    )
                elif s.event.type == "error" and not s.cancel_activity:
                    self.problem(s.id, "error start event must be interrupting")
        else:
            if len(starts) != 1 or starts[0].event is not None:
                self.problem(
                    scope_id, "embedded sub-process must have exactly one none start event"
                )
            for s in starts:
                if s.event is not None:
                    self.problem(
                        s.id,
                        f"{s.event.type} start event is not allowed in an embedded sub-process",
                    )

    def check_root(self) -> None:
        self.check_scope_starts(None, self.model.children)
        for el in self.el.values():
            if el.kind == "subProcess":
                self.check_scope_starts(el.id, el.children)

    # ------------------------------------------------------------------ elements

    def check_element(self, el: Element) -> None:
        kind = el.kind
        if kind == "startEvent":
            if el.incoming:
                self.problem(el.id, "start event must not have incoming sequence flows")
            if el.event is not None and el.event.type == "error" and el.parent is None:
                self.problem(el.id, "error start event is only allowed in an event sub-process")
        if kind == "endEvent" and el.outgoing:
            self.problem(el.id, "end event must not have outgoing sequence flows")
        if kind == "boundaryEvent":
            self.check_boundary(el)
        if el.event is not None:
            self.check_event(el)
        if kind in _JOB_TASKS or (kind == "scriptTask" and el.script is None):
            if el.task is None:
                self.problem(el.id, f"{_pretty(kind)} has no zeebe:taskDefinition type")
            elif not el.task.type_expr:
                self.problem(el.id, f"{_pretty(kind)} has an empty zeebe:taskDefinition type")
        if (
            el.task is not None
            and el.task.retries_expr
            and not el.task.retries_expr.startswith("=")
        ) and not el.task.retries_expr.lstrip("-").isdigit():
            self.problem(el.id, f"job retries '{el.task.retries_expr}' is not an integer")
        if kind == "scriptTask" and el.script is not None:
            if not el.script.expression.startswith("="):
                self.problem(el.id, "script expression must be a FEEL expression starting with '='")
            if not el.script.result_variable:
                self.problem(el.id, "script task has no resultVariable")
        if kind == "userTask" and el.user_task is not None:
            self.check_user_task(el, el.user_task)
        if kind == "callActivity" and (
            el.called_element is None or not el.called_element.process_id_expr
        ):
            self.problem(el.id, "call activity has no zeebe:calledElement processId")
        if kind in ("exclusiveGateway", "inclusiveGateway"):
            if el.default_flow is not None and el.default_flow not in el.outgoing:
                self.problem(
                    el.id,
                    f"default flow '{el.default_flow}' is not an outgoing flow of the gateway",
                )
        elif el.default_flow is not None:
            self.problem(el.id, "a default flow is only supported on exclusive/inclusive gateways")
        if kind == "eventBasedGateway":
            self.check_event_gateway(el)
        if kind == "subProcess" and el.triggered_by_event and (el.incoming or el.outgoing):
            self.problem(el.id, "event sub-process must not have incoming or outgoing flows")
        if el.is_for_compensation and (el.incoming or el.outgoing):
            self.problem(el.id, "compensation handler must not have incoming or outgoing flows")
        if el.loop is not None:
            self.check_loop(el, el.loop)
        for m in el.inputs + el.outputs:
            if not m.target:
                self.problem(el.id, "variable mapping without a target")
        for m in el.outputs:
            if m.source is not None and not m.source.startswith("="):
                self.problem(
                    el.id,
                    f"output mapping source '{m.source}' must be a FEEL expression "
                    "starting with '='",
                )

    def check_boundary(self, el: Element) -> None:
        if not el.attached_to:
            self.problem(el.id, "boundary event has no attachedToRef")
        else:
            host = self.el.get(el.attached_to)
            if host is None or not host.is_activity:
                self.problem(
                    el.id,
                    f"boundary event is attached to '{el.attached_to}', which is not an activity",
                )
        if el.incoming:
            self.problem(el.id, "boundary event must not have incoming sequence flows")
        is_comp = el.event is not None and el.event.type == "compensation"
        if is_comp and el.outgoing:
            self.problem(el.id, "compensation boundary event must not have outgoing sequence flows")
        if not is_comp and el.event is not None and not el.outgoing:
            self.problem(el.id, "boundary event must have at least one outgoing sequence flow")
        if el.event is not None and el.event.type == "error" and not el.cancel_activity:
            self.problem(el.id, "error boundary event must be interrupting")

    def check_event(self, el: Element) -> None:
        ev = el.event
        assert ev is not None
        if ev.type == "timer":
            self.check_timer(el, ev)
        elif ev.type == "message":
            if not ev.message_name:
                self.problem(
                    el.id, "message event has no message name (messageRef to a named bpmn:message)"
                )
            is_root_start = el.kind == "startEvent" and el.parent is None
            if not is_root_start and not ev.correlation_key:
                self.problem(
                    el.id, "message subscription has no correlation key (zeebe:subscription)"
                )
        elif ev.type == "error":
            if el.kind == "endEvent":
                if not ev.error_code:
                    self.problem(
                        el.id, "error end event has no errorRef to a bpmn:error with errorCode"
                    )
            elif ev.error_code is not None and ev.error_code.startswith("="):
                self.problem(el.id, f"error catch code '{ev.error_code}' must be static")
        elif ev.type == "compensation" and ev.activity_ref:
            target = self.el.get(ev.activity_ref)
            if target is None or not target.is_activity:
                self.problem(
                    el.id, f"compensation activityRef '{ev.activity_ref}' is not an activity"
                )

    def check_timer(self, el: Element, ev: EventDefinition) -> None:
        if ev.timer_kind is None or not ev.timer_expr:
            self.problem(el.id, "timer event has no timeDate, timeDuration or timeCycle value")
            return
        kind = el.kind
        if kind == "startEvent" and el.parent is not None:
            kind = "eventSubProcessStart"
        allowed = _TIMER_KINDS.get((kind, el.cancel_activity))
        if allowed is not None and ev.timer_kind not in allowed:
            what = {
                "startEvent": "timer start event",
                "intermediateCatchEvent": "intermediate timer catch event",
                "boundaryEvent": (
                    "interrupting timer boundary event"
                    if el.cancel_activity
                    else "non-interrupting timer boundary event"
                ),
                "eventSubProcessStart": (
                    "interrupting timer start event of an event sub-process"
                    if el.cancel_activity
                    else "non-interrupting timer start event of an event sub-process"
                ),
            }[kind]
            self.problem(
                el.id,
                f"time {ev.timer_kind} is not allowed on a {what} "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
        if not ev.timer_expr.startswith("="):
            try:
                if ev.timer_kind == "date":
                    timers.parse_datetime(ev.timer_expr)
                elif ev.timer_kind == "duration":
                    timers.parse_duration(ev.timer_expr)
                else:
                    timers.parse_cycle(ev.timer_expr)
            except timers.TimerError as exc:
                self.problem(el.id, f"invalid timer {ev.timer_kind} '{ev.timer_expr}': {exc}")

    def check_user_task(self, el: Element, ut: UserTaskProps) -> None:
        for what, value in (
            ("candidateGroups", ut.candidate_groups),
            ("candidateUsers", ut.candidate_users),
        ):
            if (
                value
                and not value.startswith("=")
                and any(not item.strip() for item in value.split(","))
            ):
                self.problem(el.id, f"{what} '{value}' contains a blank item")
        if ut.priority and not ut.priority.startswith("="):
            p = ut.priority.strip()
            if not p.isdigit() or not 0 <= int(p) <= 100:
                self.problem(
                    el.id, f"priority '{ut.priority}' must be an integer between 0 and 100"
                )
        for what, value in (("dueDate", ut.due_date), ("followUpDate", ut.follow_up_date)):
            if value and not value.startswith("="):
                try:
                    timers.parse_datetime(value)
                except timers.TimerError as exc:
                    self.problem(el.id, f"invalid {what} '{value}': {exc}")

    def check_event_gateway(self, el: Element) -> None:
        if len(el.outgoing) < 2:
            self.problem(
                el.id, "event-based gateway must have at least two outgoing sequence flows"
            )
        for fid in el.outgoing:
            flow = self.model.flows[fid]
            target = self.el.get(flow.target)
            if target is None:
                continue
            if not (
                target.kind == "intermediateCatchEvent"
                and target.event is not None
                and target.event.type in ("timer", "message")
            ):
                self.problem(
                    el.id,
                    f"event-based gateway flow '{fid}' must lead to a timer or message "
                    f"intermediate catch event, not '{target.id}' ({target.kind})",
                )

    def check_loop(self, el: Element, loop: MultiInstance) -> None:
        if not loop.input_collection:
            self.problem(el.id, "multi-instance has no inputCollection")
        elif not loop.input_collection.startswith("="):
            self.problem(
                el.id,
                f"multi-instance inputCollection '{loop.input_collection}' must be a FEEL "
                "expression starting with '='",
            )
        if bool(loop.output_collection) != bool(loop.output_element):
            self.problem(
                el.id, "multi-instance needs both outputCollection and outputElement, or neither"
            )
        for what, value in (
            ("inputElement", loop.input_element),
            ("outputCollection", loop.output_collection),
        ):
            if value and value.startswith("="):
                self.problem(el.id, f"multi-instance {what} must be a variable name, not '{value}'")
        if loop.completion_condition and not loop.completion_condition.startswith("="):
            self.problem(
                el.id,
                "multi-instance completionCondition must be a FEEL expression starting with '='",
            )

    # ------------------------------------------------------------------ cross-element rules

    def check_error_catchers(self) -> None:
        """§6.8: no duplicate error codes / two catch-alls on one activity or in one scope."""
        groups: dict[str, list[Element]] = {}
        for el in self.el.values():
            if el.event is None or el.event.type != "error":
                continue
            if el.kind == "boundaryEvent" and el.attached_to:
                groups.setdefault(f"activity {el.attached_to}", []).append(el)
            elif el.kind == "startEvent" and el.parent is not None:
                sub = self.el.get(el.parent)
                if sub is not None and sub.triggered_by_event:
                    scope = sub.parent or self.model.id
                    groups.setdefault(f"scope {scope}", []).append(el)
        for catchers in groups.values():
            seen: dict[str | None, str] = {}
            for c in catchers:
                code = c.event.error_code if c.event else None
                if code in seen:
                    what = f"error code '{code}'" if code is not None else "catch-all error"
                    self.problem(
                        c.id,
                        f"another error catch event ({seen[code]}) in the same scope already "
                        f"catches the {what}",
                    )
                else:
                    seen[code] = c.id

    def check_compensation_associations(self) -> None:
        per_host: dict[str, list[str]] = {}
        for el in self.el.values():
            if el.kind != "boundaryEvent" or el.event is None or el.event.type != "compensation":
                continue
            if el.attached_to:
                per_host.setdefault(el.attached_to, []).append(el.id)
            handlers = [t for _a, s, t in self.model.associations if s == el.id]
            valid = [h for h in handlers if h in self.el and self.el[h].is_for_compensation]
            if not valid:
                self.problem(
                    el.id,
                    "compensation boundary event has no association to a compensation handler "
                    '(an activity with isForCompensation="true")',
                )
            elif len(handlers) > 1:
                self.problem(el.id, "compensation boundary event has more than one handler")
        for host, bounds in per_host.items():
            if len(bounds) > 1:
                self.problem(host, "activity has more than one compensation boundary event")

    def check_feel(self) -> None:
        try:
            from processes.feel import FeelError, check_syntax
        except ImportError:  # pragma: no cover - the FEEL package is part of the product
            return
        for element_id, what, raw in iter_feel_points(self.model):
            if not raw.startswith("="):
                continue
            try:
                check_syntax(raw[1:])
            except FeelError as exc:
                self.problem(element_id, f"FEEL syntax error in {what} '{raw}': {exc}")


def _pretty(kind: str) -> str:
    return {
        "serviceTask": "service task",
        "sendTask": "send task",
        "businessRuleTask": "business rule task",
        "scriptTask": "script task",
    }.get(kind, kind)
