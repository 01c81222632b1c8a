"""The port on the embedded engine: commands call ``processes.engine.service``; reads are queries
on the engine's tables, turned into the port's dataclasses (a fixed number of queries per call)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.db.models import Count, Q

from processes import port
from processes.adapters import DeployedDefinition, bpmn_files, looks_like_xml

# Element types that are never "where an instance waits".
PASS_THROUGH = {"PROCESS", "SUB_PROCESS", "EVENT_SUB_PROCESS", "MULTI_INSTANCE_BODY"}


def _actor(user: Any) -> str:
    if user is None:
        return ""
    if isinstance(user, str):
        return user
    return str(getattr(user, "username", "") or "")


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """Engine rejections become the port's error."""
    from processes.engine.runtime import Rejection

    try:
        yield
    except Rejection as rejection:
        raise port.PortError(
            rejection.message, rejection_type=rejection.rejection_type
        ) from rejection


# ------------------------------------------------------------------------------ commands
def deploy(resource: str | bytes | Path, name: str | None = None) -> list[DeployedDefinition]:
    from processes.engine import service

    if isinstance(resource, Path) or not looks_like_xml(resource):
        path = Path(resource if not isinstance(resource, bytes) else resource.decode())
        items: list[tuple[str, bytes | str]] = [(name or path.name, path.read_bytes())]
    else:
        items = [(name or "process.bpmn", resource)]
    with _refusals():
        _key, deployed = service.deploy(items)
    return [
        DeployedDefinition(d.definition.bpmn_process_id, d.definition.version, d.definition.key)
        for d in deployed
    ]


def deploy_all() -> list[DeployedDefinition]:
    from processes.engine import service

    files = bpmn_files()
    if not files:
        return []
    with _refusals():
        _key, deployed = service.deploy([(f.name, f.read_bytes()) for f in files])
    return [
        DeployedDefinition(d.definition.bpmn_process_id, d.definition.version, d.definition.key)
        for d in deployed
    ]


def start(
    process_id: str,
    variables: dict[str, Any] | None = None,
    business_key: str | None = None,
    version: int | None = None,
) -> int:
    from processes.engine import service

    with _refusals():
        root = service.create_instance(
            process_id=process_id,
            variables=variables or {},
            business_key=business_key or "",
            version=version,
        )
    return int(root.key)


def start_many(
    process_id: str,
    starts: Sequence[tuple[dict[str, Any] | None, str | None]],
    version: int | None = None,
) -> list[int]:
    from processes.engine import service

    with _refusals():
        roots = service.create_instances(
            process_id=process_id,
            starts=[(variables or {}, business_key or "") for variables, business_key in starts],
            version=version,
        )
    return [int(root.key) for root in roots]


def publish_message(
    name: str,
    correlation_key: str,
    variables: dict[str, Any] | None = None,
    ttl_ms: int = 0,
    message_id: str | None = None,
) -> int:
    from processes.engine import service

    with _refusals():
        key, _instances = service.publish_message(
            name, correlation_key, variables=variables, ttl_ms=ttl_ms, message_id=message_id or ""
        )
    return int(key)


def cancel(process_instance_key: int, user: Any = None) -> None:
    from processes.engine import service

    with _refusals():
        service.cancel_instance(int(process_instance_key), actor=_actor(user))


def complete_user_task(task_key: int, variables: dict[str, Any] | None, user: Any) -> None:
    from processes.engine import service

    with _refusals():
        service.complete_user_task(int(task_key), variables or {}, actor=_actor(user))


def assign_user_task(
    task_key: int, assignee: str, user: Any = None, *, allow_override: bool = True
) -> None:
    from processes.engine import service

    with _refusals():
        service.assign_user_task(
            int(task_key), assignee, allow_override=allow_override, actor=_actor(user)
        )


def unassign_user_task(task_key: int, user: Any = None) -> None:
    from processes.engine import service

    with _refusals():
        service.unassign_user_task(int(task_key), actor=_actor(user))


