"""BPMN diagrams drawn as SVG on the server, from the file's diagram interchange (DI) data.

Shapes and edges sit where Camunda Modeler put them. An ``Overlay`` says what to highlight:
active elements with their token counts, completed elements and taken flows (the path so far),
elements with incidents, or per-element counts for a heat map of many instances. Every element
is a focusable group with a ``<title>`` (shown on hover) and links to ``#element-<id>`` so a
page can show its details next to the diagram.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from .engine.bpmn import Element, ElementKind, ProcessModel

TASK_KINDS = {
    ElementKind.SERVICE_TASK,
    ElementKind.SEND_TASK,
    ElementKind.BUSINESS_RULE_TASK,
    ElementKind.SCRIPT_TASK,
    ElementKind.USER_TASK,
    ElementKind.RECEIVE_TASK,
    ElementKind.MANUAL_TASK,
    ElementKind.TASK,
    ElementKind.CALL_ACTIVITY,
}
_INTERMEDIATE_KINDS = frozenset(
    {
        ElementKind.INTERMEDIATE_CATCH_EVENT,
        ElementKind.INTERMEDIATE_THROW_EVENT,
        ElementKind.BOUNDARY_EVENT,
    }
)
GATEWAY_MARKERS = {
    ElementKind.EXCLUSIVE_GATEWAY: "×",  # noqa: RUF001 (the BPMN marker glyph)
    ElementKind.PARALLEL_GATEWAY: "+",
    ElementKind.INCLUSIVE_GATEWAY: "○",
    ElementKind.EVENT_BASED_GATEWAY: "⬠",
}
TASK_ICONS = {
    ElementKind.SERVICE_TASK: "⚙",
    ElementKind.SEND_TASK: "✉",
    ElementKind.BUSINESS_RULE_TASK: "▦",
    ElementKind.SCRIPT_TASK: "✎",
    ElementKind.RECEIVE_TASK: "✉",
    ElementKind.MANUAL_TASK: "✋",
    ElementKind.CALL_ACTIVITY: "⊞",
}
EVENT_ICONS = {
    "timer": "◷",
    "message": "✉",
    "error": "⚡",
    "terminate": "●",
    "compensation": "⏪",
}
KIND_LABELS = {
    ElementKind.START_EVENT: "Start event",
    ElementKind.END_EVENT: "End event",
    ElementKind.INTERMEDIATE_CATCH_EVENT: "Intermediate catch event",
    ElementKind.INTERMEDIATE_THROW_EVENT: "Intermediate throw event",
    ElementKind.BOUNDARY_EVENT: "Boundary event",
    ElementKind.SERVICE_TASK: "Service task",
    ElementKind.SEND_TASK: "Send task",
    ElementKind.BUSINESS_RULE_TASK: "Business rule task",
    ElementKind.SCRIPT_TASK: "Script task",
    ElementKind.USER_TASK: "User task",
    ElementKind.RECEIVE_TASK: "Receive task",
    ElementKind.MANUAL_TASK: "Manual task",
    ElementKind.TASK: "Task",
    ElementKind.EXCLUSIVE_GATEWAY: "Exclusive gateway",
    ElementKind.PARALLEL_GATEWAY: "Parallel gateway",
    ElementKind.INCLUSIVE_GATEWAY: "Inclusive gateway",
    ElementKind.EVENT_BASED_GATEWAY: "Event-based gateway",
    ElementKind.SUB_PROCESS: "Sub-process",
    ElementKind.CALL_ACTIVITY: "Call activity",
}


@dataclass
class Overlay:
    """What to highlight on a diagram."""

    active: dict[str, int] = field(default_factory=dict)  # element id -> active instances
    completed: set[str] = field(default_factory=set)
    taken_flows: set[str] = field(default_factory=set)
    incidents: dict[str, int] = field(default_factory=dict)  # element id -> open incidents
    notes: dict[str, str] = field(default_factory=dict)  # element id -> extra hover text
    heat: dict[str, float] = field(default_factory=dict)  # element id -> 0..1 (heat map)


def describe(el: Element) -> str:
    """The element's kind in words, e.g. 'Timer boundary event (non-interrupting)'."""
    label = KIND_LABELS.get(el.kind, el.kind)
    if el.kind == ElementKind.SUB_PROCESS and el.triggered_by_event:
        label = "Event sub-process"
    if el.event is not None:
        label = f"{el.event.type.capitalize()} {label[0].lower()}{label[1:]}"
    if el.kind == ElementKind.BOUNDARY_EVENT and not el.cancel_activity:
        label += " (non-interrupting)"
    if el.loop is not None:
        label += " (sequential multi-instance)" if el.loop.sequential else " (multi-instance)"
    return label


