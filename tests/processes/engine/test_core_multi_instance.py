"""Core conformance: multi-instance activities. https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/"""

from __future__ import annotations

import pytest

from processes.engine import service

pytestmark = pytest.mark.django_db


def _price_by_item(activated):
    return {"price": activated.variables["item"] * 10}


def test_parallel_multi_instance_collects_output_in_input_order(process):
    # given
    process.deploy("core-mi-parallel.bpmn")
    instance = process.start("core-mi-parallel", {"items": [1, 2, 3]})
    jobs = instance.jobs("price")
    assert len(jobs) == 3

    # when
    for _job in jobs:
        activated = process.activate_job("price")
        assert activated.variables["loopCounter"] in (1, 2, 3)
        process.complete_job("price", _price_by_item(activated))

    # then
    instance.is_completed().has_variables(prices=[10, 20, 30])
    instance.has_passed("Price", times=3).has_no_variable("item", "loopCounter", "price")


def test_parallel_multi_instance_output_order_matches_input_when_completed_backwards(process):
    process.deploy("core-mi-parallel.bpmn")
    instance = process.start("core-mi-parallel", {"items": [1, 2, 3]})

    activated = service.activate_jobs("price", max_jobs=10)
    for job in sorted(activated, key=lambda a: -a.variables["loopCounter"]):
        service.complete_job(job.job.key, {"price": job.variables["item"] * 10})

    instance.is_completed().has_variables(prices=[10, 20, 30])


def test_sequential_multi_instance_runs_one_at_a_time(process):
    process.deploy("core-mi-sequential.bpmn")
    instance = process.start("core-mi-sequential", {"items": [4, 5]})

    assert len(instance.jobs("price")) == 1
    first = process.activate_job("price")
    assert (first.variables["item"], first.variables["loopCounter"]) == (4, 1)
    process.complete_job("price", _price_by_item(first))
    second = process.activate_job("price")
    assert (second.variables["item"], second.variables["loopCounter"]) == (5, 2)
    process.complete_job("price", _price_by_item(second))

    instance.is_completed().has_variables(prices=[40, 50])


def test_completion_condition_terminates_remaining_instances(process):
    process.deploy("core-mi-completion.bpmn")
    instance = process.start("core-mi-completion", {"items": [1, 2, 3, 4]})

    process.complete_job("price", {"price": "a"})
    instance.is_active()
    process.complete_job("price", {"price": "b"})

    instance.is_completed().has_passed("Price", times=2)
    assert [j.state for j in instance.jobs("price")].count("CANCELED") == 2
    assert instance.variables["prices"][:2] == ["a", "b"]
    assert instance.variables["prices"][2:] == [None, None]


def test_empty_collection_completes_at_once_with_empty_output(process):
    process.deploy("core-mi-parallel.bpmn")

    instance = process.start("core-mi-parallel", {"items": []})

    instance.is_completed().has_variables(prices=[]).has_not_passed("Price")


def test_input_collection_not_a_list_is_an_incident(process):
    process.deploy("core-mi-parallel.bpmn")

    instance = process.start("core-mi-parallel", {"items": "nope"})

    instance.has_incident("EXTRACT_VALUE_ERROR", "Price")
    process.set_variables(instance, {"items": [7]})
    process.resolve_incident(instance)
    process.mock_job("price", _price_by_item)
    instance.is_completed().has_variables(prices=[70])


def test_mock_job_with_callable_answers_per_item(process):
    process.deploy("core-mi-parallel.bpmn")
    process.mock_job("price", _price_by_item)

    instance = process.start("core-mi-parallel", {"items": [1, 2]})

    instance.is_completed().has_variables(prices=[10, 20])
