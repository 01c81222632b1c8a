"""User tasks, incidents, element instances and variables through the REST API."""

from __future__ import annotations

import pytest

from .conftest import EngineClient, service_process, user_task_process

pytestmark = pytest.mark.django_db


def _task(api: EngineClient, instance_key: str) -> dict:
    (task,) = api.search("user-tasks", {"filter": {"processInstanceKey": instance_key}})["items"]
    return task


# ---------------------------------------------------------------------- user tasks
def test_user_task_shape_and_get(api: EngineClient) -> None:
    api.deploy_ok("approval.bpmn", user_task_process())
    key = api.start("approval")
    task = _task(api, key)
    assert task["name"] == "Approve"
    assert task["state"] == "CREATED"
    assert task["candidateGroups"] == ["sales", "managers"]
    assert task["candidateUsers"] == []
    assert task["priority"] == 70
    assert task["formKey"] is None
    assert task["externalFormReference"] == "approval-form"
    assert task["elementId"] == "approve"
    assert task["processDefinitionId"] == "approval"
    assert task["tenantId"] == "<default>"
    assert task["creationDate"].endswith("Z")
    assert api.get(f"user-tasks/{task['userTaskKey']}").json() == task
    assert api.get("user-tasks/42").status_code == 404
    assert api.get("user-tasks/x").status_code == 400


def test_user_task_assign_unassign_update_complete(api: EngineClient) -> None:
    api.deploy_ok("approval.bpmn", user_task_process())
    key = api.start("approval")
    task_key = _task(api, key)["userTaskKey"]
    missing = api.post(f"user-tasks/{task_key}/assignment", {})
    assert missing.status_code == 400
    assert missing.json()["detail"] == "No assignee provided."
    assert api.post(f"user-tasks/{task_key}/assignment", {"assignee": "ann"}).status_code == 204
    assert api.get(f"user-tasks/{task_key}").json()["assignee"] == "ann"
    refused = api.post(
        f"user-tasks/{task_key}/assignment", {"assignee": "bob", "allowOverride": False}
    )
    assert refused.status_code == 409
    override = api.post(f"user-tasks/{task_key}/assignment", {"assignee": "bob"})
    assert override.status_code == 204
    assert api.delete(f"user-tasks/{task_key}/assignee").status_code == 204
    assert api.get(f"user-tasks/{task_key}").json()["assignee"] is None
    patched = api.patch(
        f"user-tasks/{task_key}",
        {
            "changeset": {
                "dueDate": "2026-01-02T03:04:05.000Z",
                "candidateUsers": ["carl"],
                "priority": 10,
            }
        },
    )
    assert patched.status_code == 204
    task = api.get(f"user-tasks/{task_key}").json()
    assert task["dueDate"] == "2026-01-02T03:04:05.000Z"
    assert task["candidateUsers"] == ["carl"]
    assert task["priority"] == 10
    bad = api.patch(f"user-tasks/{task_key}", {"changeset": {"priority": 101}})
    assert bad.status_code == 400
    done = api.post(f"user-tasks/{task_key}/completion", {"variables": {"approved": True}})
    assert done.status_code == 204
    task = api.get(f"user-tasks/{task_key}").json()
    assert task["state"] == "COMPLETED"
    assert task["completionDate"] is not None
    twice = api.post(f"user-tasks/{task_key}/completion")
    assert twice.status_code == 409
    assert twice.json()["title"] == "INVALID_STATE"
    assert api.get(f"process-instances/{key}").json()["state"] == "COMPLETED"
    assert api.post("user-tasks/77/completion").status_code == 404
    assert api.delete("user-tasks/77/assignee").status_code == 404


