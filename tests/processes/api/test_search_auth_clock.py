"""Search paging and filters, authentication, the clock and the schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .conftest import BPMN_DIR, EngineClient, basic, service_process, straight_process

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(api: EngineClient) -> list[str]:
    """Five instances of ``work``; the last two completed."""
    api.deploy_ok("work.bpmn", service_process())
    keys = [api.start("work", {"n": n}) for n in range(5)]
    for job in api.activate("work")[3:]:
        api.post(f"jobs/{job['jobKey']}/completion")
    return keys


def _keys(result: dict[str, Any]) -> list[str]:
    return [item["processInstanceKey"] for item in result["items"]]


# ---------------------------------------------------------------------- paging
def test_offset_paging(api: EngineClient, five: list[str]) -> None:
    body = {"sort": [{"field": "processInstanceKey"}], "page": {"from": 1, "limit": 2}}
    result = api.search("process-instances", body)
    assert _keys(result) == five[1:3]
    assert result["page"]["totalItems"] == 5
    assert result["page"]["hasMoreTotalItems"] is False
    desc = api.search(
        "process-instances", {"sort": [{"field": "processInstanceKey", "order": "DESC"}]}
    )
    assert _keys(desc) == five[::-1]


def test_cursor_paging_forward_and_backward(api: EngineClient, five: list[str]) -> None:
    sort = [{"field": "processInstanceKey"}]
    first = api.search("process-instances", {"sort": sort, "page": {"limit": 2}})
    assert _keys(first) == five[:2]
    second = api.search(
        "process-instances",
        {"sort": sort, "page": {"after": first["page"]["endCursor"], "limit": 2}},
    )
    assert _keys(second) == five[2:4]
    third = api.search(
        "process-instances",
        {"sort": sort, "page": {"after": second["page"]["endCursor"], "limit": 2}},
    )
    assert _keys(third) == five[4:]
    back = api.search(
        "process-instances",
        {"sort": sort, "page": {"before": third["page"]["startCursor"], "limit": 2}},
    )
    assert _keys(back) == five[2:4]
    empty = api.search("process-instances", {"filter": {"processDefinitionId": "none"}})
    assert empty["items"] == []
    assert empty["page"]["startCursor"] is None and empty["page"]["totalItems"] == 0


def test_paging_validation(api: EngineClient) -> None:
    mixed = api.post("process-instances/search", {"page": {"from": 0, "after": "WzBd"}})
    assert mixed.status_code == 400
    assert mixed.json()["title"] == "INVALID_ARGUMENT"
    assert api.post("process-instances/search", {"page": {"limit": 0}}).status_code == 400
    assert api.post("process-instances/search", {"page": {"from": -1}}).status_code == 400
    assert api.post("process-instances/search", {"page": {"after": "garbage!"}}).status_code == 400
    bad_sort = api.post("process-instances/search", {"sort": [{"field": "nope"}]})
    assert bad_sort.status_code == 400
    assert "Unexpected value 'nope'" in bad_sort.json()["detail"]
    bad_order = api.post("process-instances/search", {"sort": [{"field": "state", "order": "UP"}]})
    assert bad_order.status_code == 400
    unknown = api.post("process-instances/search", {"filter": {"colour": "red"}})
    assert unknown.status_code == 400
    bad_op = api.post("process-instances/search", {"filter": {"state": {"$regex": "A"}}})
    assert bad_op.status_code == 400
    assert api.post("process-instances/search").status_code == 200


# ---------------------------------------------------------------------- filters
def test_process_instance_filters(api: EngineClient, five: list[str]) -> None:
    def search(flt: dict[str, Any]) -> list[str]:
        body = {"filter": flt, "sort": [{"field": "processInstanceKey"}]}
        return _keys(api.search("process-instances", body))

    assert search({"state": "COMPLETED"}) == five[3:]
    assert search({"state": {"$in": ["ACTIVE"]}}) == five[:3]
    assert search({"state": {"$neq": "ACTIVE"}}) == five[3:]
    assert search({"state": {"$like": "COMP*"}}) == five[3:]
    assert search({"processInstanceKey": {"$in": [five[0], int(five[1])]}}) == five[:2]
    assert search({"processInstanceKey": {"$notIn": five[:4]}}) == five[4:]
    assert search({"processInstanceKey": {"$gt": five[3]}}) == five[4:]
    assert search({"processInstanceKey": {"$gte": five[3], "$lte": five[4]}}) == five[3:]
    assert search({"endDate": {"$exists": True}}) == five[3:]
    assert search({"startDate": {"$gte": "2000-01-01T00:00:00.000Z"}}) == five
    assert search({"startDate": {"$lt": "2000-01-01T00:00:00+00:00"}}) == []
    assert search({"processDefinitionId": "work", "processDefinitionVersion": 1}) == five
    assert search({"processDefinitionName": {"$like": "W?rk"}}) == five
    assert search({"hasIncident": False}) == five
    assert search({"variables": [{"name": "n", "value": "2"}]}) == five[2:3]
    assert search({"variables": [{"name": "n", "value": {"$in": ["0", "4"]}}]}) == [
        five[0],
        five[4],
    ]
    assert search({"elementId": "task"}) == five
    assert search({"elementId": "task", "elementInstanceState": "ACTIVE"}) == five[:3]
    assert search(
        {"$or": [{"state": "COMPLETED"}, {"variables": [{"name": "n", "value": "0"}]}]}
    ) == [
        five[0],
        five[3],
        five[4],
    ]
    assert search({"tags": ["x"]}) == []
    assert (
        api.post(
            "process-instances/search", {"filter": {"processDefinitionVersion": "1"}}
        ).status_code
        == 400
    )


def test_sort_by_state_then_key(api: EngineClient, five: list[str]) -> None:
    body = {"sort": [{"field": "state", "order": "DESC"}, {"field": "startDate"}]}
    result = api.search("process-instances", body)
    assert [i["state"] for i in result["items"]] == ["COMPLETED"] * 2 + ["ACTIVE"] * 3


# ---------------------------------------------------------------------- authentication
def test_anonymous_is_401_with_challenge(db: None) -> None:
    response = APIClient().post("/v2/process-instances/search", {}, format="json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response.json()["status"] == 401


def test_wrong_password_is_401(api_user: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("worker", "wrong"))
    assert client.post("/v2/process-instances/search").status_code == 401


def test_without_permission_is_403(db: None) -> None:
    User.objects.create_user("clerk", password="pw")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("clerk", "pw"))
    response = client.post("/v2/process-instances/search")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Forbidden"


def test_token_auth_and_superuser(db: None, api_user: User) -> None:
    token = Token.objects.create(user=api_user)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post("/v2/process-instances/search").status_code == 200
    User.objects.create_superuser("root", password="pw")
    admin = APIClient(enforce_csrf_checks=True)
    admin.credentials(HTTP_AUTHORIZATION=basic("root", "pw"))
    assert admin.post("/v2/process-instances/search", {}, format="json").status_code == 200


def test_session_is_not_enough(db: None) -> None:
    """Browser sessions are not an API credential (and cannot be CSRF-attacked here)."""
    user = User.objects.create_superuser("root", password="pw")
    client = APIClient()
    client.force_login(user)
    assert client.post("/v2/process-instances/search").status_code == 401


def test_unexpected_error_is_a_500_problem(api: EngineClient, monkeypatch: Any) -> None:
    from processes.engine import service

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "publish_message", boom)
    response = api.post("messages/publication", {"name": "x"})
    assert response.status_code == 500
    assert "secret" not in response.content.decode()
    assert response.json()["title"] == "INTERNAL_ERROR"


def test_schema_still_generates(db: None) -> None:
    admin = User.objects.create_superuser("root", password="pw")
    client = APIClient()
    client.force_login(admin)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/v2/process-instances/search" in response.content


# ---------------------------------------------------------------------- clock
def test_clock_needs_controlled_clock(api: EngineClient, settings: Any) -> None:
    settings.ENGINE_CLOCK_CONTROLLED = False
    response = api.put("clock", {"timestamp": 0})
    assert response.status_code == 403
    assert response.json()["detail"] == "clock is not controlled"
    assert api.post("clock/reset").status_code == 403


def test_clock_validation(api: EngineClient, controlled_clock: None) -> None:
    missing = api.put("clock", {})
    assert missing.status_code == 400
    assert missing.json()["detail"] == "No timestamp provided."
    negative = api.put("clock", {"timestamp": -1})
    assert negative.json()["detail"] == "The value for timestamp is '-1' but must be not negative."


def test_pinning_the_clock_fires_due_timers(api: EngineClient, controlled_clock: None) -> None:
    start = 1767225600000
    api.put("clock", {"timestamp": start})
    api.deploy_ok("timer-boundary.bpmn", (BPMN_DIR / "timer-boundary.bpmn").read_bytes())
    key = api.start("timer-boundary")
    instance = api.get(f"process-instances/{key}").json()
    assert instance["startDate"] == "2026-01-01T00:00:00.000Z"
    assert api.activate("escalate") == []
    assert api.put("clock", {"timestamp": start + 11 * 60_000}).status_code == 204
    (job,) = api.activate("escalate")
    assert job["processInstanceKey"] == key
    assert job["deadline"] == start + 11 * 60_000 + 30_000
    reminders = api.activate("send-reminder")
    assert len(reminders) >= 1


def test_await_completion_times_out_with_504(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())
    response = api.post(
        "process-instances",
        {"processDefinitionId": "work", "awaitCompletion": True, "requestTimeout": 100},
    )
    assert response.status_code == 504


def test_create_by_version(api: EngineClient) -> None:
    api.deploy_ok("straight.bpmn", straight_process())
    api.deploy_ok(
        "straight.bpmn",
        straight_process().replace('id="end"', 'id="end2"').replace('"end"', '"end2"'),
    )
    v1 = api.post(
        "process-instances", {"processDefinitionId": "straight", "processDefinitionVersion": 1}
    )
    assert v1.json()["processDefinitionVersion"] == 1
    latest = api.post("process-instances", {"processDefinitionId": "straight"})
    assert latest.json()["processDefinitionVersion"] == 2
    missing = api.post(
        "process-instances", {"processDefinitionId": "straight", "processDefinitionVersion": 9}
    )
    assert missing.status_code == 404