def render_svg(model: ProcessModel, overlay: Overlay | None = None, *, title: str = "") -> str:
    """The whole diagram as one ``<svg>`` element (no scripts; styled by classes)."""
    overlay = overlay or Overlay()
    shapes = model.diagram.shapes
    edges = model.diagram.edges
    if not shapes:
        return '<p class="empty">This process file has no diagram.</p>'
    xs, ys = [], []
    for shape in shapes.values():
        xs += [shape.x, shape.x + shape.width]
        ys += [shape.y, shape.y + shape.height + 30]
    for edge in edges.values():
        for x, y in edge.waypoints:
            xs.append(x)
            ys.append(y)
    pad = 30
    min_x, min_y = min(xs) - pad, min(ys) - pad
    width, height = max(xs) - min_x + pad, max(ys) - min_y + pad
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" role="img" '
        f'viewBox="{min_x:.0f} {min_y:.0f} {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" aria-label="{escape(title or model.id)}">',
        "<defs>" + _marker("arrow", "#22242a") + _marker("arrow-taken", "#2e7d4f") + "</defs>",
    ]
    # Containers first so that their children are drawn on top.
    ordered = sorted(
        (el for el in model.elements.values() if el.id in shapes),
        key=lambda el: (
            0
            if el.kind == ElementKind.SUB_PROCESS
            else 1
            if el.kind != ElementKind.BOUNDARY_EVENT
            else 2
        ),
    )
    for el in ordered:
        if el.kind == ElementKind.SUB_PROCESS:
            parts.append(_element(el, model, overlay))
    for flow_id, flow in model.flows.items():
        flow_edge = edges.get(flow_id)
        if flow_edge is None or len(flow_edge.waypoints) < 2:
            continue
        taken = flow_id in overlay.taken_flows
        waypoints = _clip_to_target(
            flow_edge.waypoints, shapes.get(flow.target), model, flow.target
        )
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in waypoints)
        marker = "arrow-taken" if taken else "arrow"
        css = "flow taken" if taken else "flow"
        name = escape(flow.name or "")
        cond = escape(flow.condition or "")
        tooltip = " ".join(filter(None, [name, cond])) or flow_id
        parts.append(
            f'<g class="{css}" data-flow-id="{escape(flow_id)}"><title>{tooltip}</title>'
            f'<polyline points="{points}" marker-end="url(#{marker})"/></g>'
        )
        if flow.name and flow_edge.label:
            lb = flow_edge.label
            parts.append(_text(flow.name, lb.x + lb.width / 2, lb.y + 10, "flow-label"))
    for _association_id, _source, _target in model.associations:
        association_edge = edges.get(_association_id)
        if association_edge and len(association_edge.waypoints) >= 2:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in association_edge.waypoints)
            parts.append(f'<polyline class="association" points="{points}"/>')
    for el in ordered:
        if el.kind != ElementKind.SUB_PROCESS:
            parts.append(_element(el, model, overlay))
    parts.append("</svg>")
    return "".join(parts)


def _element(el: Element, model: ProcessModel, overlay: Overlay) -> str:
    shape = model.diagram.shapes[el.id]
    x, y, w, h = shape.x, shape.y, shape.width, shape.height
    classes = ["el", el.kind]
    active = overlay.active.get(el.id, 0)
    incidents = overlay.incidents.get(el.id, 0)
    if active:
        classes.append("active")
    if el.id in overlay.completed:
        classes.append("completed")
    if incidents:
        classes.append("incident")
    name = el.name or ""
    tooltip = [f"{name or el.id} — {describe(el)}"]
    if active:
        tooltip.append(f"{active} active")
    if incidents:
        tooltip.append(f"{incidents} incident{'s' if incidents != 1 else ''}")
    if el.id in overlay.notes:
        tooltip.append(overlay.notes[el.id])
    body: list[str] = []
    if overlay.heat.get(el.id):
        body.append(
            f'<rect class="heat" x="{x - 6}" y="{y - 6}" width="{w + 12}" height="{h + 12}" '
            f'rx="14" fill-opacity="{overlay.heat[el.id]:.2f}"/>'
        )
    if el.kind in TASK_KINDS or el.kind == ElementKind.SUB_PROCESS:
        dashed = ' stroke-dasharray="4 3"' if el.triggered_by_event else ""
        body.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10"{dashed}/>')
        if el.kind == ElementKind.CALL_ACTIVITY:
            body.append(f'<rect x="{x + 3}" y="{y + 3}" width="{w - 6}" height="{h - 6}" rx="8"/>')
        icon = TASK_ICONS.get(el.kind)
        if el.kind == ElementKind.USER_TASK:
            body.append(
                f'<g class="glyph"><circle cx="{x + 12}" cy="{y + 11}" r="3.5"/>'
                f'<path d="M{x + 5},{y + 24} q0,-8 7,-8 q7,0 7,8"/></g>'
            )
        if icon:
            body.append(_text(icon, x + 12, y + 16, "icon"))
        if el.kind == ElementKind.SUB_PROCESS:
            body.append(_text(name, x + w / 2, y + 16, "label"))
        else:
            body.extend(_wrapped(name, x + w / 2, y + h / 2, w - 10))
        if el.loop is not None:
            mark = "≡" if el.loop.sequential else "|||"
            body.append(_text(mark, x + w / 2, y + h - 6, "icon"))
    elif el.kind in GATEWAY_MARKERS:
        cx, cy = x + w / 2, y + h / 2
        body.append(
            f'<polygon points="{cx},{y} {x + w},{cy} {cx},{y + h} {x},{cy}"/>'
            + _text(GATEWAY_MARKERS[el.kind], cx, cy + 6, "marker")
        )
    else:
        cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
        css = "event-end" if el.kind == ElementKind.END_EVENT else "event"
        dashed = ' stroke-dasharray="4 3"' if not el.cancel_activity else ""
        body.append(f'<circle class="{css}" cx="{cx}" cy="{cy}" r="{r}"{dashed}/>')
        if el.kind in (
            ElementKind.INTERMEDIATE_CATCH_EVENT,
            ElementKind.INTERMEDIATE_THROW_EVENT,
            ElementKind.BOUNDARY_EVENT,
        ):
            body.append(f'<circle class="inner" cx="{cx}" cy="{cy}" r="{max(r - 3, 1)}"{dashed}/>')
        if el.event is not None:
            body.append(_text(EVENT_ICONS.get(el.event.type, "?"), cx, cy + 5, "icon"))
    if name and el.kind not in TASK_KINDS and el.kind != ElementKind.SUB_PROCESS:
        label = shape.label
        if label is not None:
            body.extend(
                _wrapped(name, label.x + label.width / 2, label.y + 8, max(label.width, 90))
            )
        else:
            body.extend(_wrapped(name, x + w / 2, y + h + 14, 100))
    if active:
        body.append(_badge(x + w - 2, y + h - 2, str(active), "badge-active"))
    if incidents:
        body.append(_badge(x + w - 2, y + 2, str(incidents), "badge-incident"))
    return (
        f'<a href="#element-{escape(el.id)}" class="{" ".join(classes)}" '
        f'data-element-id="{escape(el.id)}"><title>{escape(" · ".join(tooltip))}</title>'
        + "".join(body)
        + "</a>"
    )


