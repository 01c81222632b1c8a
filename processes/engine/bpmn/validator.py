"""Deployment-time validation: what Zeebe rejects at deployment, for the BPMN subset we run.

See https://docs.camunda.io/docs/components/modeler/bpmn/bpmn-coverage/ for what Camunda 8
supports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine import timers

from .model import (
    Element,
    ElementKind,
    EventDefinition,
    MultiInstance,
    ProcessModel,
    UserTaskProps,
    iter_feel_points,
)

if TYPE_CHECKING:
    from .parser import _Parser


def validate(models: list[ProcessModel], parser: _Parser) -> None:
    """Deployment-time validation; appends every problem found to `parser.problems`."""
    checked: set[tuple[str | None, str]] = set()
    for model in models:
        validator = _Validator(model, parser)
        validator.run()
        checked |= validator.feel_checked
    check_document_expressions(parser, checked)


# ---------------------------------------------------------------------------------- FEEL
# Zeebe parses every expression of a model at deployment and refuses the resource when one does
# not parse (https://docs.camunda.io/docs/components/concepts/expressions/). Beyond the
# expressions the model reads, every ``=``-prefixed attribute of a Zeebe extension element and of
# the BPMN elements whose values may be expressions is parsed here too.
_ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_STATIC_ZEEBE = frozenset({"header", "property"})  # task headers and properties are plain text
_BPMN_EXPRESSION_ATTRIBUTES = {
    "message": ("name",),
    "error": ("errorCode",),
    "escalation": ("escalationCode",),
    "signal": ("name",),
}
_BPMN_EXPRESSION_TEXT = frozenset(
    {"conditionExpression", "completionCondition", "timeDate", "timeDuration", "timeCycle"}
)


def feel_syntax_problem(expression: str) -> str | None:
    """Why ``expression`` (without its ``=``) does not parse as FEEL, or None when it does.

    Besides the grammar, a comparison or arithmetic operand may not itself be a comparison test:
    ``amount >> 3`` reads as ``amount > (> 3)`` to a grammar that allows unary tests inside
    expressions, but FEEL has no such expression and Zeebe refuses it.
    """
    from lark import Tree

    from processes.feel import FeelError, check_syntax
    from processes.feel.grammar import get_parser

    try:
        check_syntax(expression)
    except FeelError as error:
        return str(error)
    tree = get_parser().parse(expression, start="start")
    for node in tree.iter_subtrees():
        if node.data not in ("compare", "arith", "neg"):
            continue
        for child in node.children:
            if isinstance(child, Tree) and child.data == "cmp_test":
                return (
                    f"failed to parse expression '{expression}': an operator is followed by a "
                    "comparison"
                )
    return None


def check_document_expressions(parser: _Parser, checked: set[tuple[str | None, str]]) -> None:
    """Parse the ``=``-prefixed values of the document the models did not read."""

    seen = {raw for _owner, raw in checked}

    def visit(node: Any, owner: str | None) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        owner = node.get("id") or owner
        values: list[tuple[str, str]] = []
        if ns == _ZEEBE_NS and local not in _STATIC_ZEEBE:
            values = [(f"zeebe:{local} attribute '{k}'", v) for k, v in node.attrib.items()]
        elif ns == _BPMN_NS:
            values = [
                (f"{local} attribute '{k}'", node.get(k))
                for k in _BPMN_EXPRESSION_ATTRIBUTES.get(local, ())
                if node.get(k) is not None
            ]
            if local in _BPMN_EXPRESSION_TEXT and node.text:
                values.append((local, node.text.strip()))
        for what, raw in values:
            raw = raw.strip()
            if not raw.startswith("=") or raw in seen:
                continue
            seen.add(raw)
            problem = feel_syntax_problem(raw[1:])
            if problem is not None:
                parser.problem(owner, f"FEEL syntax error in {what} '{raw}': {problem}")
        for child in node:
            visit(child, owner)

    visit(parser.root, None)


_JOB_TASKS = frozenset(
    {ElementKind.SERVICE_TASK, ElementKind.SEND_TASK, ElementKind.BUSINESS_RULE_TASK}
)
_CONDITIONAL_SOURCES = frozenset({ElementKind.EXCLUSIVE_GATEWAY, ElementKind.INCLUSIVE_GATEWAY})
# Allowed timer kinds; keys: (element kind, interrupting).
_TIMER_KINDS: dict[tuple[str, bool], frozenset[str]] = {
    (ElementKind.START_EVENT, True): frozenset({"date", "cycle"}),
    (ElementKind.INTERMEDIATE_CATCH_EVENT, True): frozenset({"date", "duration"}),
    (ElementKind.BOUNDARY_EVENT, True): frozenset({"date", "duration"}),
    (ElementKind.BOUNDARY_EVENT, False): frozenset({"date", "duration", "cycle"}),
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
        self.feel_checked: set[tuple[str | None, str]] = set()

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
        starts = [self.el[c] for c in children if self.el[c].kind == ElementKind.START_EVENT]
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
            if el.kind == ElementKind.SUB_PROCESS:
                self.check_scope_starts(el.id, el.children)

    # ------------------------------------------------------------------ elements

    def check_element(self, el: Element) -> None:
        kind = el.kind
        if kind == ElementKind.START_EVENT:
            if el.incoming:
                self.problem(el.id, "start event must not have incoming sequence flows")
            if el.event is not None and el.event.type == "error" and el.parent is None:
                self.problem(el.id, "error start event is only allowed in an event sub-process")
        if kind == ElementKind.END_EVENT and el.outgoing:
            self.problem(el.id, "end event must not have outgoing sequence flows")
        if kind == ElementKind.BOUNDARY_EVENT:
            self.check_boundary(el)
        if el.event is not None:
            self.check_event(el)
        if kind in _JOB_TASKS or (kind == ElementKind.SCRIPT_TASK and el.script is None):
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
        if kind == ElementKind.SCRIPT_TASK and el.script is not None:
            if not el.script.expression.startswith("="):
                self.problem(el.id, "script expression must be a FEEL expression starting with '='")
            if not el.script.result_variable:
                self.problem(el.id, "script task has no resultVariable")
        if kind == ElementKind.USER_TASK and el.user_task is not None:
            self.check_user_task(el, el.user_task)
        if kind == ElementKind.CALL_ACTIVITY and (
            el.called_element is None or not el.called_element.process_id_expr
        ):
            self.problem(el.id, "call activity has no zeebe:calledElement processId")
        if kind in (ElementKind.EXCLUSIVE_GATEWAY, ElementKind.INCLUSIVE_GATEWAY):
            if el.default_flow is not None and el.default_flow not in el.outgoing:
                self.problem(
                    el.id,
                    f"default flow '{el.default_flow}' is not an outgoing flow of the gateway",
                )
        elif el.default_flow is not None:
            self.problem(el.id, "a default flow is only supported on exclusive/inclusive gateways")
        if kind == ElementKind.EVENT_BASED_GATEWAY:
            self.check_event_gateway(el)
        if (
            kind == ElementKind.SUB_PROCESS
            and el.triggered_by_event
            and (el.incoming or el.outgoing)
        ):
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
            is_root_start = el.kind == ElementKind.START_EVENT and el.parent is None
            if not is_root_start and not ev.correlation_key:
                self.problem(
                    el.id, "message subscription has no correlation key (zeebe:subscription)"
                )
        elif ev.type == "error":
            if el.kind == ElementKind.END_EVENT:
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
        kind: str = el.kind
        if kind == ElementKind.START_EVENT and el.parent is not None:
            kind = "eventSubProcessStart"
        allowed = _TIMER_KINDS.get((kind, el.cancel_activity))
        if allowed is not None and ev.timer_kind not in allowed:
            what = {
                ElementKind.START_EVENT: "timer start event",
                ElementKind.INTERMEDIATE_CATCH_EVENT: "intermediate timer catch event",
                ElementKind.BOUNDARY_EVENT: (
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
                target.kind == ElementKind.INTERMEDIATE_CATCH_EVENT
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
        """No duplicate error codes / two catch-alls on one activity or in one scope."""
        groups: dict[str, list[Element]] = {}
        for el in self.el.values():
            if el.event is None or el.event.type != "error":
                continue
            if el.kind == ElementKind.BOUNDARY_EVENT and el.attached_to:
                groups.setdefault(f"activity {el.attached_to}", []).append(el)
            elif el.kind == ElementKind.START_EVENT and el.parent is not None:
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
            if (
                el.kind != ElementKind.BOUNDARY_EVENT
                or el.event is None
                or el.event.type != "compensation"
            ):
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
        for element_id, what, raw in iter_feel_points(self.model):
            raw = raw.strip()
            if not raw.startswith("=") or (element_id, raw) in self.feel_checked:
                continue
            self.feel_checked.add((element_id, raw))
            problem = feel_syntax_problem(raw[1:])
            if problem is not None:
                self.problem(element_id, f"FEEL syntax error in {what} '{raw}': {problem}")


def _pretty(kind: str) -> str:
    names: dict[str, str] = {
        ElementKind.SERVICE_TASK: "service task",
        ElementKind.SEND_TASK: "send task",
        ElementKind.BUSINESS_RULE_TASK: "business rule task",
        ElementKind.SCRIPT_TASK: "script task",
    }
    return names.get(kind, kind)
