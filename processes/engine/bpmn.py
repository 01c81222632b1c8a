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
                el.user_task.form_key = child.get("formKey")
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
    """Deployment-time validation (filled in below)."""