def _clip_to_target(
    waypoints: list[tuple[float, float]], shape, model: ProcessModel, target_id: str
) -> list[tuple[float, float]]:
    """End the flow on the target's outline when the file's last waypoint lies inside it.

    Camunda Modeler ends flows on the outline; hand-made files often aim at the centre, which
    would hide the arrowhead under the shape.
    """
    if shape is None or len(waypoints) < 2:
        return waypoints
    (x0, y0), (x1, y1) = waypoints[-2], waypoints[-1]
    x, y, w, h = shape.x, shape.y, shape.width, shape.height
    if not (x < x1 < x + w and y < y1 < y + h):
        return waypoints
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    if length == 0:
        return waypoints
    el = model.elements.get(target_id)
    cx, cy = x + w / 2, y + h / 2
    if el is not None and el.kind in GATEWAY_MARKERS:
        # Diamond |px-cx|/(w/2) + |py-cy|/(h/2) = 1 along the segment's direction.
        ux, uy = dx / length, dy / length
        denom = abs(ux) / (w / 2) + abs(uy) / (h / 2)
        t = 1 / denom if denom else 0
        end = (cx - ux * t, cy - uy * t)
    elif el is not None and el.kind.endswith("Event"):
        r = min(w, h) / 2
        end = (cx - dx / length * r, cy - dy / length * r)
    else:
        # Walk back from the end to the rectangle's border.
        ts = []
        if dx:
            ts += [(x - x0) / dx, (x + w - x0) / dx]
        if dy:
            ts += [(y - y0) / dy, (y + h - y0) / dy]
        inside = [t for t in ts if 0 <= t <= 1]
        if not inside:
            return waypoints
        t = min(inside)
        end = (x0 + dx * t, y0 + dy * t)
    return [*waypoints[:-1], end]


def _marker(marker_id: str, colour: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" '
        'markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def _badge(x: float, y: float, text: str, css: str) -> str:
    r = 9 + 3 * max(len(text) - 1, 0)
    return (
        f'<g class="{css}"><circle cx="{x}" cy="{y}" r="{r}"/>'
        f'<text x="{x}" y="{y + 4}" text-anchor="middle">{escape(text)}</text></g>'
    )


def _text(text: str, x: float, y: float, css: str) -> str:
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{escape(text)}</text>'


def _wrapped(text: str, cx: float, cy: float, width: float) -> list[str]:
    """Centre ``text`` on (cx, cy) in lines that fit ``width`` (about 6.5 px per character)."""
    if not text:
        return []
    per_line = max(int(width / 6.5), 6)
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    lines = lines[:4]
    top = cy - (len(lines) - 1) * 7
    return [_text(line, cx, top + i * 14 + 4, "label") for i, line in enumerate(lines)]


def heat(count: int, maximum: int) -> float:
    """0..1 intensity for a heat-map count (log scale, so a few stand out from none)."""
    if count <= 0 or maximum <= 0:
        return 0.0
    return math.log1p(count) / math.log1p(maximum)
