"""Result shapes and search specs of each resource (process instances, element instances, user
tasks, incidents, variables), as in Camunda's REST API reference:
https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from processes.engine.service import model_of
from processes.models import (
    ElementInstance,
    Incident,
    Job,
    ProcessDefinition,
    UserTask,
    Variable,
)

from .base import format_date, key_text
from .cluster import root_key, root_of
from .errors import ValidationFailed
from .search import Field, SearchSpec, field_q, json_text, matches, variable_filter_items

ELEMENT_STATES = ("ACTIVE", "COMPLETED", "TERMINATED")
INCIDENT_STATES = ("ACTIVE", "RESOLVED", "PENDING", "MIGRATED")
USER_TASK_STATES = (
    "CREATING",
    "CREATED",
    "ASSIGNING",
    "UPDATING",
    "COMPLETING",
    "COMPLETED",
    "CANCELING",
    "CANCELED",
    "FAILED",
)
ELEMENT_TYPES = (
    "UNSPECIFIED",
    "PROCESS",
    "SUB_PROCESS",
    "EVENT_SUB_PROCESS",
    "AD_HOC_SUB_PROCESS",
    "AD_HOC_SUB_PROCESS_INNER_INSTANCE",
    "MULTI_INSTANCE_BODY",
    "CALL_ACTIVITY",
    "START_EVENT",
    "INTERMEDIATE_CATCH_EVENT",
    "INTERMEDIATE_THROW_EVENT",
    "BOUNDARY_EVENT",
    "END_EVENT",
    "SERVICE_TASK",
    "RECEIVE_TASK",
    "USER_TASK",
    "MANUAL_TASK",
    "TASK",
    "BUSINESS_RULE_TASK",
    "SCRIPT_TASK",
    "SEND_TASK",
    "EXCLUSIVE_GATEWAY",
    "INCLUSIVE_GATEWAY",
    "PARALLEL_GATEWAY",
    "EVENT_BASED_GATEWAY",
    "SEQUENCE_FLOW",
    "UNKNOWN",
)
ERROR_TYPES = (
    "UNSPECIFIED",
    "UNKNOWN",
    "IO_MAPPING_ERROR",
    "JOB_NO_RETRIES",
    "EXECUTION_LISTENER_NO_RETRIES",
    "TASK_LISTENER_NO_RETRIES",
    "AD_HOC_SUB_PROCESS_NO_RETRIES",
    "CONDITION_ERROR",
    "EXTRACT_VALUE_ERROR",
    "CALLED_ELEMENT_ERROR",
    "UNHANDLED_ERROR_EVENT",
    "MESSAGE_SIZE_EXCEEDED",
    "CALLED_DECISION_ERROR",
    "DECISION_EVALUATION_ERROR",
    "FORM_NOT_FOUND",
    "RESOURCE_NOT_FOUND",
)
# Longer variable values are cut in search results unless ``truncateValues=false``.
TRUNCATE_AT = 8191


def definition_name(definition: ProcessDefinition) -> str:
    return definition.name or definition.bpmn_process_id


def element_name(definition: ProcessDefinition, element_id: str) -> str:
    try:
        element = model_of(definition).elements.get(element_id)
    except Exception:  # a definition that no longer parses still has rows to show
        element = None
    return (getattr(element, "name", None) or element_id) if element else element_id


# ---------------------------------------------------------------------- variable filters
def _variable_keys(raw: Any, name: str, key_field: str, **where: Any) -> set[int]:
    """Keys (``key_field`` of Variable) of scopes holding every given ``{name, value}``."""
    result: set[int] | None = None
    for var_name, condition in variable_filter_items(raw, name):
        rows = Variable.objects.filter(name=var_name, **where).values_list(key_field, "value")
        keys = {key for key, value in rows if matches(json_text(value), condition, name)}
        result = keys if result is None else result & keys
    return result or set()


def _pi_variables(queryset: QuerySet, raw: Any, name: str) -> Q:
    return Q(key__in=_variable_keys(raw, name, "process_instance_key"))


# ---------------------------------------------------------------------- process instances
def process_instances() -> QuerySet:
    active_incident = Incident.objects.filter(
        process_instance_key=OuterRef("key"), state=Incident.ACTIVE
    )
    return (
        ElementInstance.objects.filter(element_type="PROCESS")
        .select_related("definition")
        .annotate(active_incident=Exists(active_incident))
    )


def render_process_instance(root: ElementInstance) -> dict[str, Any]:
    definition = root.definition
    has_incident = getattr(root, "active_incident", None)
    if has_incident is None:
        has_incident = Incident.objects.filter(
            process_instance_key=root.key, state=Incident.ACTIVE
        ).exists()
    return {
        "processInstanceKey": key_text(root.key),
        "processDefinitionKey": key_text(definition.key),
        "processDefinitionId": definition.bpmn_process_id,
        "processDefinitionName": definition_name(definition),
        "processDefinitionVersion": definition.version,
        "processDefinitionVersionTag": definition.version_tag or None,
        "startDate": format_date(root.started_at),
        "endDate": format_date(root.ended_at),
        "state": root.state,
        "hasIncident": bool(has_incident),
        "tenantId": root.tenant_id,
        "parentProcessInstanceKey": key_text(root.parent_process_instance_key),
        "parentElementInstanceKey": key_text(root.parent_element_instance_key),
        "rootProcessInstanceKey": root_key(root.key, root.parent_process_instance_key),
        "suspendedDate": None,
        "businessId": None,
        "tags": [],
    }


def render_process_instances(rows: Iterable[ElementInstance]) -> list[dict[str, Any]]:
    return [render_process_instance(row) for row in rows]


def _pi_element(fld: Field) -> Any:
    """Instances having an element instance whose ``fld`` matches."""

    def custom(queryset: QuerySet, raw: Any, name: str) -> Q:
        inner = ElementInstance.objects.exclude(element_type="PROCESS").filter(
            field_q(raw, fld, name)
        )
        return Q(key__in=inner.values("process_instance_key"))

    return custom


def _pi_error_message(queryset: QuerySet, raw: Any, name: str) -> Q:
    inner = Incident.objects.filter(field_q(raw, Field("error_message"), name))
    return Q(key__in=inner.values("process_instance_key"))


def _pi_element_incident(queryset: QuerySet, raw: Any, name: str) -> Q:
    with_incident = ElementInstance.objects.exclude(element_type="PROCESS").filter(
        has_incident=True
    )
    cond = Q(key__in=with_incident.values("process_instance_key"))
    return cond if raw is True else ~cond


def _pi_retries_left(queryset: QuerySet, raw: Any, name: str) -> Q:
    """Instances with a job that still has retries (``hasRetriesLeft``)."""
    if not isinstance(raw, bool):
        raise_bool(name, raw)
    with_retries = Job.objects.filter(retries__gt=0).exclude(
        state__in=[Job.COMPLETED, Job.CANCELED, Job.ERROR_THROWN]
    )
    cond = Q(key__in=with_retries.values("process_instance_key"))
    return cond if raw else ~cond


def java_hash(text: str) -> int:
    """Java's ``String.hashCode`` (Camunda's incident error hash code)."""
    value = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        value = (31 * value + int(unit, 16)) & 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def _pi_error_hash(queryset: QuerySet, raw: Any, name: str) -> Q:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationFailed(f"The value for {name} is '{raw}' but must be an integer")
    rows = Incident.objects.filter(state=Incident.ACTIVE).values_list(
        "process_instance_key", "error_message"
    )
    return Q(key__in={key for key, message in rows if java_hash(message) == raw})


def _nothing_unless_absent(queryset: QuerySet, raw: Any, name: str) -> Q:
    """Fields the engine does not record (tags, batch operations): nothing matches a value."""
    return Q(pk__in=[])


PROCESS_INSTANCE_SEARCH = SearchSpec(
    filters={
        "processInstanceKey": Field("key", "key"),
        "processDefinitionKey": Field("definition_id", "key"),
        "processDefinitionId": Field("definition__bpmn_process_id"),
        "processDefinitionName": Field("definition__name"),
        "processDefinitionVersion": Field("definition__version", "int"),
        "processDefinitionVersionTag": Field("definition__version_tag"),
        "state": Field("state", choices=ELEMENT_STATES),
        "startDate": Field("started_at", "date"),
        "endDate": Field("ended_at", "date"),
        "hasIncident": Field("active_incident", "bool"),
        "tenantId": Field("tenant_id"),
        "parentProcessInstanceKey": Field("parent_process_instance_key", "key"),
        "parentElementInstanceKey": Field("parent_element_instance_key", "key"),
        "variables": Field(custom=_pi_variables),
        "elementId": Field(custom=_pi_element(Field("element_id"))),
        "elementInstanceState": Field(custom=_pi_element(Field("state", choices=ELEMENT_STATES))),
        "hasElementInstanceIncident": Field(custom=_pi_element_incident),
        "errorMessage": Field(custom=_pi_error_message),
        "hasRetriesLeft": Field(custom=_pi_retries_left),
        "incidentErrorHashCode": Field(custom=_pi_error_hash),
        "tags": Field(custom=_nothing_unless_absent),
        "batchOperationId": Field(custom=_nothing_unless_absent),
    },
    sorts={
        "processInstanceKey": "key",
        "processDefinitionId": "definition__bpmn_process_id",
        "processDefinitionName": "definition__name",
        "processDefinitionVersion": "definition__version",
        "processDefinitionVersionTag": "definition__version_tag",
        "processDefinitionKey": "definition_id",
        "parentProcessInstanceKey": "parent_process_instance_key",
        "parentElementInstanceKey": "parent_element_instance_key",
        "startDate": "started_at",
        "endDate": "ended_at",
        "state": "state",
        "hasIncident": "active_incident",
        "tenantId": "tenant_id",
    },
)


# ---------------------------------------------------------------------- element instances
def element_instances() -> QuerySet:
    incident = Incident.objects.filter(
        element_instance_key=OuterRef("key"), state=Incident.ACTIVE
    ).order_by("key")
    return (
        ElementInstance.objects.exclude(element_type="PROCESS")
        .select_related("definition")
        .annotate(incident_key=Subquery(incident.values("key")[:1]))
    )


def render_element_instance(ei: ElementInstance) -> dict[str, Any]:
    definition = ei.definition
    return {
        "elementInstanceKey": key_text(ei.key),
        "processInstanceKey": key_text(ei.process_instance_key),
        "processDefinitionKey": key_text(definition.key),
        "processDefinitionId": definition.bpmn_process_id,
        "elementId": ei.element_id,
        "elementName": element_name(definition, ei.element_id),
        "type": ei.element_type,
        "state": ei.state,
        "hasIncident": ei.has_incident,
        "tenantId": ei.tenant_id,
        "startDate": format_date(ei.started_at),
        "endDate": format_date(ei.ended_at),
        "incidentKey": key_text(getattr(ei, "incident_key", None)),
        "rootProcessInstanceKey": root_of(ei.process_instance_key),
    }


def render_element_instances(rows: Iterable[ElementInstance]) -> list[dict[str, Any]]:
    return [render_element_instance(row) for row in rows]


def _element_name(queryset: QuerySet, raw: Any, name: str) -> Q:
    """Element names live in the model: find the ids carrying the name per definition."""
    q = Q(pk__in=[])
    definition_keys = queryset.values_list("definition_id", flat=True).distinct()
    for definition in ProcessDefinition.objects.filter(key__in=definition_keys):
        model = model_of(definition)
        ids = [
            element_id
            for element_id in model.elements
            if matches(element_name(definition, element_id), raw, name)
        ]
        if ids:
            q |= Q(definition_id=definition.key, element_id__in=ids)
    return q


ELEMENT_INSTANCE_SEARCH = SearchSpec(
    filters={
        "elementInstanceKey": Field("key", "key"),
        "processInstanceKey": Field("process_instance_key", "key"),
        "processDefinitionKey": Field("definition_id", "key"),
        "processDefinitionId": Field("definition__bpmn_process_id"),
        "elementId": Field("element_id"),
        "elementName": Field(custom=_element_name),
        "type": Field("element_type", choices=ELEMENT_TYPES),
        "state": Field("state", choices=ELEMENT_STATES),
        "hasIncident": Field("has_incident", "bool"),
        "incidentKey": Field("incident_key", "key"),
        "tenantId": Field("tenant_id"),
        "startDate": Field("started_at", "date"),
        "endDate": Field("ended_at", "date"),
        "elementInstanceScopeKey": Field("scope_key", "key"),
    },
    sorts={
        "elementInstanceKey": "key",
        "processInstanceKey": "process_instance_key",
        "processDefinitionKey": "definition_id",
        "processDefinitionId": "definition__bpmn_process_id",
        "startDate": "started_at",
        "endDate": "ended_at",
        "elementId": "element_id",
        "elementName": "element_id",
        "type": "element_type",
        "state": "state",
        "incidentKey": "incident_key",
        "tenantId": "tenant_id",
    },
)


# ---------------------------------------------------------------------- user tasks
def user_tasks() -> QuerySet:
    return UserTask.objects.select_related("definition")


def render_user_task(task: UserTask) -> dict[str, Any]:
    definition = task.definition
    return {
        "userTaskKey": key_text(task.key),
        "name": task.name or task.element_id,
        "state": task.state,
        "assignee": task.assignee or None,
        "candidateGroups": list(task.candidate_groups or []),
        "candidateUsers": list(task.candidate_users or []),
        "elementId": task.element_id,
        "elementInstanceKey": key_text(task.element_instance_key),
        "processInstanceKey": key_text(task.process_instance_key),
        "processDefinitionKey": key_text(definition.key),
        "processDefinitionId": definition.bpmn_process_id,
        "processDefinitionVersion": definition.version,
        "processName": definition_name(definition),
        "tenantId": task.tenant_id,
        "creationDate": format_date(task.created_at),
        "completionDate": format_date(task.completed_at),
        "dueDate": format_date(task.due_date),
        "followUpDate": format_date(task.follow_up_date),
        "formKey": None,
        "externalFormReference": task.form_key or None,
        "customHeaders": {k: str(v) for k, v in (task.custom_headers or {}).items()},
        "priority": task.priority,
        "rootProcessInstanceKey": root_of(task.process_instance_key),
        "businessId": None,
        "tags": [],
    }


def render_user_tasks(rows: Iterable[UserTask]) -> list[dict[str, Any]]:
    return [render_user_task(row) for row in rows]


def _candidates(column: str) -> Any:
    def custom(queryset: QuerySet, raw: Any, name: str) -> Q:
        keys = [
            key
            for key, members in queryset.values_list("key", column)
            if any(matches(member, raw, name) for member in members or [])
        ]
        return Q(key__in=keys)

    return custom


def _task_pi_variables(queryset: QuerySet, raw: Any, name: str) -> Q:
    return Q(process_instance_key__in=_variable_keys(raw, name, "process_instance_key"))


def _task_local_variables(queryset: QuerySet, raw: Any, name: str) -> Q:
    return Q(element_instance_key__in=_variable_keys(raw, name, "scope_key"))


USER_TASK_SEARCH = SearchSpec(
    filters={
        "userTaskKey": Field("key", "key"),
        "state": Field("state", choices=USER_TASK_STATES),
        "assignee": Field("assignee"),
        "priority": Field("priority", "int"),
        "candidateGroup": Field(custom=_candidates("candidate_groups")),
        "candidateUser": Field(custom=_candidates("candidate_users")),
        "elementId": Field("element_id"),
        "name": Field("name"),
        "processDefinitionId": Field("definition__bpmn_process_id"),
        "processDefinitionKey": Field("definition_id", "key"),
        "processInstanceKey": Field("process_instance_key", "key"),
        "elementInstanceKey": Field("element_instance_key", "key"),
        "tenantId": Field("tenant_id"),
        "creationDate": Field("created_at", "date"),
        "completionDate": Field("completed_at", "date"),
        "dueDate": Field("due_date", "date"),
        "followUpDate": Field("follow_up_date", "date"),
        "processInstanceVariables": Field(custom=_task_pi_variables),
        "localVariables": Field(custom=_task_local_variables),
    },
    sorts={
        "creationDate": "created_at",
        "completionDate": "completed_at",
        "followUpDate": "follow_up_date",
        "dueDate": "due_date",
        "priority": "priority",
        "name": "name",
    },
)


# ---------------------------------------------------------------------- incidents
def incidents() -> QuerySet:
    return Incident.objects.select_related("definition")


def render_incident(incident: Incident) -> dict[str, Any]:
    return {
        "incidentKey": key_text(incident.key),
        "processInstanceKey": key_text(incident.process_instance_key),
        "processDefinitionKey": key_text(incident.definition_id),
        "processDefinitionId": incident.definition.bpmn_process_id,
        "elementId": incident.element_id,
        "elementInstanceKey": key_text(incident.element_instance_key),
        "jobKey": key_text(incident.job_key),
        "errorType": incident.error_type,
        "errorMessage": incident.error_message,
        "creationTime": format_date(incident.created_at),
        "state": incident.state,
        "tenantId": incident.tenant_id,
        "rootProcessInstanceKey": root_of(incident.process_instance_key),
    }


def render_incidents(rows: Iterable[Incident]) -> list[dict[str, Any]]:
    return [render_incident(row) for row in rows]


INCIDENT_SEARCH = SearchSpec(
    filters={
        "incidentKey": Field("key", "key"),
        "processInstanceKey": Field("process_instance_key", "key"),
        "processDefinitionKey": Field("definition_id", "key"),
        "processDefinitionId": Field("definition__bpmn_process_id"),
        "elementId": Field("element_id"),
        "elementInstanceKey": Field("element_instance_key", "key"),
        "jobKey": Field("job_key", "key"),
        "errorType": Field("error_type", choices=ERROR_TYPES),
        "errorMessage": Field("error_message"),
        "state": Field("state", choices=INCIDENT_STATES),
        "tenantId": Field("tenant_id"),
        "creationTime": Field("created_at", "date"),
    },
    sorts={
        "incidentKey": "key",
        "processInstanceKey": "process_instance_key",
        "processDefinitionKey": "definition_id",
        "processDefinitionId": "definition__bpmn_process_id",
        "elementId": "element_id",
        "elementInstanceKey": "element_instance_key",
        "jobKey": "job_key",
        "errorType": "error_type",
        "errorMessage": "error_message",
        "state": "state",
        "tenantId": "tenant_id",
        "creationTime": "created_at",
    },
)
PROCESS_INSTANCE_INCIDENT_SEARCH = SearchSpec(filters={}, sorts=INCIDENT_SEARCH.sorts)


# ---------------------------------------------------------------------- variables
def render_variable(variable: Variable, *, truncate: bool | None = None) -> dict[str, Any]:
    """A variable; ``truncate`` None = the full value without ``isTruncated`` (GET by key)."""
    text = json_text(variable.value)
    result: dict[str, Any] = {
        "variableKey": key_text(variable.key),
        "name": variable.name,
        "value": text,
        "scopeKey": key_text(variable.scope_key),
        "processInstanceKey": key_text(variable.process_instance_key),
        "rootProcessInstanceKey": root_of(variable.process_instance_key),
        "tenantId": variable.tenant_id,
    }
    if truncate is not None:
        cut = truncate and len(text) > TRUNCATE_AT
        result["value"] = text[:TRUNCATE_AT] if cut else text
        result["isTruncated"] = cut
    return result


def _variable_value(queryset: QuerySet, raw: Any, name: str) -> Q:
    keys = [
        key
        for key, value in queryset.values_list("key", "value")
        if matches(json_text(value), raw, name)
    ]
    return Q(key__in=keys)


def _variable_truncated(queryset: QuerySet, raw: Any, name: str) -> Q:
    if not isinstance(raw, bool):
        raise_bool(name, raw)
    keys = [
        key
        for key, value in queryset.values_list("key", "value")
        if (len(json_text(value)) > TRUNCATE_AT) == raw
    ]
    return Q(key__in=keys)


def raise_bool(name: str, raw: Any) -> None:
    raise ValidationFailed(f"The value for {name} is '{raw}' but must be a boolean")


VARIABLE_SEARCH = SearchSpec(
    filters={
        "name": Field("name"),
        "value": Field(custom=_variable_value),
        "scopeKey": Field("scope_key", "key"),
        "processInstanceKey": Field("process_instance_key", "key"),
        "variableKey": Field("key", "key"),
        "tenantId": Field("tenant_id"),
        "isTruncated": Field(custom=_variable_truncated),
    },
    sorts={
        "value": "value",
        "name": "name",
        "tenantId": "tenant_id",
        "variableKey": "key",
        "scopeKey": "scope_key",
        "processInstanceKey": "process_instance_key",
    },
)