def test_user_task_search_filters(api: EngineClient) -> None:
    api.deploy_ok("approval.bpmn", user_task_process())
    first, second = api.start("approval", {"region": "eu"}), api.start("approval")
    first_task = _task(api, first)["userTaskKey"]
    api.post(f"user-tasks/{first_task}/assignment", {"assignee": "ann"})

    def keys(body: dict) -> list[str]:
        return [t["processInstanceKey"] for t in api.search("user-tasks", body)["items"]]

    assert keys({"filter": {"assignee": "ann"}}) == [first]
    assert keys({"filter": {"assignee": {"$exists": False}}}) == [second]
    assert keys(
        {"filter": {"candidateGroup": "managers"}, "sort": [{"field": "creationDate"}]}
    ) == [
        first,
        second,
    ]
    assert keys({"filter": {"candidateGroup": {"$like": "sal*"}}}) == [first, second]
    assert keys({"filter": {"candidateGroup": "nobody"}}) == []
    assert keys(
        {"filter": {"processInstanceVariables": [{"name": "region", "value": '"eu"'}]}}
    ) == [first]
    assert keys({"filter": {"priority": {"$gte": 70}, "state": "CREATED"}}) == [first, second]
    assert keys({"filter": {"priority": {"$lt": 70}}}) == []
    bad_sort = api.post("user-tasks/search", {"sort": [{"field": "assignee"}]})
    assert bad_sort.status_code == 400
    bad_state = api.post("user-tasks/search", {"filter": {"state": "DONE"}})
    assert bad_state.status_code == 400