def resolve_incident(
    incident_key: int,
    *,
    retries: int | None = None,
    variables: dict[str, Any] | None = None,
    user: Any = None,
) -> None:
    from django.db import transaction

    from processes.engine import service
    from processes.models import Incident, Job

    incident = Incident.objects.filter(key=incident_key).first()
    if incident is None:
        raise port.PortError(f"No incident with key '{incident_key}'", rejection_type="NOT_FOUND")
    with _refusals(), transaction.atomic():
        if variables:
            service.set_variables(incident.element_instance_key, variables, local=False)
        job = Job.objects.filter(key=incident.job_key).first() if incident.job_key else None
        if job is not None and retries is not None and job.retries != retries:
            service.update_job(job.key, retries=retries)
        service.resolve_incident(incident.key, actor_user=user)


# ------------------------------------------------------------------------------ composable
def instances_waiting_at(element_id: str, process_id: str = "") -> Any:
    from processes.models import ElementInstance

    rows = ElementInstance.objects.filter(element_id=element_id, state=ElementInstance.ACTIVE)
    if process_id:
        rows = rows.filter(definition__bpmn_process_id=process_id)
    return rows.values_list("process_instance_key", flat=True)


def instances_with_open_incident(process_id: str = "") -> Any:
    from processes.models import Incident

    rows = Incident.objects.filter(state=Incident.ACTIVE)
    if process_id:
        rows = rows.filter(definition__bpmn_process_id=process_id)
    return rows.values_list("process_instance_key", flat=True)


# ------------------------------------------------------------------------------ reads
def now() -> dt.datetime:
    from processes.engine import clock

    return clock.now()


def _definition_row(key: int) -> Any:
    from processes.engine.service import definition_by_key

    return definition_by_key(key)


def _definition(row: Any) -> port.Definition:
    return port.Definition(
        row.key,
        row.bpmn_process_id,
        row.name,
        row.version,
        row.version_tag,
        row.resource_name,
        row.deployed_at,
    )


def _task(row: Any) -> port.UserTask:
    return port.UserTask(
        key=row.key,
        name=row.name,
        state=row.state,
        assignee=row.assignee,
        candidate_groups=list(row.candidate_groups or []),
        candidate_users=list(row.candidate_users or []),
        element_id=row.element_id,
        element_instance_key=row.element_instance_key,
        process_instance_key=row.process_instance_key,
        process_id=_definition_row(row.definition_id).bpmn_process_id,
        form_key=row.form_key,
        priority=row.priority,
        created_at=row.created_at,
        due_date=row.due_date,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
    )


def _incident(row: Any) -> port.Incident:
    definition = _definition_row(row.definition_id)
    return port.Incident(
        key=row.key,
        process_instance_key=row.process_instance_key,
        process_id=definition.bpmn_process_id,
        version=definition.version,
        element_id=row.element_id,
        element_instance_key=row.element_instance_key,
        job_key=row.job_key,
        error_type=row.error_type,
        error_message=row.error_message,
        state=row.state,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by.get_username() if row.resolved_by_id else "",
    )


def _instance(row: Any) -> port.Instance:
    definition = _definition_row(row.definition_id)
    return port.Instance(
        key=row.key,
        definition_key=definition.key,
        process_id=definition.bpmn_process_id,
        process_name=definition.name or definition.bpmn_process_id,
        version=definition.version,
        state=row.state,
        started_at=row.started_at,
        ended_at=row.ended_at,
        business_key=row.business_key,
        parent_process_instance_key=row.parent_process_instance_key,
    )


def _offered(audience: port.Audience) -> Q:
    rule = Q(candidate_users__icontains=f'"{audience.username}"')
    for group in audience.groups:
        rule |= Q(candidate_groups__icontains=f'"{group}"')
    return rule


TASK_ORDER = {
    "created": ["-created_at", "-key"],
    "created_asc": ["created_at", "key"],
    "due": ["due_date", "-priority"],
    "priority": ["-priority", "created_at"],
    "completed": ["-completed_at", "-key"],
}


