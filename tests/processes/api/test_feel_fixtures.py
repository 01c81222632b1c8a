"""The Zeebe-dialect fixtures with FEEL expressions, driven only through the REST API."""

from __future__ import annotations

import pytest

from .conftest import BPMN_DIR, EngineClient, service_process

pytestmark = pytest.mark.django_db


def test_service_tasks_in_row_with_mappings(api: EngineClient) -> None:
    api.deploy_ok(
        "service-tasks-in-row.bpmn", (BPMN_DIR / "service-tasks-in-row.bpmn").read_bytes()
    )
    key = api.start(
        "service-tasks-in-row", {"order": {"id": "A1"}, "paymentMethod": "card", "retries": 2}
    )
    (reserve,) = api.activate("reserve-inventory")
    assert reserve["variables"]["orderId"] == "A1"
    assert reserve["variables"]["note"] == "static text"
    assert reserve["retries"] == 5
    assert reserve["customHeaders"] == {"warehouse": "main", "priority": "high"}
    done = api.post(
        f"jobs/{reserve['jobKey']}/completion", {"variables": {"reservation": {"id": "R9"}}}
    )
    assert done.status_code == 204
    (charge,) = api.activate("charge-card")
    assert charge["retries"] == 2
    (variable,) = api.search(
        "variables", {"filter": {"processInstanceKey": key, "name": "reservationId"}}
    )["items"]
    assert variable["value"] == '"R9"'
    api.post(f"jobs/{charge['jobKey']}/completion")
    instance = api.get(f"process-instances/{key}").json()
    assert instance["state"] == "COMPLETED"
    assert instance["processDefinitionVersionTag"] == "v1.0"
    assert instance["processDefinitionName"] == "Service tasks in a row"


def test_user_task_fixture(api: EngineClient) -> None:
    api.deploy_ok("user-task.bpmn", (BPMN_DIR / "user-task.bpmn").read_bytes())
    key = api.start("user-task", {"reviewer": "ann"})
    (task,) = api.search("user-tasks", {"filter": {"processInstanceKey": key}})["items"]
    assert task["assignee"] == "ann"
    assert task["candidateGroups"] == ["support", "managers"]
    assert task["candidateUsers"] == ["ann", "bob"]
    assert task["followUpDate"] == "2026-03-01T09:00:00.000Z"
    assert task["dueDate"] is not None
    assert task["priority"] == 75
    assert task["externalFormReference"] == "return-review"
    assert task["customHeaders"] == {"queue": "returns"}
    found = api.search("user-tasks", {"filter": {"candidateUser": "bob", "assignee": "ann"}})
    assert found["page"]["totalItems"] == 1
    api.post(f"user-tasks/{task['userTaskKey']}/completion", {"variables": {"approved": True}})
    # A user task without <zeebe:userTask/> is a job for a task worker (job worker
    # implementation: https://docs.camunda.io/docs/components/modeler/bpmn/user-tasks/).
    assert (
        api.search("user-tasks", {"filter": {"processInstanceKey": key, "state": "CREATED"}})[
            "items"
        ]
        == []
    )
    (legacy,) = api.activate("io.camunda.zeebe:userTask")
    assert legacy["elementId"] == "Task_legacy"
    assert legacy["customHeaders"]["io.camunda.zeebe:assignee"] == "demo"
    assert legacy["customHeaders"]["io.camunda.zeebe:formKey"] == "camunda-forms:bpmn:Form_1"
    assert api.post(f"jobs/{legacy['jobKey']}/completion").status_code == 204
    (approved,) = api.search(
        "variables", {"filter": {"processInstanceKey": key, "name": "reviewApproved"}}
    )["items"]
    assert approved["value"] == "true"


def test_message_catch_fixture_with_feel_correlation(api: EngineClient) -> None:
    api.deploy_ok("message-catch.bpmn", (BPMN_DIR / "message-catch.bpmn").read_bytes())
    key = api.start("message-catch", {"orderId": "A1", "orderNumber": 7, "region": "eu"})
    first = api.post("messages/correlation", {"name": "vendor-confirmed", "correlationKey": "A1"})
    assert first.status_code == 200
    assert first.json()["processInstanceKey"] == key
    api.post("messages/publication", {"name": "tracking-received", "correlationKey": "A1"})
    (job,) = api.activate("await-delivery")
    assert job["processInstanceKey"] == key
    cancel = api.post("messages/correlation", {"name": "cancel-eu", "correlationKey": "7"})
    assert cancel.status_code == 200
    instance = api.get(f"process-instances/{key}").json()
    assert instance["state"] == "COMPLETED"
    assert api.post(f"jobs/{job['jobKey']}/completion").status_code == 404


def test_retries_left_and_error_hash_filters(api: EngineClient) -> None:
    from processes.api.resources import java_hash

    api.deploy_ok("work.bpmn", service_process())
    broken, fine = api.start("work"), api.start("work")
    jobs = {job["processInstanceKey"]: job for job in api.activate("work")}
    api.post(f"jobs/{jobs[broken]['jobKey']}/failure", {"retries": 0, "errorMessage": "down"})

    def keys(flt: dict) -> list[str]:
        result = api.search("process-instances", {"filter": flt})
        return [item["processInstanceKey"] for item in result["items"]]

    assert keys({"hasRetriesLeft": False}) == [broken]
    assert keys({"hasRetriesLeft": True}) == [fine]
    assert keys({"incidentErrorHashCode": java_hash("down")}) == [broken]
    assert keys({"hasIncident": True}) == [broken]
    assert keys({"errorMessage": "down"}) == [broken]
    assert keys({"hasElementInstanceIncident": True}) == [broken]
