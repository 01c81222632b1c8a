"""Deployments, process instances, jobs and messages through the REST API."""

from __future__ import annotations

import pytest

from .conftest import (
    BPMN_DIR,
    EngineClient,
    message_process,
    service_process,
    straight_process,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------- deployments
def test_deploy_returns_definitions(api: EngineClient) -> None:
    body = api.deploy_ok("work.bpmn", service_process())
    assert body["tenantId"] == "<default>"
    assert isinstance(body["deploymentKey"], str)
    (entry,) = body["deployments"]
    definition = entry["processDefinition"]
    assert definition["processDefinitionId"] == "work"
    assert definition["processDefinitionVersion"] == 1
    assert definition["resourceName"] == "work.bpmn"
    assert definition["tenantId"] == "<default>"
    assert definition["processDefinitionKey"].isdigit()


def test_identical_redeploy_keeps_key_and_version(api: EngineClient) -> None:
    first = api.deploy_ok("work.bpmn", service_process())["deployments"][0]
    again = api.deploy_ok("work.bpmn", service_process())["deployments"][0]
    assert again == first
    changed = api.deploy_ok("work.bpmn", service_process(job_type="other"))["deployments"][0]
    assert changed["processDefinition"]["processDefinitionVersion"] == 2


def test_deploy_fixture_file(api: EngineClient) -> None:
    xml = (BPMN_DIR / "timer-boundary.bpmn").read_bytes()
    body = api.deploy_ok("timer-boundary.bpmn", xml)
    assert body["deployments"][0]["processDefinition"]["processDefinitionId"] == "timer-boundary"


def test_deploy_without_resources_is_400(api: EngineClient) -> None:
    response = api.client.post("/v2/deployments", {}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "No resources provided."


def test_deploy_invalid_bpmn_names_the_element(api: EngineClient) -> None:
    broken = service_process().replace('<bpmn:endEvent id="end" />', "")
    response = api.deploy(("broken.bpmn", broken))
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"] == "INVALID_ARGUMENT"
    assert "broken.bpmn" in problem["detail"]
    assert "end" in problem["detail"]


def test_deploy_unknown_element_fixture_is_400(api: EngineClient) -> None:
    response = api.deploy(("unknown.bpmn", (BPMN_DIR / "unknown-element.bpmn").read_bytes()))
    assert response.status_code == 400
    assert response.json()["status"] == 400


# ---------------------------------------------------------------------- process instances
def test_create_instance_by_id_and_by_key(api: EngineClient) -> None:
    deployed = api.deploy_ok("work.bpmn", service_process())
    definition_key = deployed["deployments"][0]["processDefinition"]["processDefinitionKey"]
    response = api.post(
        "process-instances", {"processDefinitionId": "work", "variables": {"orderId": "A1"}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["processDefinitionKey"] == definition_key
    assert body["processDefinitionVersion"] == 1
    assert body["variables"] == {}
    assert body["tenantId"] == "<default>"
    by_key = api.post("process-instances", {"processDefinitionKey": int(definition_key)})
    assert by_key.status_code == 200
    assert by_key.json()["processDefinitionId"] == "work"


def test_create_instance_validation(api: EngineClient) -> None:
    response = api.post("process-instances", {"variables": {}})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "At least one of [processDefinitionId, processDefinitionKey] is required."
    )
    both = api.post("process-instances", {"processDefinitionId": "a", "processDefinitionKey": "1"})
    assert both.json()["detail"] == (
        "Only one of [processDefinitionId, processDefinitionKey] is allowed."
    )
    bad_key = api.post("process-instances", {"processDefinitionKey": "abc"})
    assert bad_key.status_code == 400


def test_create_instance_of_unknown_process_is_404(api: EngineClient) -> None:
    response = api.post("process-instances", {"processDefinitionId": "nope"})
    assert response.status_code == 404
    problem = response.json()
    assert problem["title"] == "NOT_FOUND"
    assert problem["detail"].startswith("Command 'CREATE' rejected with code 'NOT_FOUND': ")
    assert problem["instance"] == "/v2/process-instances"
    assert problem["type"] == "about:blank"


def test_malformed_json_is_400(api: EngineClient) -> None:
    response = api.client.post(
        "/v2/process-instances", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Bad Request"


def test_await_completion_returns_variables(api: EngineClient) -> None:
    api.deploy_ok("straight.bpmn", straight_process())
    response = api.post(
        "process-instances",
        {
            "processDefinitionId": "straight",
            "variables": {"a": 1, "b": "x"},
            "awaitCompletion": True,
            "fetchVariables": ["a"],
        },
    )
    assert response.status_code == 200
    assert response.json()["variables"] == {"a": 1}


def test_get_process_instance(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work")
    response = api.get(f"process-instances/{key}")
    assert response.status_code == 200
    body = response.json()
    assert body["processInstanceKey"] == key
    assert body["state"] == "ACTIVE"
    assert body["hasIncident"] is False
    assert body["processDefinitionName"] == "Work"
    assert body["startDate"].endswith("Z") and len(body["startDate"]) == 24
    assert body["endDate"] is None
    assert api.get("process-instances/123").status_code == 404
    assert api.get("process-instances/abc").status_code == 400


def test_cancel_process_instance(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work")
    assert api.post(f"process-instances/{key}/cancellation").status_code == 204
    body = api.get(f"process-instances/{key}").json()
    assert body["state"] == "TERMINATED"
    assert body["endDate"] is not None
    again = api.post(f"process-instances/{key}/cancellation", {})
    assert again.status_code == 404
    bad = api.post(f"process-instances/{key}/cancellation", {"operationReference": 0})
    assert bad.status_code == 400


# ---------------------------------------------------------------------- jobs
def test_activate_and_complete_job(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work", {"orderId": "A1"})
    (job,) = api.activate("work", worker="w1")
    assert job["processInstanceKey"] == key
    assert job["type"] == "work"
    assert job["worker"] == "w1"
    assert job["retries"] == 3
    assert job["customHeaders"] == {"carrier": "dhl"}
    assert job["variables"] == {"orderId": "A1"}
    assert job["kind"] == "BPMN_ELEMENT"
    assert job["listenerEventType"] == "UNSPECIFIED"
    assert job["processDefinitionId"] == "work"
    assert isinstance(job["deadline"], int)
    assert api.activate("work") == []
    done = api.post(f"jobs/{job['jobKey']}/completion", {"variables": {"shipped": True}})
    assert done.status_code == 204
    assert api.get(f"process-instances/{key}").json()["state"] == "COMPLETED"
    twice = api.post(f"jobs/{job['jobKey']}/completion")
    assert twice.status_code == 404
    assert twice.json()["title"] == "NOT_FOUND"


def test_activation_fetch_variable_and_validation(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    api.start("work", {"a": 1, "b": 2})
    (job,) = api.activate("work", fetchVariable=["b"])
    assert job["variables"] == {"b": 2}
    response = api.post("jobs/activation", {"timeout": 0, "maxJobsToActivate": 1})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "No type provided. The value for timeout is '0' but must be greater than 0."
    )


def test_activation_long_poll_waits_then_answers_empty(api: EngineClient) -> None:
    import time

    started = time.monotonic()
    assert api.activate("nothing", requestTimeout=200) == []
    assert time.monotonic() - started >= 0.2


def test_fail_job_with_retries_then_without(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work")
    (job,) = api.activate("work")
    failed = api.post(f"jobs/{job['jobKey']}/failure", {"retries": 1, "errorMessage": "try"})
    assert failed.status_code == 204
    (again,) = api.activate("work")
    assert again["retries"] == 1
    api.post(f"jobs/{job['jobKey']}/failure", {"retries": 0, "errorMessage": "carrier down"})
    instance = api.get(f"process-instances/{key}").json()
    assert instance["hasIncident"] is True
    assert instance["state"] == "ACTIVE"
    twice = api.post(f"jobs/{job['jobKey']}/failure", {"retries": 0})
    assert twice.status_code == 409
    incidents = api.search("incidents", {"filter": {"processInstanceKey": key}})["items"]
    assert incidents[0]["errorType"] == "JOB_NO_RETRIES"
    assert incidents[0]["errorMessage"] == "carrier down"
    assert incidents[0]["jobKey"] == job["jobKey"]


def test_throw_job_error_without_catch_raises_incident(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    key = api.start("work")
    (job,) = api.activate("work")
    missing = api.post(f"jobs/{job['jobKey']}/error", {"errorMessage": "x"})
    assert missing.status_code == 400
    assert missing.json()["detail"] == "No errorCode provided."
    response = api.post(f"jobs/{job['jobKey']}/error", {"errorCode": "E1", "errorMessage": "x"})
    assert response.status_code == 204
    items = api.search("incidents", {"filter": {"processInstanceKey": key}})["items"]
    assert [i["errorType"] for i in items] == ["UNHANDLED_ERROR_EVENT"]


def test_throw_job_error_caught_by_boundary(api: EngineClient) -> None:
    api.deploy_ok("error-boundary.bpmn", (BPMN_DIR / "error-boundary.bpmn").read_bytes())
    key = api.start("error-boundary")
    (job,) = api.activate("reserve-inventory")
    thrown = api.post(f"jobs/{job['jobKey']}/error", {"errorCode": "OUT_OF_STOCK"})
    assert thrown.status_code == 204
    (handler,) = api.activate("handle-failure")
    assert handler["processInstanceKey"] == key
    assert api.search("incidents", {"filter": {"processInstanceKey": key}})["items"] == []


def test_update_job(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    api.start("work")
    (job,) = api.activate("work")
    path = f"jobs/{job['jobKey']}"
    empty = api.patch(path, {"changeset": {}})
    assert empty.status_code == 400
    assert empty.json()["detail"] == "At least one of [retries, timeout] is required."
    assert api.patch(path, {"changeset": {"retries": 7, "timeout": 1000}}).status_code == 204
    assert api.patch("jobs/99999", {"changeset": {"retries": 1}}).status_code == 404


def test_unknown_job_is_404(api: EngineClient) -> None:
    response = api.post("jobs/2251799813685263/completion")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "Command 'COMPLETE' rejected with code 'NOT_FOUND': Expected to complete job with key "
        "'2251799813685263', but no such job was found"
    )


# ---------------------------------------------------------------------- messages
def test_publish_correlates_to_waiting_instance(api: EngineClient) -> None:
    api.deploy_ok("msg.bpmn", message_process())
    key = api.start("wait-msg")
    response = api.post(
        "messages/publication",
        {"name": "paid", "correlationKey": "order-1", "variables": {"paid": True}},
    )
    assert response.status_code == 200
    assert response.json()["tenantId"] == "<default>"
    assert response.json()["messageKey"].isdigit()
    assert api.get(f"process-instances/{key}").json()["state"] == "COMPLETED"


def test_buffered_message_correlates_to_later_instance(api: EngineClient) -> None:
    api.deploy_ok("msg.bpmn", message_process())
    response = api.post(
        "messages/publication", {"name": "paid", "correlationKey": "order-1", "timeToLive": 60000}
    )
    assert response.status_code == 200
    key = api.start("wait-msg")
    assert api.get(f"process-instances/{key}").json()["state"] == "COMPLETED"


def test_duplicate_message_id_is_409(api: EngineClient) -> None:
    body = {"name": "paid", "correlationKey": "c", "timeToLive": 60000, "messageId": "m-1"}
    assert api.post("messages/publication", body).status_code == 200
    again = api.post("messages/publication", body)
    assert again.status_code == 409
    assert again.json()["title"] == "ALREADY_EXISTS"


def test_publish_validation(api: EngineClient) -> None:
    response = api.post("messages/publication", {"correlationKey": "x"})
    assert response.status_code == 400
    assert response.json()["detail"] == "No messageName provided."
    negative = api.post("messages/publication", {"name": "a", "timeToLive": -1})
    assert negative.status_code == 400


def test_correlate_message(api: EngineClient) -> None:
    api.deploy_ok("msg.bpmn", message_process())
    key = api.start("wait-msg")
    response = api.post("messages/correlation", {"name": "paid", "correlationKey": "order-1"})
    assert response.status_code == 200
    assert response.json()["processInstanceKey"] == key
    none = api.post("messages/correlation", {"name": "paid", "correlationKey": "order-1"})
    assert none.status_code == 404
    later = api.start("wait-msg")
    assert api.get(f"process-instances/{later}").json()["state"] == "ACTIVE"
    assert api.post("messages/correlation", {}).json()["detail"] == "No messageName provided."


def test_message_ttl_expires_with_the_clock(api: EngineClient, controlled_clock: None) -> None:
    api.deploy_ok("msg.bpmn", message_process())
    assert api.put("clock", {"timestamp": 1767225600000}).status_code == 204
    api.post(
        "messages/publication", {"name": "paid", "correlationKey": "order-1", "timeToLive": 1000}
    )
    assert api.put("clock", {"timestamp": 1767225605000}).status_code == 204
    key = api.start("wait-msg")
    assert api.get(f"process-instances/{key}").json()["state"] == "ACTIVE"
    assert api.post("clock/reset").status_code == 204