def user_tasks(query: port.TaskQuery, offset: int, limit: int) -> port.Results:
    from django.utils import timezone

    from processes.models import UserTask

    tasks = UserTask.objects.all()
    if query.state:
        tasks = tasks.filter(state=query.state)
    if query.assignee is not None:
        tasks = tasks.filter(assignee=query.assignee)
    if query.offered_to is not None:
        tasks = tasks.filter(_offered(query.offered_to))
    if query.visible_to is not None:
        tasks = tasks.filter(Q(assignee=query.visible_to.username) | _offered(query.visible_to))
    if query.actionable_by is not None:
        tasks = tasks.filter(
            Q(assignee=query.actionable_by.username)
            | (Q(assignee="") & _offered(query.actionable_by))
        )
    if query.process_id:
        tasks = tasks.filter(definition__bpmn_process_id=query.process_id)
    if query.process_instance_key is not None:
        tasks = tasks.filter(process_instance_key=query.process_instance_key)
    if query.element_id:
        tasks = tasks.filter(element_id=query.element_id)
    if query.form_key:
        tasks = tasks.filter(form_key=query.form_key)
    if query.name:
        tasks = tasks.filter(name__icontains=query.name)
    if query.due_before is not None:
        due = query.due_before
        tasks = tasks.filter(
            due_date__lte=due if timezone.is_aware(due) else timezone.make_aware(due)
        )
    if query.min_priority is not None:
        tasks = tasks.filter(priority__gte=query.min_priority)
    total = tasks.count()
    if limit <= 0:
        return port.Results([], total)
    order = TASK_ORDER.get(query.sort, TASK_ORDER["created"])
    rows = tasks.order_by(*order)[offset : offset + limit]
    return port.Results([_task(row) for row in rows], total)


def user_task(task_key: int) -> port.UserTask | None:
    from processes.models import UserTask

    row = UserTask.objects.filter(key=task_key).first()
    return _task(row) if row is not None else None


def user_task_completed_by(process_instance_key: int, element_id: str) -> str:
    from processes.models import UserTask

    row = (
        UserTask.objects.filter(
            process_instance_key=process_instance_key,
            element_id=element_id,
            state=UserTask.COMPLETED,
        )
        .order_by("-completed_at", "-key")
        .first()
    )
    return row.completed_by if row is not None else ""


def user_task_variables(task: port.UserTask) -> dict[str, Any]:
    from processes.models import ElementInstance, Variable

    parents = dict(
        ElementInstance.objects.filter(process_instance_key=task.process_instance_key).values_list(
            "key", "scope_key"
        )
    )
    chain = []
    key: int | None = task.element_instance_key
    while key is not None:
        chain.append(key)
        key = parents.get(key)
    by_scope: dict[int, dict[str, Any]] = {}
    for scope, name, value in Variable.objects.filter(scope_key__in=chain).values_list(
        "scope_key", "name", "value"
    ):
        by_scope.setdefault(scope, {})[name] = value
    visible: dict[str, Any] = {}
    for scope in reversed(chain):
        visible.update(by_scope.get(scope, {}))
    return visible


def incidents(
    process_id: str, error_type: str, state: str, offset: int, limit: int
) -> port.Results:
    from processes.models import Incident

    rows = Incident.objects.all()
    if state:
        rows = rows.filter(state=state)
    if process_id:
        rows = rows.filter(definition__bpmn_process_id=process_id)
    if error_type:
        rows = rows.filter(error_type=error_type)
    total = rows.count()
    if limit <= 0:
        return port.Results([], total)
    page = rows.select_related("resolved_by").order_by("-created_at", "-key")
    return port.Results([_incident(r) for r in page[offset : offset + limit]], total)


def incident(incident_key: int) -> port.Incident | None:
    from processes.models import Incident

    row = Incident.objects.select_related("resolved_by").filter(key=incident_key).first()
    return _incident(row) if row is not None else None


def incident_groups() -> list[dict[str, Any]]:
    from processes.models import Incident

    return [
        {
            "process_id": row["definition__bpmn_process_id"],
            "error_type": row["error_type"],
            "n": row["n"],
        }
        for row in Incident.objects.filter(state=Incident.ACTIVE)
        .values("definition__bpmn_process_id", "error_type")
        .annotate(n=Count("key"))
        .order_by("-n")
    ]


def incident_job(incident: port.Incident) -> port.JobInfo | None:
    from processes.models import Job

    if incident.job_key is None:
        return None
    row = Job.objects.filter(key=incident.job_key).first()
    return port.JobInfo(row.key, row.type, row.retries, row.state) if row is not None else None


def is_element_instance_active(element_instance_key: int) -> bool:
    from processes.models import ElementInstance

    return ElementInstance.objects.filter(
        key=element_instance_key, state=ElementInstance.ACTIVE
    ).exists()


def instance(process_instance_key: int) -> port.Instance | None:
    from processes.models import ElementInstance

    row = ElementInstance.objects.filter(key=process_instance_key, element_type="PROCESS").first()
    return _instance(row) if row is not None else None


