"""REST v2 endpoints that Camunda's own clients call besides the commands: the cluster topology,
process definitions (search, one, its XML) and the job search.

Shapes follow the Orchestration Cluster REST API reference
(https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/orchestration-cluster-api-rest-overview/):
keys as strings, every documented field present (``null`` where Camunda has no value).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from processes.models import Job, ProcessDefinition

from .base import EngineApiView, format_date, key_text, parse_key
from .errors import not_found
from .openapi import _schema
from .search import Field, SearchSpec, search

GATEWAY_VERSION = "8.8.0"
TAG = ["Camunda REST v2"]


class TopologyView(EngineApiView):
    @_schema("getTopology", body=None)
    def get(self, request: Request) -> Response:
        host = request.get_host().rsplit(":", 1)[0]
        partition = {"partitionId": 1, "role": "leader", "health": "healthy", "state": "active"}
        broker = {
            "nodeId": 0,
            "brokerId": "0",
            "host": host,
            "port": 26501,
            "partitions": [partition],
            "version": GATEWAY_VERSION,
        }
        return Response(
            {
                "brokers": [broker],
                "clusterId": None,
                "clusterSize": 1,
                "partitionsCount": 1,
                "replicationFactor": 1,
                "gatewayVersion": GATEWAY_VERSION,
                "lastCompletedChangeId": "-1",
            }
        )


# ---------------------------------------------------------------------- process definitions
def render_definition(definition: ProcessDefinition) -> dict[str, Any]:
    return {
        "name": definition.name or None,
        "resourceName": definition.resource_name,
        "version": definition.version,
        "versionTag": definition.version_tag or None,
        "processDefinitionId": definition.bpmn_process_id,
        "tenantId": definition.tenant_id,
        "processDefinitionKey": key_text(definition.key),
        "hasStartForm": False,
        "state": "ACTIVE",
    }


def render_definitions(rows: Iterable[ProcessDefinition]) -> list[dict[str, Any]]:
    return [render_definition(row) for row in rows]


def _is_latest(queryset: Any, raw: Any, name: str) -> Any:
    from django.db.models import OuterRef, Q, Subquery

    latest = (
        ProcessDefinition.objects.filter(
            tenant_id=OuterRef("tenant_id"), bpmn_process_id=OuterRef("bpmn_process_id")
        )
        .order_by("-version")
        .values("key")[:1]
    )
    if raw is True:
        return Q(key=Subquery(latest))
    return Q()


PROCESS_DEFINITION_SEARCH = SearchSpec(
    filters={
        "processDefinitionKey": Field("key", "key"),
        "processDefinitionId": Field("bpmn_process_id"),
        "name": Field("name"),
        "resourceName": Field("resource_name"),
        "version": Field("version", "int"),
        "versionTag": Field("version_tag"),
        "tenantId": Field("tenant_id"),
        "isLatestVersion": Field(kind="bool", custom=_is_latest),
    },
    sorts={
        "processDefinitionKey": "key",
        "processDefinitionId": "bpmn_process_id",
        "name": "name",
        "resourceName": "resource_name",
        "version": "version",
        "versionTag": "version_tag",
        "tenantId": "tenant_id",
    },
)


class ProcessDefinitionSearchView(EngineApiView):
    @_schema("searchProcessDefinitions")
    def post(self, request: Request) -> Response:
        return Response(
            search(
                ProcessDefinition.objects.all(),
                self.json_body(),
                PROCESS_DEFINITION_SEARCH,
                render_definitions,
            )
        )


def _definition(key: str) -> ProcessDefinition:
    definition_key = parse_key(key, "processDefinitionKey")
    found = ProcessDefinition.objects.filter(key=definition_key).first()
    if found is None:
        raise not_found(f"Process definition with key '{definition_key}' not found")
    return found


class ProcessDefinitionView(EngineApiView):
    @_schema("getProcessDefinition", body=None, errors=(404,))
    def get(self, request: Request, key: str) -> Response:
        return Response(render_definition(_definition(key)))


class ProcessDefinitionXmlView(EngineApiView):
    @_schema("getProcessDefinitionXML", body=None, errors=(404,))
    def get(self, request: Request, key: str) -> HttpResponse:
        return HttpResponse(_definition(key).xml, content_type="text/xml; charset=utf-8")


# ---------------------------------------------------------------------- jobs
def job_state(job: Job) -> str:
    """Camunda's job state: the last thing that happened to the job."""
    if job.state in (Job.ACTIVATABLE, Job.ACTIVATED):
        return "FAILED" if job.error_message else "CREATED"
    return job.state


