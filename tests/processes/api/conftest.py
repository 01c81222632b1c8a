"""Fixtures of the engine REST API tests: an authorised client and BPMN helpers."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from processes.engine import clock
from processes.testing import reset_caches

BPMN_DIR = Path(__file__).parent.parent / "engine" / "bpmn"

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)


def bpmn(process_id: str, body: str, *, name: str = "", prefix: str = "") -> str:
    """A BPMN document with one process made of ``body`` (elements and flows)."""
    name_attr = f' name="{name}"' if name else ""
    return (
        f"{HEADER}{prefix}"
        f'<bpmn:process id="{process_id}"{name_attr} isExecutable="true">\n{body}\n'
        "</bpmn:process>\n</bpmn:definitions>\n"
    )


def flows(*pairs: tuple[str, str]) -> str:
    return "\n".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
        for i, (a, b) in enumerate(pairs)
    )


def service_process(process_id: str = "work", job_type: str = "work", retries: int = 3) -> str:
    """start -> service task ``task`` -> end."""
    return bpmn(
        process_id,
        '<bpmn:startEvent id="start" />'
        f'<bpmn:serviceTask id="task" name="Do work"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{job_type}" retries="{retries}" />'
        '<zeebe:taskHeaders><zeebe:header key="carrier" value="dhl" /></zeebe:taskHeaders>'
        "</bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:endEvent id="end" />' + flows(("start", "task"), ("task", "end")),
        name="Work",
    )


def user_task_process(process_id: str = "approval") -> str:
    return bpmn(
        process_id,
        '<bpmn:startEvent id="start" />'
        '<bpmn:userTask id="approve" name="Approve"><bpmn:extensionElements>'
        "<zeebe:userTask />"
        '<zeebe:formDefinition formKey="approval-form" />'
        '<zeebe:assignmentDefinition candidateGroups="sales, managers" />'
        '<zeebe:priorityDefinition priority="70" />'
        "</bpmn:extensionElements></bpmn:userTask>"
        '<bpmn:endEvent id="end" />' + flows(("start", "approve"), ("approve", "end")),
    )


def message_process(process_id: str = "wait-msg", correlation_key: str = "order-1") -> str:
    return bpmn(
        process_id,
        '<bpmn:startEvent id="start" />'
        '<bpmn:intermediateCatchEvent id="catch">'
        '<bpmn:messageEventDefinition messageRef="m1" /></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="end" />' + flows(("start", "catch"), ("catch", "end")),
        prefix=(
            '<bpmn:message id="m1" name="paid"><bpmn:extensionElements>'
            f'<zeebe:subscription correlationKey="{correlation_key}" />'
            "</bpmn:extensionElements></bpmn:message>\n"
        ),
    )


def straight_process(process_id: str = "straight") -> str:
    return bpmn(
        process_id,
        '<bpmn:startEvent id="start" /><bpmn:endEvent id="end" />' + flows(("start", "end")),
    )


class EngineClient:
    """A REST client authorised for the engine API, with JSON helpers."""

    def __init__(self, client: APIClient) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        data = None if body is None else json.dumps(body)
        return getattr(self.client, method)(
            f"/v2/{path}", data=data, content_type="application/json", **extra
        )

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.call("post", path, body, **extra)

    def get(self, path: str) -> Any:
        return self.client.get(f"/v2/{path}")

    def put(self, path: str, body: Any = None) -> Any:
        return self.call("put", path, body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.call("patch", path, body)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/v2/{path}")

    def deploy(self, *resources: tuple[str, str | bytes]) -> Any:
        files = [
            SimpleUploadedFile(
                name,
                content if isinstance(content, bytes) else content.encode(),
                content_type="application/xml",
            )
            for name, content in resources
        ]
        return self.client.post("/v2/deployments", {"resources": files}, format="multipart")

    def deploy_ok(self, name: str, xml: str | bytes) -> dict[str, Any]:
        response = self.deploy((name, xml))
        assert response.status_code == 200, response.content
        return response.json()

    def start(self, process_id: str, variables: dict[str, Any] | None = None) -> str:
        response = self.post(
            "process-instances", {"processDefinitionId": process_id, "variables": variables or {}}
        )
        assert response.status_code == 200, response.content
        return response.json()["processInstanceKey"]

    def search(self, resource: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(f"{resource}/search", body or {})
        assert response.status_code == 200, response.content
        return response.json()

    def activate(self, job_type: str, **extra: Any) -> list[dict[str, Any]]:
        body = {"type": job_type, "timeout": 30000, "maxJobsToActivate": 10, **extra}
        response = self.post("jobs/activation", body)
        assert response.status_code == 200, response.content
        return response.json()["jobs"]


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture(autouse=True)
def engine_state() -> Iterator[None]:
    """Engine caches keyed by keys that a rolled-back test may hand out again."""
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def api_user(db: None) -> User:
    user = User.objects.create_user("worker", password="secret")
    user.user_permissions.add(Permission.objects.get(codename="use_engine_api"))
    return user


@pytest.fixture
def api(api_user: User) -> EngineClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("worker", "secret"))
    return EngineClient(client)


@pytest.fixture
def controlled_clock(settings: Any) -> Iterator[None]:
    settings.ENGINE_CLOCK_CONTROLLED = True
    clock.forget_cache()
    yield
    clock.forget_cache()