def instance_summaries(keys: list[int]) -> dict[int, port.InstanceSummary]:
    """Five queries for any number of instances (no per-instance queries)."""
    from processes.engine.service import model_of
    from processes.models import ElementInstance, Incident, Timer, UserTask

    if not keys:
        return {}
    rows = list(
        ElementInstance.objects.filter(process_instance_key__in=keys)
        .filter(Q(element_type="PROCESS") | Q(state=ElementInstance.ACTIVE))
        .values(
            "key",
            "process_instance_key",
            "definition_id",
            "element_id",
            "element_type",
            "state",
            "started_at",
            "ended_at",
            "has_incident",
            "business_key",
        )
    )
    open_incidents = Counter(
        Incident.objects.filter(process_instance_key__in=keys, state=Incident.ACTIVE).values_list(
            "process_instance_key", flat=True
        )
    )
    open_tasks = Counter(
        UserTask.objects.filter(process_instance_key__in=keys, state=UserTask.CREATED).values_list(
            "process_instance_key", flat=True
        )
    )
    timers = dict(
        Timer.objects.filter(process_instance_key__in=keys).values_list(
            "element_instance_key", "due_at"
        )
    )
    summaries: dict[int, port.InstanceSummary] = {}
    for row in rows:
        if row["element_type"] != "PROCESS":
            continue
        definition = _definition_row(row["definition_id"])
        summaries[row["key"]] = port.InstanceSummary(
            key=row["key"],
            process_id=definition.bpmn_process_id,
            process_name=definition.name or definition.bpmn_process_id,
            version=definition.version,
            state=row["state"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            business_key=row["business_key"],
            open_incidents=open_incidents.get(row["key"], 0),
            open_tasks=open_tasks.get(row["key"], 0),
        )
    moment = now()
    for row in rows:
        if row["element_type"] in PASS_THROUGH or row["state"] != ElementInstance.ACTIVE:
            continue
        summary = summaries.get(row["process_instance_key"])
        if summary is None:
            continue
        model = model_of(_definition_row(row["definition_id"]))
        el = model.elements.get(row["element_id"])
        if el is None:
            continue
        due = timers.get(row["key"])
        summary.steps.append(
            port.WaitingStep(
                element_id=el.id,
                element_instance_key=row["key"],
                text=port.step_text(el, el.id, due, moment),
                kind=el.kind,
                has_incident=row["has_incident"],
                due_at=due,
            )
        )
    for summary in summaries.values():
        summary.steps.sort(key=lambda s: s.element_instance_key)
    return summaries


def element_instances(process_instance_key: int) -> list[port.ElementInstance]:
    from processes.models import ElementInstance

    return [
        port.ElementInstance(key, process_instance_key, element_id, element_type, state, scope, inc)
        for key, element_id, element_type, state, scope, inc in ElementInstance.objects.filter(
            process_instance_key=process_instance_key
        )
        .order_by("key")
        .values_list("key", "element_id", "element_type", "state", "scope_key", "has_incident")
    ]


def taken_flows(process_instance_key: int) -> set[str]:
    from processes.models import Record

    return set(
        Record.objects.filter(
            process_instance_key=process_instance_key, intent="SEQUENCE_FLOW_TAKEN"
        ).values_list("element_id", flat=True)
    )


def variables(process_instance_key: int) -> list[port.Variable]:
    from processes.models import Variable

    return [
        port.Variable(scope, name, value)
        for scope, name, value in Variable.objects.filter(process_instance_key=process_instance_key)
        .order_by("scope_key", "name")
        .values_list("scope_key", "name", "value")
    ]


def instance_incidents(process_instance_key: int) -> list[port.Incident]:
    from processes.models import Incident

    rows = Incident.objects.filter(process_instance_key=process_instance_key)
    return [_incident(r) for r in rows.select_related("resolved_by").order_by("-created_at")]


def instance_user_tasks(process_instance_key: int) -> list[port.UserTask]:
    from processes.models import UserTask

    rows = UserTask.objects.filter(process_instance_key=process_instance_key)
    return [_task(r) for r in rows.order_by("-created_at", "-key")]


NOTABLE_ELEMENT_TYPES = [
    "PROCESS",
    "SERVICE_TASK",
    "USER_TASK",
    "RECEIVE_TASK",
    "INTERMEDIATE_CATCH_EVENT",
    "END_EVENT",
]


def history(process_instance_key: int, limit: int, notable: bool) -> list[port.HistoryEntry]:
    from processes.models import Record

    records = Record.objects.filter(process_instance_key=process_instance_key)
    if notable:
        records = records.filter(
            Q(value_type__in=["USER_TASK", "INCIDENT", "MESSAGE", "TIMER"])
            | Q(value_type="JOB", intent__in=["FAILED", "ERROR_THROWN"])
            | Q(
                value_type="PROCESS_INSTANCE",
                intent__in=["ELEMENT_COMPLETED", "ELEMENT_TERMINATED"],
                element_type__in=NOTABLE_ELEMENT_TYPES,
            )
        )
    else:
        records = records.exclude(intent="SEQUENCE_FLOW_TAKEN").exclude(value_type="VARIABLE")
    return [
        port.HistoryEntry(
            r.at, r.value_type, r.intent, r.element_id, r.element_type, r.actor, r.detail or {}
        )
        for r in records.order_by("-id")[:limit]
    ]


def definitions() -> list[port.Definition]:
    from processes.models import ProcessDefinition

    return [
        _definition(d) for d in ProcessDefinition.objects.order_by("bpmn_process_id", "-version")
    ]


def definition(definition_key: int) -> port.Definition | None:
    from processes.models import ProcessDefinition

    row = ProcessDefinition.objects.filter(key=definition_key).first()
    return _definition(row) if row is not None else None


def latest_definition(process_id: str) -> port.Definition | None:
    from processes.models import ProcessDefinition

    row = ProcessDefinition.objects.filter(bpmn_process_id=process_id).order_by("-version").first()
    return _definition(row) if row is not None else None


def process_model(definition_key: int) -> port.ProcessModel:
    from processes.engine.service import model_of
    from processes.models import ProcessDefinition

    try:
        return model_of(_definition_row(definition_key))
    except ProcessDefinition.DoesNotExist as error:
        raise port.PortError(
            f"No process definition '{definition_key}'", rejection_type="NOT_FOUND"
        ) from error


def instance_counts() -> dict[tuple[int, str], int]:
    from processes.models import ElementInstance

    return {
        (row["definition_id"], row["state"]): row["n"]
        for row in ElementInstance.objects.filter(element_type="PROCESS")
        .values("definition_id", "state")
        .annotate(n=Count("key"))
    }


def open_incident_counts() -> dict[int, int]:
    from processes.models import Incident

    return dict(
        Incident.objects.filter(state=Incident.ACTIVE)
        .values("definition_id")
        .annotate(n=Count("key"))
        .values_list("definition_id", "n")
    )


def element_counts(definition_key: int) -> tuple[dict[str, int], dict[str, int]]:
    from processes.models import ElementInstance, Incident

    active = dict(
        ElementInstance.objects.filter(definition_id=definition_key, state=ElementInstance.ACTIVE)
        .exclude(element_type__in=["PROCESS", "MULTI_INSTANCE_BODY"])
        .values("element_id")
        .annotate(n=Count("key"))
        .values_list("element_id", "n")
    )
    incidents = dict(
        Incident.objects.filter(definition_id=definition_key, state=Incident.ACTIVE)
        .values("element_id")
        .annotate(n=Count("key"))
        .values_list("element_id", "n")
    )
    return active, incidents


def search_instances(query: port.InstanceQuery, offset: int, limit: int) -> port.Results:
    from processes.models import ElementInstance

    rows = ElementInstance.objects.filter(
        definition_id=query.definition_key, element_type="PROCESS"
    )
    if query.state:
        rows = rows.filter(state=query.state)
    if query.waiting_at:
        rows = rows.filter(key__in=instances_waiting_at(query.waiting_at))
    if query.has_incident:
        rows = rows.filter(key__in=instances_with_open_incident())
    if query.started_from:
        rows = rows.filter(started_at__gte=query.started_from)
    if query.started_to:
        rows = rows.filter(started_at__lte=query.started_to)
    total = rows.count()
    page = rows.order_by("-started_at", "-key")[offset : offset + limit] if limit else []
    return port.Results([_instance(r) for r in page], total)


def latest_instances(definition_key: int, limit: int) -> list[port.Instance]:
    from processes.models import ElementInstance

    rows = ElementInstance.objects.filter(definition_id=definition_key, element_type="PROCESS")
    return [_instance(r) for r in rows.order_by("-started_at")[:limit]]
