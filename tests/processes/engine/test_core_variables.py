"""Core conformance: input/output mappings and variable propagation.

https://docs.camunda.io/docs/components/concepts/variables/
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_input_mapped_local_captures_job_result_of_same_name(process):
    # input "=x → x", job completes {x: 2}, no output mapping → the root keeps x = 1
    process.deploy("core-io-mapping-capture.bpmn")
    instance = process.start("core-io-mapping-capture", {"x": 1})

    process.complete_job("recount", {"x": 2, "y": 3})

    instance.is_completed().has_variables(x=1, y=3)


def test_input_mappings_in_order_static_source_and_dotted_target(process):
    # given
    process.deploy("core-io-mapping-outputs.bpmn")
    process.start("core-io-mapping-outputs", {"order": {"id": 41, "total": 9.5}})

    # when
    activated = process.activate_job("quote")

    # then
    assert activated.variables["orderId"] == 41
    assert activated.variables["note"] == "static text"
    assert activated.variables["nextId"] == 42
    assert activated.variables["customer"] == {"total": 9.5}


def test_output_mappings_move_only_mapped_values_and_see_earlier_targets(process):
    # the payload is local; only mapping results propagate
    process.deploy("core-io-mapping-outputs.bpmn")
    instance = process.start("core-io-mapping-outputs", {"order": {"id": 41, "total": 9.5}})

    process.complete_job("quote", {"price": 21, "junk": True})

    instance.is_completed().has_variables(doubled=42, doubledPlusOne=43)
    instance.has_no_variable("price", "junk", "orderId", "note", "customer")


def test_propagation_writes_to_nearest_scope_holding_the_name_else_root(process):
    # root {a:1}, sub-process {c:2}, task completes {a:5, c:7, d:0}
    process.deploy("core-propagation.bpmn")
    instance = process.start("core-propagation", {"a": 1})

    process.complete_job("work", {"a": 5, "c": 7, "d": 0})

    instance.has_variables(a=5, d=0).has_no_variable("c")
    assert instance.local_variables("Sub") == {"c": 7}
    process.complete_job("hold")
    instance.is_completed().has_no_variable("c")


def test_set_variables_propagates_from_element_scope_or_writes_locally(process):
    process.deploy("core-propagation.bpmn")
    instance = process.start("core-propagation", {"a": 1})

    process.set_variables(instance, {"c": 10, "e": 1}, element_id="Sub")
    process.set_variables(instance, {"f": 2}, element_id="Work", local=True)

    assert instance.local_variables("Sub") == {"c": 10}
    assert instance.local_variables("Work") == {"f": 2}
    instance.has_variables(a=1, e=1).has_no_variable("f")
