"""The processor table covers every element kind; runtime state reads and writes the JSON the
engine has always stored in ``ElementInstance.data``."""

from __future__ import annotations

import pytest

from processes.engine.bpmn import FLOW_NODE_KINDS, ElementKind
from processes.engine.processors import PROCESSORS
from processes.engine.state import RuntimeState


def test_every_element_kind_has_a_processor() -> None:
    assert set(PROCESSORS) == set(ElementKind) == set(FLOW_NODE_KINDS)


def test_element_kinds_are_the_stored_kind_strings() -> None:
    assert ElementKind("serviceTask") is ElementKind.SERVICE_TASK
    assert ElementKind.EVENT_BASED_GATEWAY == "eventBasedGateway"


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"waits": ["job", "incident"], "payload": {"x": 1}},
        {"joins": {"Join": {"f1": 1}}, "interrupted": True},
        {"mi_inner": True, "index": 0},
        {"items": [], "created": 0, "completed": 0, "terminated": 0},
        {"items": [1, 2], "created": 2, "completed": 1, "terminated": 1},
        {"compensation_throw": 42, "compensation_pending": 2, "child": 7},
        {"esp_payload": {"a": 1}, "esp_error": True},
        {"message_start_key": "SO-1", "to_parent": {"variables": {"done": 1}}},
        {"compensable": [{"activity": "A", "handler": "H", "instance": 1, "chain": [1]}]},
    ],
)
def test_runtime_state_round_trips_stored_data(stored: dict) -> None:
    state = RuntimeState.from_json(stored)
    again = state.to_json()
    defaults = RuntimeState()
    for key, value in stored.items():
        # a key left out is one whose stored value is the default
        assert (again[key] == value) if key in again else (getattr(defaults, key) == value)
    assert set(again) <= set(stored)
    assert RuntimeState.from_json(again) == state


def test_popping_a_field_leaves_its_default() -> None:
    state = RuntimeState(joins={"J": {"f": 1}}, to_parent={"variables": {}})
    assert state.pop("joins") == {"J": {"f": 1}}
    assert state.pop("to_parent") == {"variables": {}}
    assert state.joins == {} and state.to_parent is None
    assert state.to_json() == {}