# ---------------------------------------------------------------------- incidents
def test_incident_resolution_after_retries_update(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work")
    (job,) = api.activate("work")
    api.post(f"jobs/{job['jobKey']}/failure", {"retries": 0, "errorMessage": "down"})
    (incident,) = api.search("incidents", {"filter": {"state": "ACTIVE"}})["items"]
    assert incident["processInstanceKey"] == key
    assert incident["processDefinitionId"] == "work"
    assert incident["elementId"] == "task"
    assert incident["creationTime"].endswith("Z")
    assert api.get(f"incidents/{incident['incidentKey']}").json() == incident
    assert api.get("incidents/5").status_code == 404
    by_instance = api.post(f"process-instances/{key}/incidents/search", {})
    assert by_instance.status_code == 200
    assert by_instance.json()["items"] == [incident]
    assert api.post("process-instances/5/incidents/search").status_code == 404
    element = api.get(f"element-instances/{incident['elementInstanceKey']}").json()
    assert element["hasIncident"] is True
    assert element["incidentKey"] == incident["incidentKey"]

    refused = api.post(f"incidents/{incident['incidentKey']}/resolution")
    assert refused.status_code == 409
    api.patch(f"jobs/{job['jobKey']}", {"changeset": {"retries": 2}})
    assert api.post(f"incidents/{incident['incidentKey']}/resolution").status_code == 204
    resolved = api.get(f"incidents/{incident['incidentKey']}").json()
    assert resolved["state"] == "RESOLVED"
    assert api.get(f"process-instances/{key}").json()["hasIncident"] is False
    (again,) = api.activate("work")
    assert again["jobKey"] == job["jobKey"]
    missing = api.post(f"incidents/{incident['incidentKey']}/resolution")
    assert missing.status_code == 404
    assert "no such incident was found" in missing.json()["detail"]


def test_incident_search_filters(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    api.start("work")
    (job,) = api.activate("work")
    api.post(f"jobs/{job['jobKey']}/failure", {"retries": 0, "errorMessage": "down"})
    found = api.search("incidents", {"filter": {"errorType": "JOB_NO_RETRIES"}})
    assert found["page"]["totalItems"] == 1
    assert (
        api.search("incidents", {"filter": {"creationTime": {"$lt": "2000-01-01T00:00:00Z"}}})[
            "items"
        ]
        == []
    )
    bad = api.post("incidents/search", {"filter": {"errorType": "OOPS"}})
    assert bad.status_code == 400
    bad_date = api.post("incidents/search", {"filter": {"creationTime": {"$gt": "yesterday"}}})
    assert bad_date.status_code == 400


# ---------------------------------------------------------------------- element instances
def test_element_instance_search_and_get(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work")
    result = api.search(
        "element-instances",
        {"filter": {"processInstanceKey": key}, "sort": [{"field": "elementInstanceKey"}]},
    )
    by_id = {item["elementId"]: item for item in result["items"]}
    assert set(by_id) == {"start", "task"}
    task = by_id["task"]
    assert task["type"] == "SERVICE_TASK"
    assert task["state"] == "ACTIVE"
    assert task["elementName"] == "Do work"
    assert task["processDefinitionId"] == "work"
    assert by_id["start"]["state"] == "COMPLETED"
    assert by_id["start"]["elementName"] == "start"
    assert api.get(f"element-instances/{task['elementInstanceKey']}").json() == task
    assert api.get("element-instances/3").status_code == 404
    active = api.search(
        "element-instances", {"filter": {"state": "ACTIVE", "type": "SERVICE_TASK"}}
    )
    assert [i["elementId"] for i in active["items"]] == ["task"]
    named = api.search("element-instances", {"filter": {"elementName": "Do work"}})
    assert [i["elementId"] for i in named["items"]] == ["task"]
    children = api.search("element-instances", {"filter": {"elementInstanceScopeKey": key}})
    assert children["page"]["totalItems"] == 2


# ---------------------------------------------------------------------- variables
def test_variables_search_get_and_set(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work", {"orderId": "A1", "amount": 12, "meta": {"a": 1}})
    found = api.search(
        "variables", {"filter": {"processInstanceKey": key}, "sort": [{"field": "name"}]}
    )
    assert [(v["name"], v["value"]) for v in found["items"]] == [
        ("amount", "12"),
        ("meta", '{"a":1}'),
        ("orderId", '"A1"'),
    ]
    order = found["items"][2]
    assert order["isTruncated"] is False
    assert order["scopeKey"] == key
    assert order["tenantId"] == "<default>"
    fetched = api.get(f"variables/{order['variableKey']}").json()
    assert fetched["value"] == '"A1"'
    assert "isTruncated" not in fetched
    assert api.get("variables/9").status_code == 404

    assert (
        api.put(f"element-instances/{key}/variables", {"variables": {"orderId": "B2"}}).status_code
        == 204
    )
    by_value = api.search("variables", {"filter": {"value": '"B2"'}})
    assert [v["name"] for v in by_value["items"]] == ["orderId"]
    liked = api.search("variables", {"filter": {"name": {"$like": "a*"}}})
    assert [v["name"] for v in liked["items"]] == ["amount"]
    in_names = api.search("variables", {"filter": {"name": {"$in": ["amount", "meta"]}}})
    assert in_names["page"]["totalItems"] == 2

    (task,) = api.search(
        "element-instances", {"filter": {"processInstanceKey": key, "elementId": "task"}}
    )["items"]
    local = api.put(
        f"element-instances/{task['elementInstanceKey']}/variables",
        {"variables": {"note": "x"}, "local": True},
    )
    assert local.status_code == 204
    (note,) = api.search("variables", {"filter": {"name": "note"}})["items"]
    assert note["scopeKey"] == task["elementInstanceKey"]
    missing = api.put(f"element-instances/{key}/variables", {})
    assert missing.status_code == 400
    assert missing.json()["detail"] == "No variables provided."
    assert api.put("element-instances/8/variables", {"variables": {}}).status_code == 404


def test_variable_truncation(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    api.start("work", {"big": "x" * 10000})
    (item,) = api.search("variables", {"filter": {"name": "big"}})["items"]
    assert item["isTruncated"] is True
    assert len(item["value"]) < 10000
    response = api.post("variables/search?truncateValues=false", {"filter": {"name": "big"}})
    (full,) = response.json()["items"]
    assert full["isTruncated"] is False
    assert len(full["value"]) == 10002
    assert api.search("variables", {"filter": {"isTruncated": True}})["page"]["totalItems"] == 1
