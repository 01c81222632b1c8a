"""The server-side SVG diagram: shapes from DI, highlights from the overlay."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from processes.diagram import Overlay, describe, heat, render_svg
from processes.engine.bpmn import parse_bpmn

FIXTURES = Path(__file__).parent / "engine" / "bpmn"
SVG = "{http://www.w3.org/2000/svg}"


def model(name: str):
    return parse_bpmn((FIXTURES / name).read_bytes(), name)[0]


def groups(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("data-element-id"): g for g in root.iter(f"{SVG}a")}


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for p in FIXTURES.glob("*.bpmn")
        if p.name
        not in {
            "malformed.bpmn",
            "unknown-element.bpmn",
            "missing-job-type.bpmn",
            "feel-syntax-error.bpmn",
        }
    ),
)
def test_every_shape_and_flow_is_drawn(name):
    m = model(name)
    svg = render_svg(m)
    drawn = groups(svg)
    assert set(drawn) == {el for el in m.elements if el in m.diagram.shapes}
    flows = {g.get("data-flow-id") for g in ET.fromstring(svg).iter(f"{SVG}g")} - {None}
    assert flows == {f for f in m.flows if f in m.diagram.edges}


def test_overlay_marks_active_completed_taken_and_incidents():
    m = model("service-tasks-in-row.bpmn")
    first_flow = next(iter(m.flows))
    svg = render_svg(
        m,
        Overlay(
            active={"ServiceTask_2": 3},
            completed={"StartEvent_1", "ServiceTask_1"},
            taken_flows={first_flow},
            incidents={"ServiceTask_2": 1},
        ),
    )
    drawn = groups(svg)
    assert "active" in drawn["ServiceTask_2"].get("class")
    assert "incident" in drawn["ServiceTask_2"].get("class")
    assert "completed" in drawn["ServiceTask_1"].get("class")
    assert "active" not in drawn["ServiceTask_1"].get("class")
    title = drawn["ServiceTask_2"].find(f"{SVG}title").text
    assert "3 active" in title and "1 incident" in title
    assert f'data-flow-id="{first_flow}"' in svg and 'class="flow taken"' in svg


def test_names_are_escaped():
    m = model("service-tasks-in-row.bpmn")
    m.elements["ServiceTask_1"].name = "<script>alert(1)</script>"
    svg = render_svg(m)
    assert "<script>" not in svg
    ET.fromstring(svg)  # still well-formed


def test_describe_and_heat():
    m = model("timer-boundary.bpmn")
    boundary = next(el for el in m.elements.values() if el.kind == "boundaryEvent")
    assert "boundary event" in describe(boundary).lower()
    assert heat(0, 10) == 0.0
    assert heat(10, 10) == pytest.approx(1.0)
    assert 0 < heat(1, 10) < heat(5, 10) < 1


def test_flows_end_on_the_target_outline_not_inside_it():
    m = model("parallel-gateway.bpmn")
    root = ET.fromstring(render_svg(m))
    for g in root.iter(f"{SVG}g"):
        flow_id = g.get("data-flow-id")
        if not flow_id:
            continue
        points = g.find(f"{SVG}polyline").get("points").split()
        x, y = (float(v) for v in points[-1].split(","))
        shape = m.diagram.shapes[m.flows[flow_id].target]
        inside = shape.x + 1 < x < shape.x + shape.width - 1 and (
            shape.y + 1 < y < shape.y + shape.height - 1
        )
        kind = m.elements[m.flows[flow_id].target].kind
        if kind.endswith("Task"):
            assert not inside, flow_id
