"""BPMN parsing and deployment validation (no Django, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from processes.engine.bpmn import BpmnValidationError, ProcessModel, parse_bpmn

FIXTURES = Path(__file__).parent / "bpmn"

VALID_FILES = [
    "service-tasks-in-row",
    "exclusive-gateway",
    "parallel-gateway",
    "inclusive-gateway",
    "event-based-gateway",
    "timer-boundary",
    "message-catch",
    "error-boundary",
    "event-subprocess",
    "call-activity-parent",
    "call-activity-child",
    "multi-instance-parallel",
    "compensation",
    "user-task",
    "script-task",
    "timer-start",
    "message-start",
    "embedded-subprocess",
    "terminate-end",
]


def load(name: str) -> ProcessModel:
    models = parse_bpmn((FIXTURES / f"{name}.bpmn").read_text(), f"{name}.bpmn")
    assert len(models) == 1
    return models[0]


def problems_of(xml: str) -> str:
    with pytest.raises(BpmnValidationError) as info:
        parse_bpmn(xml)
    return str(info.value)


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D1" '
    'targetNamespace="http://bpmn.io/schema/bpmn">'
)


def doc(body: str, defs: str = "", pid: str = "p") -> str:
    """A minimal document with one executable process."""
    process = f'<bpmn:process id="{pid}" isExecutable="true">{body}</bpmn:process>'
    return f"{HEAD}{defs}{process}</bpmn:definitions>"


def seq(fid: str, source: str, target: str, cond: str | None = None) -> str:
    if cond is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}" />'
    return (
        f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{cond}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def svc(eid: str, job_type: str = "work", attrs: str = "", inner: str = "") -> str:
    return (
        f'<bpmn:serviceTask id="{eid}"{attrs}><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{job_type}" /></bpmn:extensionElements>{inner}'
        "</bpmn:serviceTask>"
    )


START = '<bpmn:startEvent id="S" />'
END = '<bpmn:endEvent id="E" />'


def timer_def(kind: str, value: str) -> str:
    return (
        f"<bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>"
    )


# ------------------------------------------------------------------------------ fixtures parse


@pytest.mark.parametrize("name", VALID_FILES)
def test_valid_fixture_parses_with_diagram(name: str) -> None:
    model = load(name)
    assert model.id == name
    assert model.start_events
    for el in model.elements.values():
        assert el.id in model.diagram.shapes, f"{el.id} has no DI shape"
    for fid in model.flows:
        assert fid in model.diagram.edges
        assert len(model.diagram.edges[fid].waypoints) >= 2


def test_service_tasks_in_row() -> None:
    m = load("service-tasks-in-row")
    assert m.name == "Service tasks in a row"
    assert m.version_tag == "v1.0"
    assert m.children == ["StartEvent_1", "ServiceTask_1", "ServiceTask_2", "EndEvent_1"]
    t1 = m.elements["ServiceTask_1"]
    assert t1.kind == "serviceTask"
    assert t1.parent is None
    assert t1.task is not None
    assert (t1.task.type_expr, t1.task.retries_expr) == ("reserve-inventory", "5")
    assert t1.headers == {"warehouse": "main", "priority": "high"}
    assert [(i.source, i.target) for i in t1.inputs] == [
        ("=order.id", "orderId"),
        ("static text", "note"),
    ]
    assert [(o.source, o.target) for o in t1.outputs] == [("=reservation.id", "reservationId")]
    assert t1.incoming == ["Flow_1"] and t1.outgoing == ["Flow_2"]
    t2 = m.elements["ServiceTask_2"]
    assert t2.task is not None
    assert t2.task.type_expr == '="charge-" + paymentMethod'
    assert t2.task.retries_expr == "=retries"
    flow = m.flows["Flow_2"]
    assert (flow.source, flow.target, flow.condition) == ("ServiceTask_1", "ServiceTask_2", None)


def test_default_retries_is_three() -> None:
    m = load("parallel-gateway")
    task = m.elements["Task_A"].task
    assert task is not None and task.retries_expr == "3"


def test_exclusive_gateway() -> None:
    m = load("exclusive-gateway")
    gw = m.elements["Gateway_1"]
    assert gw.kind == "exclusiveGateway"
    assert gw.default_flow == "Flow_default"
    assert gw.outgoing == ["Flow_big", "Flow_small", "Flow_default"]
    assert m.flows["Flow_big"].condition == "= amount > 100"
    assert m.flows["Flow_big"].name == "big"
    assert m.flows["Flow_small"].condition == "= amount <= 100 and amount > 0"
    assert m.flows["Flow_default"].condition is None


def test_parallel_and_inclusive_gateways() -> None:
    p = load("parallel-gateway")
    assert p.elements["Fork"].kind == "parallelGateway"
    assert p.elements["Join"].incoming == ["Flow_4", "Flow_5"]
    i = load("inclusive-gateway")
    assert i.elements["Fork"].kind == "inclusiveGateway"
    assert i.elements["Fork"].default_flow == "Flow_default"
    assert i.elements["Join"].kind == "inclusiveGateway"


def test_event_based_gateway() -> None:
    m = load("event-based-gateway")
    assert m.elements["Gateway_1"].kind == "eventBasedGateway"
    pay = m.elements["Catch_payment"]
    assert pay.kind == "intermediateCatchEvent"
    assert pay.event is not None
    assert pay.event.type == "message"
    assert pay.event.message_name == "payment-received"
    assert pay.event.correlation_key == "=orderId"
    timeout = m.elements["Catch_timeout"].event
    assert timeout is not None
    assert (timeout.type, timeout.timer_kind, timeout.timer_expr) == ("timer", "duration", "PT1H")


def test_timer_boundary() -> None:
    m = load("timer-boundary")
    task = m.elements["Task_ship"]
    assert task.boundary_events == ["Timer_deadline", "Timer_reminder"]
    deadline = m.elements["Timer_deadline"]
    assert deadline.kind == "boundaryEvent"
    assert deadline.attached_to == "Task_ship"
    assert deadline.cancel_activity is True
    assert deadline.event is not None and deadline.event.timer_kind == "duration"
    reminder = m.elements["Timer_reminder"]
    assert reminder.cancel_activity is False
    assert reminder.event is not None
    assert (reminder.event.timer_kind, reminder.event.timer_expr) == ("cycle", "R3/PT1M")
    assert reminder.outgoing == ["Flow_5"]


def test_message_catch_receive_task_and_boundary() -> None:
    m = load("message-catch")
    catch = m.elements["Catch_confirmed"].event
    assert catch is not None and catch.message_name == "vendor-confirmed"
    receive = m.elements["Receive_tracking"]
    assert receive.kind == "receiveTask"
    assert receive.event is not None
    assert receive.event.message_name == "tracking-received"
    assert receive.event.correlation_key == "=orderId"
    boundary = m.elements["Boundary_cancel"].event
    assert boundary is not None
    assert boundary.message_name == '="cancel-" + region'
    assert boundary.correlation_key == "=string(orderNumber)"


def test_error_boundary_and_error_end() -> None:
    m = load("error-boundary")
    sub = m.elements["SubProcess_1"]
    assert sub.kind == "subProcess" and not sub.triggered_by_event
    assert sub.children == ["Sub_start", "Task_reserve", "Error_oos", "Sub_error_end", "Sub_end"]
    assert sub.start_events == ["Sub_start"]
    assert m.elements["Task_reserve"].parent == "SubProcess_1"
    assert m.elements["Error_oos"].parent == "SubProcess_1"
    oos = m.elements["Error_oos"].event
    assert oos is not None and (oos.type, oos.error_code) == ("error", "OUT_OF_STOCK")
    end = m.elements["Sub_error_end"].event
    assert end is not None and end.error_code == "FULFILMENT_FAILED"
    catch_all = m.elements["Error_any"].event
    assert catch_all is not None and catch_all.error_code is None
    assert sub.boundary_events == ["Error_any"]
    assert "Sub_start" not in m.start_events


def test_event_subprocesses() -> None:
    m = load("event-subprocess")
    assert m.event_subprocesses == ["EventSub_error", "EventSub_message", "EventSub_timer"]
    assert m.start_events == ["StartEvent_1"]
    err = m.elements["EventSub_error"]
    assert err.triggered_by_event
    assert err.start_events == ["Start_error"]
    assert m.elements["Start_error"].cancel_activity is True
    upd = m.elements["Start_update"]
    assert upd.cancel_activity is False
    assert upd.event is not None and upd.event.message_name == "order-updated"
    hourly = m.elements["Start_hourly"].event
    assert hourly is not None and hourly.timer_kind == "cycle"


def test_call_activity() -> None:
    m = load("call-activity-parent")
    call = m.elements["Call_child"]
    assert call.kind == "callActivity"
    ce = call.called_element
    assert ce is not None
    assert ce.process_id_expr == "call-activity-child"
    assert ce.propagate_all_child is False and ce.propagate_all_parent is True
    assert ce.binding_type == "latest"
    dyn = m.elements["Call_dynamic"].called_element
    assert dyn is not None
    assert dyn.process_id_expr == "=childProcessId"
    assert dyn.propagate_all_parent is False and dyn.propagate_all_child is True
    assert dyn.binding_type == "deployment"


def test_multi_instance() -> None:
    m = load("multi-instance-parallel")
    loop = m.elements["Task_notify_vendor"].loop
    assert loop is not None
    assert loop.sequential is False
    assert loop.input_collection == "=vendors"
    assert loop.input_element == "vendor"
    assert loop.output_collection == "results"
    assert loop.output_element == "=result"
    assert loop.completion_condition == "= numberOfCompletedInstances >= 3"
    sub = m.elements["Sub_lines"]
    assert sub.loop is not None and sub.loop.sequential is True
    assert sub.loop.output_collection is None
    assert sub.children == ["Sub_start", "Task_line", "Sub_end"]


def test_compensation() -> None:
    m = load("compensation")
    charge = m.elements["Task_charge"]
    assert charge.boundary_events == ["Comp_charge"]
    assert charge.compensation_handler == "Task_refund"
    assert m.elements["Task_reserve"].compensation_handler == "Task_release"
    assert m.elements["Task_refund"].is_for_compensation
    assert ("Association_1", "Comp_charge", "Task_refund") in m.associations
    throw = m.elements["Throw_undo_charge"]
    assert throw.kind == "intermediateThrowEvent"
    assert throw.event is not None
    assert (throw.event.type, throw.event.activity_ref) == ("compensation", "Task_charge")
    assert throw.event.wait_for_completion is True
    end = m.elements["End_compensate"].event
    assert end is not None and end.type == "compensation" and end.activity_ref is None
    assert "Association_1" in m.diagram.edges


def test_user_task() -> None:
    m = load("user-task")
    ut = m.elements["Task_review"].user_task
    assert ut is not None
    assert ut.job_worker is False
    assert ut.assignee == "=reviewer"
    assert ut.candidate_groups == "support, managers"
    assert ut.candidate_users == '=["ann", "bob"]'
    assert ut.due_date == '=now() + duration("P2D")'
    assert ut.follow_up_date == "2026-03-01T09:00:00Z"
    assert ut.form_id == "return-review" and ut.form_key is None
    assert ut.priority == "75"
    assert m.elements["Task_review"].headers == {"queue": "returns"}
    legacy = m.elements["Task_legacy"].user_task
    assert legacy is not None and legacy.job_worker is True
    assert legacy.form_key == "camunda-forms:bpmn:Form_1"
    assert legacy.candidate_groups is None
    assert m.elements["Task_manual"].kind == "manualTask"


def test_script_and_other_tasks() -> None:
    m = load("script-task")
    s = m.elements["Script_total"]
    assert s.kind == "scriptTask" and s.task is None
    assert s.script is not None
    assert (s.script.expression, s.script.result_variable) == ("=sum(lines.price)", "total")
    job = m.elements["Script_job"]
    assert job.script is None and job.task is not None and job.task.type_expr == "run-script"
    rule = m.elements["Rule_fraud"]
    assert rule.kind == "businessRuleTask"
    assert rule.task is not None and rule.task.retries_expr == "1"
    assert m.elements["Send_mail"].kind == "sendTask"
    assert m.elements["Task_noop"].kind == "task"
    throw = m.elements["Throw_none"]
    assert throw.kind == "intermediateThrowEvent" and throw.event is None


def test_timer_and_message_starts() -> None:
    t = load("timer-start")
    assert t.start_events == ["Start_nightly", "Start_once", "Start_cron"]
    kinds = [t.elements[s].event.timer_kind for s in t.start_events]  # type: ignore[union-attr]
    assert kinds == ["cycle", "date", "cycle"]
    m = load("message-start")
    assert m.start_events == ["Start_message", "StartEvent_1"]
    ev = m.elements["Start_message"].event
    assert ev is not None and ev.message_name == "order-placed" and ev.correlation_key is None
    assert m.elements["StartEvent_1"].event is None


def test_embedded_subprocess_and_terminate() -> None:
    m = load("embedded-subprocess")
    sub = m.elements["Sub_1"]
    assert [(i.source, i.target) for i in sub.inputs] == [("=order.lines", "lines")]
    assert [(o.source, o.target) for o in sub.outputs] == [("=packed", "packedLines")]
    assert m.diagram.shapes["Sub_1"].is_expanded is True
    t = load("terminate-end")
    ev = t.elements["End_terminate"].event
    assert ev is not None and ev.type == "terminate"


def test_diagram_extraction() -> None:
    m = load("exclusive-gateway")
    shape = m.diagram.shapes["Gateway_1"]
    assert (shape.width, shape.height) == (50.0, 50.0)
    assert shape.is_expanded is None
    assert shape.label is not None  # named gateway has an external label
    assert m.diagram.shapes["Task_big"].label is None
    edge = m.diagram.edges["Flow_big"]
    assert all(isinstance(x, float) and isinstance(y, float) for x, y in edge.waypoints)
    assert edge.label is not None


def test_collaboration_plane_takes_only_this_process_shapes() -> None:
    xml = (
        HEAD
        + '<bpmn:collaboration id="C"><bpmn:participant id="P1" processRef="a" />'
        + '<bpmn:participant id="P2" processRef="b" /></bpmn:collaboration>'
        + '<bpmn:process id="a" isExecutable="true"><bpmn:startEvent id="A1" /></bpmn:process>'
        + '<bpmn:process id="b" isExecutable="true"><bpmn:startEvent id="B1" /></bpmn:process>'
        + '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        + 'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane bpmnElement="C">'
        + '<bpmndi:BPMNShape bpmnElement="P1"><dc:Bounds x="0" y="0" width="600" height="200" />'
        + '</bpmndi:BPMNShape><bpmndi:BPMNShape bpmnElement="A1"><dc:Bounds x="10" y="20" '
        + 'width="36" height="36" /></bpmndi:BPMNShape><bpmndi:BPMNShape bpmnElement="B1">'
        + '<dc:Bounds x="10" y="220" width="36" height="36" /></bpmndi:BPMNShape>'
        + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"
    )
    a, b = parse_bpmn(xml)
    assert list(a.diagram.shapes) == ["A1"]
    assert list(b.diagram.shapes) == ["B1"]
    assert b.diagram.shapes["B1"].y == 220.0


def test_non_executable_processes_are_skipped_and_bytes_accepted() -> None:
    xml = doc(START).replace("</bpmn:definitions>", "") + (
        '<bpmn:process id="draft" isExecutable="false" /></bpmn:definitions>'
    )
    models = parse_bpmn(xml.encode())
    assert [m.id for m in models] == ["p"]


# ------------------------------------------------------------------------------ invalid files


def test_malformed_xml_reports_position() -> None:
    with pytest.raises(BpmnValidationError) as info:
        parse_bpmn((FIXTURES / "malformed.bpmn").read_text(), "malformed.bpmn")
    (problem,) = info.value.problems
    assert problem.element_id is None
    assert "line 5" in problem.message and "column" in problem.message


def test_unknown_element_fixture() -> None:
    text = problems_of((FIXTURES / "unknown-element.bpmn").read_text())
    assert "Gateway_complex: unsupported element 'bpmn:complexGateway'" in text
    assert (
        "Catch_signal: unsupported event definition 'signalEventDefinition' "
        "on intermediateCatchEvent" in text
    )
    assert "Flow_1" not in text  # no follow-up noise about flows to unsupported elements


def test_missing_job_type_fixture() -> None:
    with pytest.raises(BpmnValidationError) as info:
        parse_bpmn((FIXTURES / "missing-job-type.bpmn").read_text())
    text = str(info.value)
    assert "ServiceTask_1: service task has no zeebe:taskDefinition type" in text
    assert "ServiceTask_2: service task has an empty zeebe:taskDefinition type" in text
    assert {p.element_id for p in info.value.problems} == {"ServiceTask_1", "ServiceTask_2"}


def test_feel_syntax_error_fixture() -> None:
    text = problems_of((FIXTURES / "feel-syntax-error.bpmn").read_text())
    assert "Flow_3: FEEL syntax error in condition expression '= amount >'" in text
    assert "ServiceTask_1: FEEL syntax error in input mapping source" in text


def test_valid_feel_passes_syntax_check() -> None:
    for name in VALID_FILES:
        load(name)


def test_no_executable_process() -> None:
    xml = HEAD + '<bpmn:process id="p" isExecutable="false" /></bpmn:definitions>'
    assert "no executable process" in problems_of(xml)


def test_duplicate_process_id() -> None:
    xml = (
        HEAD
        + '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="S1" /></bpmn:process>'
        + '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="S2" /></bpmn:process>'
        + "</bpmn:definitions>"
    )
    assert "p: duplicate process id 'p'" in problems_of(xml)


def test_not_bpmn() -> None:
    assert "bpmn:definitions" in problems_of("<html><body /></html>")


# Each case: (body, extra definitions, element id expected, text expected in the message)
INVALID = {
    "complex-gateway": (START + '<bpmn:complexGateway id="G" />', "", "G", "bpmn:complexGateway"),
    "transaction": (START + '<bpmn:transaction id="T" />', "", "T", "unsupported element"),
    "signal-catch": (
        START + '<bpmn:intermediateCatchEvent id="C"><bpmn:signalEventDefinition />'
        "</bpmn:intermediateCatchEvent>",
        "",
        "C",
        "'signalEventDefinition' on intermediateCatchEvent",
    ),
    "message-end": (
        START + '<bpmn:endEvent id="M"><bpmn:messageEventDefinition /></bpmn:endEvent>',
        "",
        "M",
        "'messageEventDefinition' on endEvent",
    ),
    "escalation-boundary": (
        START + svc("T") + '<bpmn:boundaryEvent id="B" attachedToRef="T">'
        "<bpmn:escalationEventDefinition /></bpmn:boundaryEvent>",
        "",
        "B",
        "escalationEventDefinition",
    ),
    "link-throw": (
        START + '<bpmn:intermediateThrowEvent id="L"><bpmn:linkEventDefinition name="x" />'
        "</bpmn:intermediateThrowEvent>",
        "",
        "L",
        "linkEventDefinition",
    ),
    "conditional-start": (
        START + '<bpmn:startEvent id="C"><bpmn:conditionalEventDefinition /></bpmn:startEvent>',
        "",
        "C",
        "conditionalEventDefinition",
    ),
    "standard-loop": (
        START + svc("T", inner="<bpmn:standardLoopCharacteristics />"),
        "",
        "T",
        "standardLoopCharacteristics",
    ),
    "send-task-no-type": (START + '<bpmn:sendTask id="T" />', "", "T", "send task has no"),
    "business-rule-no-type": (
        START + '<bpmn:businessRuleTask id="T" />',
        "",
        "T",
        "business rule task has no",
    ),
    "script-no-def": (START + '<bpmn:scriptTask id="T" />', "", "T", "script task has no"),
    "script-static": (
        START + '<bpmn:scriptTask id="T"><bpmn:extensionElements><zeebe:script '
        'expression="1 + 1" resultVariable="x" /></bpmn:extensionElements></bpmn:scriptTask>',
        "",
        "T",
        "script expression must be a FEEL expression",
    ),
    "script-no-result": (
        START + '<bpmn:scriptTask id="T"><bpmn:extensionElements><zeebe:script '
        'expression="=1" /></bpmn:extensionElements></bpmn:scriptTask>',
        "",
        "T",
        "no resultVariable",
    ),
    "static-retries": (
        START + '<bpmn:serviceTask id="T"><bpmn:extensionElements><zeebe:taskDefinition '
        'type="x" retries="many" /></bpmn:extensionElements></bpmn:serviceTask>',
        "",
        "T",
        "job retries 'many' is not an integer",
    ),
    "static-condition": (
        START
        + '<bpmn:exclusiveGateway id="G" />'
        + END
        + seq("F1", "S", "G")
        + seq("F2", "G", "E", "amount &gt; 3"),
        "",
        "F2",
        "must be a FEEL expression starting with '='",
    ),
    "condition-on-task-flow": (
        START + svc("T") + END + seq("F1", "S", "T") + seq("F2", "T", "E", "=true"),
        "",
        "F2",
        "only supported on flows leaving an exclusive or inclusive gateway",
    ),
    "unknown-flow-target": (START + seq("F1", "S", "Nope"), "", "F1", "target 'Nope'"),
    "unknown-flow-source": (END + START + seq("F1", "Nope", "E"), "", "F1", "source 'Nope'"),
    "flow-crosses-scope": (
        START + '<bpmn:subProcess id="Sub"><bpmn:startEvent id="SS" />'
        '<bpmn:endEvent id="SE" /></bpmn:subProcess>' + seq("F1", "S", "SE"),
        "",
        "F1",
        "crosses a scope boundary",
    ),
    "default-not-outgoing": (
        START
        + END
        + '<bpmn:exclusiveGateway id="G" default="F1" />'
        + seq("F1", "S", "G")
        + seq("F2", "G", "E"),
        "",
        "G",
        "default flow 'F1' is not an outgoing flow",
    ),
    "inclusive-default-not-outgoing": (
        START
        + END
        + '<bpmn:inclusiveGateway id="G" default="Fx" />'
        + seq("F1", "S", "G")
        + seq("F2", "G", "E"),
        "",
        "G",
        "default flow 'Fx'",
    ),
    "boundary-without-attached": (
        START
        + '<bpmn:boundaryEvent id="B">'
        + timer_def("timeDuration", "PT1M")
        + "</bpmn:boundaryEvent>"
        + END
        + seq("F1", "B", "E"),
        "",
        "B",
        "no attachedToRef",
    ),
    "boundary-on-gateway": (
        START
        + '<bpmn:parallelGateway id="G" /><bpmn:boundaryEvent id="B" attachedToRef="G">'
        + timer_def("timeDuration", "PT1M")
        + "</bpmn:boundaryEvent>"
        + END
        + seq("F1", "B", "E"),
        "",
        "B",
        "not an activity",
    ),
    "boundary-without-outgoing": (
        START
        + svc("T")
        + '<bpmn:boundaryEvent id="B" attachedToRef="T">'
        + timer_def("timeDuration", "PT1M")
        + "</bpmn:boundaryEvent>",
        "",
        "B",
        "at least one outgoing",
    ),
    "timer-start-duration": (
        '<bpmn:startEvent id="TS">' + timer_def("timeDuration", "PT1M") + "</bpmn:startEvent>",
        "",
        "TS",
        "time duration is not allowed on a timer start event",
    ),
    "timer-catch-cycle": (
        START
        + '<bpmn:intermediateCatchEvent id="C">'
        + timer_def("timeCycle", "R/PT1M")
        + "</bpmn:intermediateCatchEvent>",
        "",
        "C",
        "time cycle is not allowed on a intermediate timer catch event",
    ),
    "interrupting-boundary-cycle": (
        START
        + svc("T")
        + '<bpmn:boundaryEvent id="B" attachedToRef="T">'
        + timer_def("timeCycle", "R/PT1M")
        + "</bpmn:boundaryEvent>"
        + END
        + seq("F", "B", "E"),
        "",
        "B",
        "time cycle is not allowed on a interrupting timer boundary event",
    ),
    "bad-static-duration": (
        START
        + '<bpmn:intermediateCatchEvent id="C">'
        + timer_def("timeDuration", "10 minutes")
        + "</bpmn:intermediateCatchEvent>",
        "",
        "C",
        "invalid timer duration '10 minutes'",
    ),
    "bad-static-date": (
        START
        + '<bpmn:intermediateCatchEvent id="C">'
        + timer_def("timeDate", "tomorrow")
        + "</bpmn:intermediateCatchEvent>",
        "",
        "C",
        "invalid timer date 'tomorrow'",
    ),
    "bad-static-cycle": (
        '<bpmn:startEvent id="TS">' + timer_def("timeCycle", "0 0 25 * * *") + "</bpmn:startEvent>",
        "",
        "TS",
        "invalid timer cycle",
    ),
    "empty-timer": (
        START + '<bpmn:intermediateCatchEvent id="C"><bpmn:timerEventDefinition />'
        "</bpmn:intermediateCatchEvent>",
        "",
        "C",
        "timer event has no timeDate",
    ),
    "duplicate-error-codes-boundary": (
        START + svc("T") + END + '<bpmn:boundaryEvent id="B1" attachedToRef="T">'
        '<bpmn:errorEventDefinition errorRef="Er" />'
        "</bpmn:boundaryEvent>" + '<bpmn:boundaryEvent id="B2" attachedToRef="T">'
        '<bpmn:errorEventDefinition errorRef="Er" />'
        "</bpmn:boundaryEvent>" + seq("F1", "B1", "E") + seq("F2", "B2", "E"),
        '<bpmn:error id="Er" errorCode="OOPS" />',
        "B2",
        "error code 'OOPS'",
    ),
    "two-catch-all-event-subprocesses": (
        START + '<bpmn:subProcess id="ES1" triggeredByEvent="true"><bpmn:startEvent id="ES1S">'
        "<bpmn:errorEventDefinition /></bpmn:startEvent></bpmn:subProcess>"
        + '<bpmn:subProcess id="ES2" triggeredByEvent="true"><bpmn:startEvent id="ES2S">'
        "<bpmn:errorEventDefinition /></bpmn:startEvent></bpmn:subProcess>",
        "",
        "ES2S",
        "catch-all error",
    ),
    "non-interrupting-error-boundary": (
        START + svc("T") + END + '<bpmn:boundaryEvent id="B" cancelActivity="false" '
        'attachedToRef="T"><bpmn:errorEventDefinition /></bpmn:boundaryEvent>' + seq("F", "B", "E"),
        "",
        "B",
        "error boundary event must be interrupting",
    ),
    "error-end-without-code": (
        START + '<bpmn:endEvent id="EE"><bpmn:errorEventDefinition /></bpmn:endEvent>',
        "",
        "EE",
        "error end event has no errorRef",
    ),
    "unknown-error-ref": (
        START + '<bpmn:endEvent id="EE"><bpmn:errorEventDefinition errorRef="Nope" />'
        "</bpmn:endEvent>",
        "",
        "EE",
        "errorRef 'Nope'",
    ),
    "no-start-event": (svc("T"), "", "p", "no none, timer or message start event"),
    "two-none-starts": (START + '<bpmn:startEvent id="S2" />', "", "p", "more than one none"),
    "timer-start-in-subprocess": (
        START
        + '<bpmn:subProcess id="Sub"><bpmn:startEvent id="SS">'
        + timer_def("timeCycle", "R/PT1H")
        + "</bpmn:startEvent></bpmn:subProcess>",
        "",
        "Sub",
        "exactly one none start event",
    ),
    "error-start-at-root": (
        '<bpmn:startEvent id="ES"><bpmn:errorEventDefinition /></bpmn:startEvent>',
        "",
        "ES",
        "only allowed in an event sub-process",
    ),
    "mi-without-input-collection": (
        START + svc("T", inner="<bpmn:multiInstanceLoopCharacteristics />"),
        "",
        "T",
        "multi-instance has no inputCollection",
    ),
    "mi-output-without-element": (
        START
        + svc(
            "T",
            inner="<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>"
            '<zeebe:loopCharacteristics inputCollection="=xs" outputCollection="ys" />'
            "</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>",
        ),
        "",
        "T",
        "both outputCollection and outputElement",
    ),
    "call-activity-without-process": (
        START + '<bpmn:callActivity id="CA" />',
        "",
        "CA",
        "call activity has no zeebe:calledElement processId",
    ),
    "event-subprocess-without-start": (
        START + '<bpmn:subProcess id="ES" triggeredByEvent="true" />',
        "",
        "ES",
        "event sub-process must have exactly one start event",
    ),
    "event-subprocess-none-start": (
        START + '<bpmn:subProcess id="ES" triggeredByEvent="true"><bpmn:startEvent id="ESS" />'
        "</bpmn:subProcess>",
        "",
        "ESS",
        "must be a timer, message or error start",
    ),
    "compensation-boundary-without-handler": (
        START + svc("T") + '<bpmn:boundaryEvent id="CB" attachedToRef="T">'
        "<bpmn:compensateEventDefinition /></bpmn:boundaryEvent>",
        "",
        "CB",
        "no association to a compensation handler",
    ),
    "compensation-handler-not-marked": (
        START + svc("T") + svc("H") + '<bpmn:boundaryEvent id="CB" attachedToRef="T">'
        '<bpmn:compensateEventDefinition /></bpmn:boundaryEvent><bpmn:association id="A" '
        'sourceRef="CB" targetRef="H" />',
        "",
        "CB",
        "isForCompensation",
    ),
    "message-without-correlation-key": (
        START + '<bpmn:intermediateCatchEvent id="C"><bpmn:messageEventDefinition '
        'messageRef="M" /></bpmn:intermediateCatchEvent>',
        '<bpmn:message id="M" name="hello" />',
        "C",
        "no correlation key",
    ),
    "receive-task-without-message": (
        START + '<bpmn:receiveTask id="R" />',
        "",
        "R",
        "message event has no message name",
    ),
    "unknown-message-ref": (
        START + '<bpmn:intermediateCatchEvent id="C"><bpmn:messageEventDefinition '
        'messageRef="Nope" /></bpmn:intermediateCatchEvent>',
        "",
        "C",
        "messageRef 'Nope'",
    ),
    "static-output-source": (
        START + '<bpmn:serviceTask id="T"><bpmn:extensionElements><zeebe:taskDefinition '
        'type="x" /><zeebe:ioMapping><zeebe:output source="abc" target="y" /></zeebe:ioMapping>'
        "</bpmn:extensionElements></bpmn:serviceTask>",
        "",
        "T",
        "output mapping source 'abc'",
    ),
    "user-task-bad-priority": (
        START + '<bpmn:userTask id="U"><bpmn:extensionElements><zeebe:userTask />'
        '<zeebe:priorityDefinition priority="101" /></bpmn:extensionElements></bpmn:userTask>',
        "",
        "U",
        "priority '101'",
    ),
    "user-task-blank-group": (
        START + '<bpmn:userTask id="U"><bpmn:extensionElements><zeebe:userTask />'
        '<zeebe:assignmentDefinition candidateGroups="a,,b" /></bpmn:extensionElements>'
        "</bpmn:userTask>",
        "",
        "U",
        "contains a blank item",
    ),
    "user-task-bad-due-date": (
        START + '<bpmn:userTask id="U"><bpmn:extensionElements><zeebe:userTask />'
        '<zeebe:taskSchedule dueDate="2026-13-01" /></bpmn:extensionElements></bpmn:userTask>',
        "",
        "U",
        "invalid dueDate",
    ),
    "event-gateway-to-task": (
        START
        + '<bpmn:eventBasedGateway id="G" />'
        + svc("T1")
        + svc("T2")
        + seq("F1", "G", "T1")
        + seq("F2", "G", "T2"),
        "",
        "G",
        "must lead to a timer or message intermediate catch event",
    ),
    "start-with-incoming": (
        START + svc("T") + seq("F1", "S", "T") + seq("F2", "T", "S"),
        "",
        "S",
        "start event must not have incoming",
    ),
    "end-with-outgoing": (
        START + END + svc("T") + seq("F1", "S", "E") + seq("F2", "E", "T"),
        "",
        "E",
        "end event must not have outgoing",
    ),
    "duplicate-element-id": (START + svc("S"), "", "S", "duplicate element id 'S'"),
    "compensation-activity-ref-unknown": (
        START + '<bpmn:intermediateThrowEvent id="CT"><bpmn:compensateEventDefinition '
        'activityRef="Nope" /></bpmn:intermediateThrowEvent>',
        "",
        "CT",
        "activityRef 'Nope'",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_validation_problem(case: str) -> None:
    body, defs, element_id, expected = INVALID[case]
    with pytest.raises(BpmnValidationError) as info:
        parse_bpmn(doc(body, defs))
    matching = [p for p in info.value.problems if p.element_id == element_id]
    assert matching, f"no problem for {element_id}: {info.value}"
    assert any(expected in p.message for p in matching), str(info.value)
    assert f"{element_id}: " in str(info.value)


def test_all_problems_collected() -> None:
    body = (
        START
        + '<bpmn:serviceTask id="T1" /><bpmn:serviceTask id="T2" />'
        + '<bpmn:complexGateway id="G" />'
    )
    with pytest.raises(BpmnValidationError) as info:
        parse_bpmn(doc(body))
    ids = [p.element_id for p in info.value.problems]
    assert {"T1", "T2", "G"} <= set(ids)
    assert len(str(info.value).splitlines()) == len(info.value.problems)


def test_message_start_correlation_key_optional_and_event_subprocess_start_requires_it() -> None:
    defs = '<bpmn:message id="M" name="go" />'
    ok = '<bpmn:startEvent id="MS"><bpmn:messageEventDefinition messageRef="M" /></bpmn:startEvent>'
    assert parse_bpmn(doc(ok, defs))[0].start_events == ["MS"]
    bad = (
        START + '<bpmn:subProcess id="ES" triggeredByEvent="true"><bpmn:startEvent id="ESS">'
        '<bpmn:messageEventDefinition messageRef="M" /></bpmn:startEvent></bpmn:subProcess>'
    )
    assert "ESS: message subscription has no correlation key" in problems_of(doc(bad, defs))


@pytest.mark.parametrize(
    ("cancel", "kind", "ok"),
    [
        ("true", "timeDate", True),
        ("true", "timeDuration", True),
        ("true", "timeCycle", False),
        ("false", "timeCycle", True),
        ("false", "timeDuration", True),
    ],
)
def test_boundary_timer_kinds(cancel: str, kind: str, ok: bool) -> None:
    value = {"timeDate": "2030-01-01T00:00:00Z", "timeDuration": "PT5M", "timeCycle": "R2/PT1M"}
    body = (
        START
        + svc("T")
        + END
        + f'<bpmn:boundaryEvent id="B" cancelActivity="{cancel}" attachedToRef="T">'
        + timer_def(kind, value[kind])
        + "</bpmn:boundaryEvent>"
        + seq("F", "B", "E")
    )
    if ok:
        parse_bpmn(doc(body))
    else:
        assert "B: time cycle is not allowed" in problems_of(doc(body))


def test_feel_timer_values_are_not_statically_parsed() -> None:
    body = (
        START
        + '<bpmn:intermediateCatchEvent id="C">'
        + timer_def("timeDuration", "=wait")
        + "</bpmn:intermediateCatchEvent>"
    )
    (model,) = parse_bpmn(doc(body))
    assert model.elements["C"].event.timer_expr == "=wait"  # type: ignore[union-attr]
