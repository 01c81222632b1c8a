"""Endpoints of the Camunda 8 REST API (v2) subset; one small APIView per path."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from processes.engine import service
from processes.engine.runtime import Rejection
from processes.models import ElementInstance, UserTask, Variable

from . import resources as res
from .base import (
    DEFAULT_TENANT,
    INT32_MAX,
    MAX_DURATION_MS,
    MAX_TIMESTAMP_MS,
    EngineApiView,
    epoch_ms,
    get_int,
    get_operation_reference,
    get_str,
    get_tenant,
    get_variables,
    key_text,
    parse_date,
    parse_key,
)
from .errors import (
    ApiError,
    ValidationFailed,
    not_found,
)
from .openapi import NO_CONTENT, _schema
from .search import search

POLL_INTERVAL = 0.05
MAX_REQUEST_TIMEOUT_MS = 10_000
AWAIT_COMPLETION_DEFAULT_MS = 10_000


def _no_content() -> Response:
    return Response(status=NO_CONTENT)


# -------------------------------------------------------------------------------------- deployments
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/create-deployment/
class DeploymentsView(EngineApiView):
    parser_classes = [MultiPartParser]

    @_schema("createDeployment", body="multipart", errors=(409,))
    def post(self, request: Request) -> Response:
        files = request.FILES.getlist("resources")
        if not files:
            raise ValidationFailed("No resources provided")
        form = request.data  # multipart: a QueryDict
        tenant_id = (form.get("tenantId") if isinstance(form, Mapping) else None) or DEFAULT_TENANT
        names = [tenant_id, *(upload.name or "" for upload in files)]
        if any("\x00" in name or len(name) > 255 for name in names):
            raise ValidationFailed(
                "Tenant ids and resource names have at most 255 characters and no NUL"
            )
        resources = [(upload.name, upload.read()) for upload in files]
        deployment_key, deployed = service.deploy(resources, tenant_id=tenant_id)
        return Response(
            {
                "deploymentKey": key_text(deployment_key),
                "tenantId": tenant_id,
                "deployments": [
                    {
                        "processDefinition": {
                            "processDefinitionId": item.definition.bpmn_process_id,
                            "processDefinitionVersion": item.definition.version,
                            "resourceName": item.definition.resource_name,
                            "tenantId": item.definition.tenant_id,
                            "processDefinitionKey": key_text(item.definition.key),
                        },
                        # only processes deploy here; Camunda sends the other kinds as null
                        "decisionDefinition": None,
                        "decisionRequirements": None,
                        "form": None,
                        "resource": None,
                    }
                    for item in deployed
                ],
            }
        )


# -------------------------------------------------------------------------------- process instances
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/create-process-instance/
class ProcessInstancesView(EngineApiView):
    @_schema("createProcessInstance", errors=(404, 409, 504))
    def post(self, request: Request) -> Response:
        body = self.json_body(required=True)
        has_id = body.get("processDefinitionId") is not None
        has_key = body.get("processDefinitionKey") is not None
        if has_id == has_key:
            which = "At least one" if not has_id else "Only one"
            raise ValidationFailed(
                f"{which} of [processDefinitionId, processDefinitionKey] is "
                f"{'required' if not has_id else 'allowed'}"
            )
        tenant_id = get_tenant(body)
        variables = get_variables(body)
        get_operation_reference(body)
        version = get_int(body, "processDefinitionVersion", default=-1, maximum=INT32_MAX)
        start_element_id = None
        instructions = body.get("startInstructions") or []
        if not isinstance(instructions, list):
            raise ValidationFailed("The value for startInstructions must be an array")
        if len(instructions) > 1:
            raise ValidationFailed("Only one start instruction is supported")
        if instructions:
            if not isinstance(instructions[0], dict) or not instructions[0].get("elementId"):
                raise ValidationFailed("No startInstructions.elementId provided")
            start_element_id = str(instructions[0]["elementId"])
        await_completion = bool(body.get("awaitCompletion"))
        request_timeout = get_int(body, "requestTimeout", default=0, maximum=MAX_DURATION_MS) or 0
        fetch = body.get("fetchVariables") or []
        if not isinstance(fetch, list):
            raise ValidationFailed("The value for fetchVariables must be an array")
        if has_key:
            root = service.create_instance(
                definition_key=parse_key(body["processDefinitionKey"], "processDefinitionKey"),
                variables=variables,
                tenant_id=tenant_id,
                actor=request.user.get_username(),
                start_element_id=start_element_id,
            )
        else:
            process_id = get_str(body, "processDefinitionId", required=True)
            root = service.create_instance(
                process_id=process_id,
                version=version,
                variables=variables,
                tenant_id=tenant_id,
                actor=request.user.get_username(),
                start_element_id=start_element_id,
            )
        definition = service.definition_by_key(root.definition_id)
        result_variables: dict[str, Any] = {}
        if await_completion:
            result_variables = self._await_completion(root.key, request_timeout, fetch)
        return Response(
            {
                "processDefinitionId": definition.bpmn_process_id,
                "processDefinitionVersion": definition.version,
                "processDefinitionKey": key_text(definition.key),
                "processInstanceKey": key_text(root.key),
                "tenantId": definition.tenant_id,
                "variables": result_variables,
                "tags": [],
                "businessId": None,
            }
        )

    def _await_completion(self, key: int, timeout_ms: int, fetch: list[Any]) -> dict[str, Any]:
        wait_ms = timeout_ms if timeout_ms > 0 else AWAIT_COMPLETION_DEFAULT_MS
        give_up = time.monotonic() + wait_ms / 1000
        while True:
            state = ElementInstance.objects.filter(key=key).values_list("state", flat=True).first()
            if state == ElementInstance.COMPLETED:
                break
            if state != ElementInstance.ACTIVE:
                raise ApiError(
                    409,
                    "INVALID_STATE",
                    f"Expected process instance with key '{key}' to complete, but it was "
                    "terminated",
                )
            if time.monotonic() >= give_up:
                raise ApiError(
                    504,
                    "DEADLINE_EXCEEDED",
                    f"Expected process instance with key '{key}' to complete within "
                    f"{wait_ms} ms, but it did not",
                )
            time.sleep(POLL_INTERVAL)
        rows = Variable.objects.filter(scope_key=key)
        if fetch:
            rows = rows.filter(name__in=[str(name) for name in fetch])
        return dict(rows.values_list("name", "value"))


class ProcessInstanceView(EngineApiView):
    @_schema("getProcessInstance", body=None, errors=(404,))
    def get(self, request: Request, key: str) -> Response:
        pi_key = parse_key(key, "processInstanceKey")
        root = res.process_instances().filter(key=pi_key).first()
        if root is None:
            raise not_found(f"Process instance with key '{pi_key}' not found")
        return Response(res.render_process_instance(root))


class ProcessInstanceSearchView(EngineApiView):
    @_schema("searchProcessInstances")
    def post(self, request: Request) -> Response:
        body = self.json_body()
        return Response(
            search(
                res.process_instances(),
                body,
                res.PROCESS_INSTANCE_SEARCH,
                res.render_process_instances,
                allow_or=True,
            )
        )


class ProcessInstanceCancellationView(EngineApiView):
    @_schema("cancelProcessInstance", ok=204, errors=(404, 409))
    def post(self, request: Request, key: str) -> Response:
        pi_key = parse_key(key, "processInstanceKey")
        get_operation_reference(self.json_body())
        service.cancel_instance(pi_key, actor=request.user.get_username())
        return _no_content()


class ProcessInstanceIncidentSearchView(EngineApiView):
    @_schema("searchProcessInstanceIncidents", errors=(404,))
    def post(self, request: Request, key: str) -> Response:
        pi_key = parse_key(key, "processInstanceKey")
        body = self.json_body()
        if not ElementInstance.objects.filter(key=pi_key, element_type="PROCESS").exists():
            raise not_found(f"Process instance with key '{pi_key}' not found")
        body = {"sort": body.get("sort"), "page": body.get("page")}
        return Response(
            search(
                res.incidents().filter(process_instance_key=pi_key),
                body,
                res.PROCESS_INSTANCE_INCIDENT_SEARCH,
                res.render_incidents,
            )
        )


# -------------------------------------------------------------------------------- element instances
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/search-element-instances/
class ElementInstanceSearchView(EngineApiView):
    @_schema("searchElementInstances")
    def post(self, request: Request) -> Response:
        return Response(
            search(
                res.element_instances(),
                self.json_body(),
                res.ELEMENT_INSTANCE_SEARCH,
                res.render_element_instances,
            )
        )


class ElementInstanceView(EngineApiView):
    @_schema("getElementInstance", body=None, errors=(404,))
    def get(self, request: Request, key: str) -> Response:
        ei_key = parse_key(key, "elementInstanceKey")
        ei = res.element_instances().filter(key=ei_key).first()
        if ei is None:
            raise not_found(f"Element instance with key '{ei_key}' not found")
        return Response(res.render_element_instance(ei))


class ElementInstanceVariablesView(EngineApiView):
    @_schema("createElementInstanceVariables", ok=204, errors=(404, 409))
    def put(self, request: Request, key: str) -> Response:
        scope_key = parse_key(key, "elementInstanceKey")
        body = self.json_body(required=True)
        variables = get_variables(body)
        if variables is None:
            raise ValidationFailed("No variables provided")
        local = body.get("local")
        if local is not None and not isinstance(local, bool):
            raise ValidationFailed(f"The value for local is '{local}' but must be a boolean")
        get_operation_reference(body)
        service.set_variables(scope_key, variables, local=bool(local))
        return _no_content()


# ----------------------------------------------------------------------------------------- messages
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/publish-message/
class MessagePublicationView(EngineApiView):
    @_schema("publishMessage", errors=(409,))
    def post(self, request: Request) -> Response:
        body = self.json_body(required=True)
        name = _message_name(body)
        ttl = get_int(body, "timeToLive", default=0, minimum=0, maximum=MAX_DURATION_MS) or 0
        message_key, _instances = service.publish_message(
            name,
            get_str(body, "correlationKey"),
            variables=get_variables(body),
            ttl_ms=ttl,
            message_id=get_str(body, "messageId"),
            tenant_id=get_tenant(body),
        )
        return Response({"messageKey": key_text(message_key), "tenantId": get_tenant(body)})


def _message_name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("No messageName provided")
    return name


class MessageCorrelationView(EngineApiView):
    @_schema("correlateMessage", errors=(404, 409))
    def post(self, request: Request) -> Response:
        body = self.json_body(required=True)
        name = _message_name(body)
        correlation_key = get_str(body, "correlationKey")
        variables = get_variables(body)
        tenant_id = get_tenant(body)
        with transaction.atomic():
            message_key, instances = service.publish_message(
                name, correlation_key, variables=variables, ttl_ms=0, tenant_id=tenant_id
            )
            if not instances:
                # Nothing correlated: roll the message back, as Camunda never stores it.
                raise Rejection(
                    "NOT_FOUND",
                    "CORRELATE",
                    f"Expected to find subscription for message with name '{name}' and "
                    f"correlation key '{correlation_key}', but none was found.",
                )
        return Response(
            {
                "messageKey": key_text(message_key),
                "tenantId": tenant_id,
                "processInstanceKey": key_text(instances[0]),
            }
        )


# --------------------------------------------------------------------------------------------- jobs
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/activate-jobs/
class JobActivationView(EngineApiView):
    @_schema("activateJobs")
    def post(self, request: Request) -> Response:
        body = self.json_body(required=True)
        violations = []
        job_type = body.get("type")
        if not isinstance(job_type, str) or not job_type.strip():
            violations.append("No type provided")
            job_type = ""
        for name, maximum in (("timeout", MAX_DURATION_MS), ("maxJobsToActivate", INT32_MAX)):
            value = body.get(name)
            if value is None:
                violations.append(f"No {name} provided")
            elif isinstance(value, bool) or not isinstance(value, int):
                violations.append(f"The value for {name} is '{value}' but must be an integer")
            elif value <= 0:
                violations.append(f"The value for {name} is '{value}' but must be greater than 0")
            elif value > maximum:
                violations.append(
                    f"The value for {name} is '{value}' but must be at most {maximum}"
                )
        if violations:
            raise ValidationFailed(*violations)
        fetch = body.get("fetchVariable") or None
        if fetch is not None and not isinstance(fetch, list):
            raise ValidationFailed("The value for fetchVariable must be an array")
        tenant_ids = body.get("tenantIds") or None
        if tenant_ids is not None and not isinstance(tenant_ids, list):
            raise ValidationFailed("The value for tenantIds must be an array")
        request_timeout = get_int(body, "requestTimeout", default=0, maximum=MAX_DURATION_MS) or 0
        worker = get_str(body, "worker")
        give_up = time.monotonic() + min(request_timeout, MAX_REQUEST_TIMEOUT_MS) / 1000
        while True:
            jobs = service.activate_jobs(
                job_type,
                worker=worker,
                timeout_ms=body["timeout"],
                max_jobs=body["maxJobsToActivate"],
                fetch_variables=fetch,
                tenant_ids=tenant_ids,
            )
            if jobs or time.monotonic() >= give_up:
                break
            # A pooled connection goes back to the pool while this request waits (a long poll
            # would otherwise hold one for its whole requestTimeout).
            if not connection.in_atomic_block:
                close_old_connections()
            time.sleep(POLL_INTERVAL)
        return Response({"jobs": [_activated_job(item) for item in jobs]})


def _activated_job(item: service.ActivatedJob) -> dict[str, Any]:
    job, definition = item.job, item.definition
    return {
        "jobKey": key_text(job.key),
        "type": job.type,
        "processInstanceKey": key_text(job.process_instance_key),
        "processDefinitionKey": key_text(definition.key),
        "processDefinitionId": definition.bpmn_process_id,
        "processDefinitionVersion": definition.version,
        "elementId": job.element_id,
        "elementInstanceKey": key_text(job.element_instance_key),
        "tenantId": job.tenant_id,
        "customHeaders": {k: str(v) for k, v in (job.custom_headers or {}).items()},
        "worker": job.worker,
        "retries": job.retries,
        "deadline": epoch_ms(job.deadline),
        "variables": item.variables,
        "kind": "BPMN_ELEMENT",
        "listenerEventType": "UNSPECIFIED",
        "tags": [],
        "physicalTenantId": job.tenant_id,
        "rootProcessInstanceKey": res.root_of(job.process_instance_key),
        "businessId": None,
        "userTask": None,
        "priority": 0,
    }


class JobCompletionView(EngineApiView):
    @_schema("completeJob", ok=204, errors=(404, 409))
    def post(self, request: Request, key: str) -> Response:
        job_key = parse_key(key, "jobKey")
        body = self.json_body()
        service.complete_job(job_key, get_variables(body))
        return _no_content()


class JobFailureView(EngineApiView):
    @_schema("failJob", ok=204, errors=(404, 409))
    def post(self, request: Request, key: str) -> Response:
        job_key = parse_key(key, "jobKey")
        body = self.json_body()
        service.fail_job(
            job_key,
            retries=get_int(body, "retries", default=0, maximum=INT32_MAX) or 0,
            error_message=get_str(body, "errorMessage"),
            retry_backoff_ms=get_int(
                body, "retryBackOff", default=0, minimum=0, maximum=MAX_DURATION_MS
            )
            or 0,
            variables=get_variables(body),
        )
        return _no_content()


class JobErrorView(EngineApiView):
    @_schema("throwJobError", ok=204, errors=(404, 409))
    def post(self, request: Request, key: str) -> Response:
        job_key = parse_key(key, "jobKey")
        body = self.json_body(required=True)
        service.throw_job_error(
            job_key,
            error_code=get_str(body, "errorCode", required=True),
            error_message=get_str(body, "errorMessage"),
            variables=get_variables(body),
        )
        return _no_content()


class JobView(EngineApiView):
    @_schema("updateJob", ok=204, errors=(404, 409))
    def patch(self, request: Request, key: str) -> Response:
        job_key = parse_key(key, "jobKey")
        body = self.json_body(required=True)
        changeset = body.get("changeset")
        if not isinstance(changeset, dict):
            raise ValidationFailed("No changeset provided")
        retries = get_int(changeset, "retries", maximum=INT32_MAX)
        timeout = get_int(changeset, "timeout", maximum=MAX_DURATION_MS)
        if retries is None and timeout is None:
            raise ValidationFailed("At least one of [retries, timeout] is required")
        if timeout is not None and timeout <= 0:
            raise ValidationFailed(
                f"The value for timeout is '{timeout}' but must be greater than 0"
            )
        get_operation_reference(body)
        service.update_job(job_key, retries=retries, timeout_ms=timeout)
        return _no_content()


# --------------------------------------------------------------------------------------- user tasks
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/search-user-tasks/
class UserTaskSearchView(EngineApiView):
    @_schema("searchUserTasks")
    def post(self, request: Request) -> Response:
        return Response(
            search(res.user_tasks(), self.json_body(), res.USER_TASK_SEARCH, res.render_user_tasks)
        )


class UserTaskView(EngineApiView):
    @_schema("getUserTask", body=None, errors=(404,))
    def get(self, request: Request, key: str) -> Response:
        task_key = parse_key(key, "userTaskKey")
        task = res.user_tasks().filter(key=task_key).first()
        if task is None:
            raise not_found(f"User task with key '{task_key}' not found")
        return Response(res.render_user_task(task))

    @_schema("updateUserTask", ok=204, errors=(404, 409))
    def patch(self, request: Request, key: str) -> Response:
        task_key = parse_key(key, "userTaskKey")
        body = self.json_body()
        changeset = body.get("changeset") or {}
        if not isinstance(changeset, dict):
            raise ValidationFailed("The value for changeset must be a JSON object")
        changes: dict[str, Any] = {}
        for api_name, field in (("dueDate", "due_date"), ("followUpDate", "follow_up_date")):
            if api_name in changeset:
                value = changeset[api_name]
                changes[field] = None if value in (None, "") else parse_date(value, api_name)
        for api_name, field in (
            ("candidateUsers", "candidate_users"),
            ("candidateGroups", "candidate_groups"),
        ):
            if changeset.get(api_name) is not None:
                value = changeset[api_name]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValidationFailed(f"The value for {api_name} must be an array of strings")
                changes[field] = value
        if changeset.get("priority") is not None:
            priority = get_int(changeset, "priority")
            if priority is None or not 0 <= priority <= 100:
                raise ValidationFailed(
                    f"The value for priority is '{priority}' but must be within the [0,100] range"
                )
            changes["priority"] = priority
        service.update_user_task(task_key, changes, actor=request.user.get_username())
        return _no_content()


class UserTaskCompletionView(EngineApiView):
    @_schema("completeUserTask", ok=204, errors=(404, 409))
    def post(self, request: Request, key: str) -> Response:
        task_key = parse_key(key, "userTaskKey")
        body = self.json_body()
        service.complete_user_task(task_key, get_variables(body), actor=request.user.get_username())
        return _no_content()


class UserTaskAssignmentView(EngineApiView):
    @_schema("assignUserTask", ok=204, errors=(404, 409))
    def post(self, request: Request, key: str) -> Response:
        task_key = parse_key(key, "userTaskKey")
        body = self.json_body(required=True)
        assignee = get_str(body, "assignee", required=True)
        allow_override = body.get("allowOverride")
        if allow_override is not None and not isinstance(allow_override, bool):
            raise ValidationFailed(
                f"The value for allowOverride is '{allow_override}' but must be a boolean"
            )
        if allow_override is False:
            task = UserTask.objects.filter(key=task_key).first()
            if task is not None and task.state == UserTask.CREATED and task.assignee:
                raise Rejection(
                    "INVALID_STATE",
                    "ASSIGN",
                    f"Expected to assign user task with key '{task_key}', but it is already "
                    f"assigned to '{task.assignee}'",
                )
        service.assign_user_task(
            task_key,
            assignee,
            allow_override=allow_override is not False,
            actor=request.user.get_username(),
        )
        return _no_content()


class UserTaskAssigneeView(EngineApiView):
    @_schema("unassignUserTask", body=None, ok=204, errors=(404, 409))
    def delete(self, request: Request, key: str) -> Response:
        task_key = parse_key(key, "userTaskKey")
        service.unassign_user_task(task_key, actor=request.user.get_username())
        return _no_content()


# ---------------------------------------------------------------------------------------- incidents
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/search-incidents/
class IncidentSearchView(EngineApiView):
    @_schema("searchIncidents")
    def post(self, request: Request) -> Response:
        return Response(
            search(res.incidents(), self.json_body(), res.INCIDENT_SEARCH, res.render_incidents)
        )


class IncidentView(EngineApiView):
    @_schema("getIncident", body=None, errors=(404,))
    def get(self, request: Request, key: str) -> Response:
        incident_key = parse_key(key, "incidentKey")
        incident = res.incidents().filter(key=incident_key).first()
        if incident is None:
            raise not_found(f"Incident with key '{incident_key}' not found")
        return Response(res.render_incident(incident))


class IncidentResolutionView(EngineApiView):
    @_schema("resolveIncident", ok=204, errors=(404, 409))
    def post(self, request: Request, key: str) -> Response:
        incident_key = parse_key(key, "incidentKey")
        get_operation_reference(self.json_body())
        service.resolve_incident(incident_key, actor_user=request.user)
        return _no_content()


# ---------------------------------------------------------------------------------------- variables
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/search-variables/
class VariableSearchView(EngineApiView):
    @_schema("searchVariables")
    def post(self, request: Request) -> Response:
        raw = request.query_params.get("truncateValues", "true").lower()
        if raw not in ("true", "false"):
            raise ValidationFailed(f"The value for truncateValues is '{raw}' but must be a boolean")
        truncate = raw == "true"
        return Response(
            search(
                Variable.objects.all(),
                self.json_body(),
                res.VARIABLE_SEARCH,
                lambda rows: [res.render_variable(row, truncate=truncate) for row in rows],
            )
        )


class VariableView(EngineApiView):
    @_schema("getVariable", body=None, errors=(404,))
    def get(self, request: Request, key: str) -> Response:
        variable_key = parse_key(key, "variableKey")
        variable = Variable.objects.filter(key=variable_key).first()
        if variable is None:
            raise not_found(f"Variable with key '{variable_key}' not found")
        return Response(res.render_variable(variable))


# -------------------------------------------------------------------------------------------- clock
# https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/pin-clock/
class ClockControlledView(EngineApiView):
    """Only served when the engine clock is controlled (tests and demos)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not getattr(settings, "ENGINE_CLOCK_CONTROLLED", False):
            raise ApiError(403, "FORBIDDEN", "clock is not controlled")


class ClockView(ClockControlledView):
    @_schema("pinClock", ok=204)
    def put(self, request: Request) -> Response:
        body = self.json_body(required=True)
        timestamp = (
            get_int(body, "timestamp", required=True, minimum=0, maximum=MAX_TIMESTAMP_MS) or 0
        )
        service.pin_clock(dt.datetime.fromtimestamp(timestamp / 1000, tz=dt.UTC))
        return _no_content()


class ClockResetView(ClockControlledView):
    @_schema("resetClock", body=None, ok=204)
    def post(self, request: Request) -> Response:
        service.reset_clock()
        return _no_content()
