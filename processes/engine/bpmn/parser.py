"""BPMN 2.0 (Camunda 8 / Zeebe dialect) parsing.

`parse_bpmn` turns a BPMN XML document into one `ProcessModel` per executable process and runs
the deployment-time validation (``validator``); all problems are collected and raised together
in one `BpmnValidationError`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from .model import (
    EVENT_KINDS,
    FLOW_NODE_KINDS,
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
)
from .validator import validate

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
    ElementKind.START_EVENT: frozenset({None, "timer", "message", "error"}),
    ElementKind.END_EVENT: frozenset({None, "error", "terminate", "compensation"}),
    ElementKind.INTERMEDIATE_CATCH_EVENT: frozenset({"timer", "message"}),
    ElementKind.INTERMEDIATE_THROW_EVENT: frozenset({None, "compensation"}),
    ElementKind.BOUNDARY_EVENT: frozenset({"timer", "message", "error", "compensation"}),
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
            if el.kind == ElementKind.SUB_PROCESS:
                el.start_events, el.event_subprocesses = self.scope_entries(model, el.children)
        self.extract_diagram(model)
        return model

    def scope_entries(
        self, model: ProcessModel, children: list[str]
    ) -> tuple[list[str], list[str]]:
        starts = [c for c in children if model.elements[c].kind == ElementKind.START_EVENT]
        subs = [
            c
            for c in children
            if model.elements[c].kind == ElementKind.SUB_PROCESS
            and model.elements[c].triggered_by_event
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
            if tag == ElementKind.SUB_PROCESS:
                self.parse_scope(node, el.id, el.children)

    def parse_element(self, node: ET.Element, tag: str, parent: str | None) -> Element | None:
        eid = node.get("id", "")
        if not self.register_id(eid, f"bpmn:{tag}"):
            return None
        el = Element(id=eid, name=node.get("name"), kind=ElementKind(tag), parent=parent)
        self.model.elements[eid] = el
        el.default_flow = node.get("default") or None
        el.is_for_compensation = _bool_attr(node, "isForCompensation", False)
        if tag == ElementKind.BOUNDARY_EVENT:
            el.attached_to = node.get("attachedToRef") or None
            el.cancel_activity = _bool_attr(node, "cancelActivity", True)
        elif tag == ElementKind.START_EVENT:
            el.cancel_activity = _bool_attr(node, "isInterrupting", True)
        if tag == ElementKind.SUB_PROCESS:
            el.triggered_by_event = _bool_attr(node, "triggeredByEvent", False)
        if tag == ElementKind.RECEIVE_TASK:
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
        if el.kind == ElementKind.USER_TASK:
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
            elif tag == ElementKind.USER_TASK and el.user_task is not None:
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
            if el.kind == ElementKind.BOUNDARY_EVENT and el.attached_to:
                host = model.elements.get(el.attached_to)
                if host is not None:
                    host.boundary_events.append(el.id)
        for _aid, source, target in model.associations:
            src = model.elements.get(source)
            if (
                src is not None
                and src.kind == ElementKind.BOUNDARY_EVENT
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
    validate(models, parser)
    if parser.problems:
        raise BpmnValidationError(parser.problems)
    return models