def render_job(job: Job) -> dict[str, Any]:
    failed_with_retries = job.state in (Job.ACTIVATABLE, Job.ACTIVATED) and bool(job.error_message)
    return {
        "customHeaders": {k: str(v) for k, v in (job.custom_headers or {}).items()},
        "deadline": format_date(job.deadline) if job.state == Job.ACTIVATED else None,
        "deniedReason": None,
        "elementId": job.element_id,
        "elementInstanceKey": key_text(job.element_instance_key),
        "endTime": format_date(job.ended_at),
        "errorCode": None,
        "errorMessage": job.error_message or None,
        "hasFailedWithRetriesLeft": failed_with_retries,
        "isDenied": None,
        "jobKey": key_text(job.key),
        "kind": "BPMN_ELEMENT",
        "listenerEventType": "UNSPECIFIED",
        "processDefinitionId": job.definition.bpmn_process_id,
        "processDefinitionKey": key_text(job.definition_id),
        "processInstanceKey": key_text(job.process_instance_key),
        "rootProcessInstanceKey": key_text(job.process_instance_key),
        "businessId": None,
        "retries": job.retries,
        "state": job_state(job),
        "tenantId": job.tenant_id,
        "type": job.type,
        "worker": job.worker,
        "creationTime": format_date(job.created_at),
        "lastUpdateTime": format_date(job.ended_at or job.created_at),
        "priority": 0,
    }


def render_jobs(rows: Iterable[Job]) -> list[dict[str, Any]]:
    return [render_job(row) for row in rows]


JOB_SEARCH = SearchSpec(
    filters={
        "jobKey": Field("key", "key"),
        "type": Field("type"),
        "worker": Field("worker"),
        "retries": Field("retries", "int"),
        "processInstanceKey": Field("process_instance_key", "key"),
        "processDefinitionKey": Field("definition_id", "key"),
        "processDefinitionId": Field("definition__bpmn_process_id"),
        "elementId": Field("element_id"),
        "elementInstanceKey": Field("element_instance_key", "key"),
        "tenantId": Field("tenant_id"),
    },
    sorts={
        "jobKey": "key",
        "type": "type",
        "worker": "worker",
        "retries": "retries",
        "processInstanceKey": "process_instance_key",
        "elementId": "element_id",
        "tenantId": "tenant_id",
    },
)


class JobSearchView(EngineApiView):
    @_schema("searchJobs")
    def post(self, request: Request) -> Response:
        return Response(
            search(
                Job.objects.select_related("definition"),
                self.json_body(),
                JOB_SEARCH,
                render_jobs,
            )
        )


# ---------------------------------------------------------------------- shared fields
def root_key(process_instance_key: int, parent_process_instance_key: int | None) -> str | None:
    """``rootProcessInstanceKey``: the instance itself, or the top of its call-activity chain."""
    from processes.models import ElementInstance

    key, parent = process_instance_key, parent_process_instance_key
    for _ in range(64):  # call-activity depth is bounded by the engine far below this
        if not parent:
            break
        key = parent
        parent = (
            ElementInstance.objects.filter(key=parent)
            .values_list("parent_process_instance_key", flat=True)
            .first()
        )
    return key_text(key)


def root_of(process_instance_key: int) -> str | None:
    from processes.models import ElementInstance

    parent = (
        ElementInstance.objects.filter(key=process_instance_key)
        .values_list("parent_process_instance_key", flat=True)
        .first()
    )
    return root_key(process_instance_key, parent)
