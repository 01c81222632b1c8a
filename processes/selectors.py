"""Reads of engine state for the back-office pages, through the engine port only (so the pages
work the same on the embedded engine and on Camunda 8)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from django.utils import timezone

from config.roles import MANAGERS, has_role, user_roles
from processes import port

from .diagram import Overlay, describe, heat

# Re-exported for the pages and domain selectors that name them.
InstanceSummary = port.InstanceSummary
WaitingStep = port.WaitingStep


def instance_summaries(instance_keys: Iterable[int]) -> dict[int, port.InstanceSummary]:
    """Where each instance waits, in business words (a fixed number of queries per page)."""
    return port.instance_summaries(instance_keys)


# ------------------------------------------------------------------------------ one instance
@dataclass
class InstanceDetail:
    root: port.Instance
    definition: port.Definition
    model: port.ProcessModel
    overlay: Overlay
    summary: port.InstanceSummary
    variables: list[tuple[str, str, Any]]  # (scope label, name, value)
    incidents: list[port.Incident]
    tasks: list[port.UserTask]
    history: list[port.HistoryEntry]


def instance_detail(instance_key: int, *, history_limit: int = 200) -> InstanceDetail | None:
    root = port.instance(instance_key)
    if root is None:
        return None
    definition = port.definition(root.definition_key)
    if definition is None:
        return None
    model = port.process_model(root.definition_key)
    active: Counter[str] = Counter()
    completed: set[str] = set()
    names = {}
    for ei in port.element_instances(instance_key):
        names[ei.key] = ei.element_id
        if ei.element_type in ("PROCESS", "MULTI_INSTANCE_BODY"):
            continue
        if ei.state == "ACTIVE":
            active[ei.element_id] += 1
        elif ei.state == "COMPLETED":
            completed.add(ei.element_id)
    incidents = port.instance_incidents(instance_key)
    open_by_element = Counter(i.element_id for i in incidents if i.state == "ACTIVE")
    overlay = Overlay(
        active=dict(active),
        completed=completed,
        taken_flows=port.taken_flows(instance_key),
        incidents=dict(open_by_element),
    )
    variables = [
        (
            "process" if v.scope_key == instance_key else names.get(v.scope_key, str(v.scope_key)),
            v.name,
            v.value,
        )
        for v in port.variables(instance_key)
    ]
    summary = port.instance_summaries([instance_key])[instance_key]
    return InstanceDetail(
        root,
        definition,
        model,
        overlay,
        summary,
        variables,
        incidents,
        port.instance_user_tasks(instance_key),
        port.history(instance_key, limit=history_limit),
    )


# ------------------------------------------------------------------------------ tasklist
QUEUES = {
    "mine": "Assigned to me",
    "unassigned": "Unassigned in my groups",
    "all": "All open",
    "completed": "Completed",
}


def audience(user: Any) -> port.Audience:
    return port.Audience(user.username, tuple(sorted(user_roles(user))))


def sees_all_tasks(user: Any) -> bool:
    return bool(has_role(user, MANAGERS) or user.is_superuser)


def task_query(
    *,
    user: Any,
    queue: str,
    process_id: str = "",
    name: str = "",
    due_before: dt.date | None = None,
    min_priority: int | None = None,
    sort: str = "created",
    form_key: str = "",
) -> port.TaskQuery:
    """A queue of the tasklist as a port query: managers see all tasks; others theirs or their
    candidate groups'."""
    who = audience(user)
    end = timezone.make_aware(dt.datetime.combine(due_before, dt.time.max)) if due_before else None
    base = port.TaskQuery(
        visible_to=None if sees_all_tasks(user) else who,
        process_id=process_id,
        name=name,
        due_before=end,
        min_priority=min_priority,
        sort=sort,
        form_key=form_key,
    )
    if queue == "mine":
        return replace(base, state="CREATED", assignee=who.username)
    if queue == "unassigned":
        return replace(base, state="CREATED", assignee="", offered_to=who)
    if queue == "completed":
        return replace(base, state="COMPLETED")
    return replace(base, state="CREATED")


def task_queue(*, user: Any, queue: str, **filters: Any) -> port.LazyResults[port.UserTask]:
    """A tasklist queue, for a paginator (one engine call per page)."""
    return port.user_task_pages(task_query(user=user, queue=queue, **filters))


def queue_counts(*, user: Any) -> dict[str, int]:
    return {
        queue: port.count_user_tasks(task_query(user=user, queue=queue))
        for queue in ("mine", "unassigned")
    }


def can_see_task(user: Any, task: port.UserTask) -> bool:
    if sees_all_tasks(user):
        return True
    who = audience(user)
    return (
        task.assignee == who.username
        or who.username in task.candidate_users
        or bool(set(task.candidate_groups) & set(who.groups))
    )


def open_tasks_for(*, user: Any, form_key: str, limit: int = 50) -> list[port.UserTask]:
    """Open tasks of one form the user may see, oldest first."""
    query = task_query(user=user, queue="all", form_key=form_key, sort="created_asc")
    return port.user_tasks(query, limit=limit).items


# ------------------------------------------------------------------------------ processes
def definitions_overview() -> list[dict[str, Any]]:
    """Each process id with its versions and instance counts by state."""
    counts = port.instance_counts()
    incidents = port.open_incident_counts()
    grouped: dict[str, dict[str, Any]] = {}
    for d in port.definitions():
        entry = grouped.setdefault(
            d.process_id, {"process_id": d.process_id, "name": d.name, "versions": []}
        )
        entry["versions"].append(
            {
                "definition": d,
                "active": counts.get((d.key, "ACTIVE"), 0),
                "completed": counts.get((d.key, "COMPLETED"), 0),
                "terminated": counts.get((d.key, "TERMINATED"), 0),
                "incidents": incidents.get(d.key, 0),
            }
        )
    return list(grouped.values())


def definition_heat(definition: port.Definition) -> tuple[Overlay, dict[str, int]]:
    """Active element instances and open incidents per element, as a heat-map overlay."""
    active, incidents = port.element_counts(definition.key)
    top = max(active.values(), default=0)
    overlay = Overlay(
        active=active,
        incidents=incidents,
        heat={element_id: heat(n, top) for element_id, n in active.items()},
    )
    return overlay, active


# ------------------------------------------------------------------------------ incidents
def incident_groups() -> list[dict[str, Any]]:
    return port.incident_groups()


def open_incidents(
    *, process_id: str = "", error_type: str = ""
) -> port.LazyResults[port.Incident]:
    return port.incidents(process_id=process_id, error_type=error_type)


def element_names(process_id: str, version: int | None = None) -> tuple[str, dict[str, str]]:
    """(process name, element id -> name) of a process version (the latest when not given)."""
    found = [d for d in port.definitions() if d.process_id == process_id]
    if version is not None:
        found = [d for d in found if d.version == version] or found
    if not found:
        return process_id, {}
    definition = max(found, key=lambda d: d.version)
    model = port.process_model(definition.key)
    names = {el.id: el.name or describe(el) for el in model.elements.values()}
    return definition.name or process_id, names


def incident_rows(incidents: Iterable[port.Incident]) -> list[dict[str, Any]]:
    """Incidents with their process's name, the failed step's name and the business object."""
    cache: dict[tuple[str, int], tuple[str, dict[str, str]]] = {}
    incidents = list(incidents)
    summaries = instance_summaries({i.process_instance_key for i in incidents})
    rows = []
    for incident in incidents:
        key = (incident.process_id, incident.version)
        if key not in cache:
            cache[key] = element_names(*key)
        process_name, names = cache[key]
        summary = summaries.get(incident.process_instance_key)
        rows.append(
            {
                "incident": incident,
                "process_name": process_name,
                "step": names.get(incident.element_id, "a step"),
                "business_key": summary.business_key if summary else "",
                "explanation": error_type_words(incident.error_type),
            }
        )
    return rows


def incident_job(incident: port.Incident) -> port.JobInfo | None:
    return port.incident_job(incident)


LinkResolver = Callable[[str], str | None]
# Domain apps register how a business key becomes a link ("ORD-1001" -> the order page). A
# resolver may carry ``roles``: the roles that can open the page it links to.
BUSINESS_LINKS: list[LinkResolver] = []


def business_link(business_key: str, user: Any = None) -> str | None:
    """The page of the business object behind a process instance; None when there is none or
    when ``user`` (if given) cannot open it."""
    for resolver in BUSINESS_LINKS:
        url = resolver(business_key)
        if url:
            roles = getattr(resolver, "roles", None)
            if user is not None and roles and not has_role(user, *roles):
                return None
            return url
    return None


# Domain apps register ``business keys -> {key: "Lena Fischer · €129.00"}`` (one query each).
BUSINESS_DESCRIPTIONS: list[Callable[[list[str]], dict[str, str]]] = []


def business_descriptions(business_keys: Iterable[str]) -> dict[str, str]:
    """What each business object is, in a few words, for list rows."""
    keys = sorted(set(business_keys))
    found: dict[str, str] = {}
    for describe_keys in BUSINESS_DESCRIPTIONS:
        if keys:
            found.update(describe_keys(keys))
    return found


class StopPolicy(Protocol):
    """How the business ends the workflow of one business object (an order, a return)."""

    subject: str  # "Order ORD-…", in business words
    business_url: str | None  # where the business cancellation is, when there is one
    business_action: str
    refusal: str | None  # why the business cancellation cannot be done now
    leftovers: list[str]  # what stopping the workflow without compensation leaves behind

    def record(self, *, user: Any, reason: str) -> None: ...


# Domain apps register ``business_key -> StopPolicy | None``.
STOP_POLICIES: list[Callable[[str], StopPolicy | None]] = []


def stop_policy(business_key: str) -> StopPolicy | None:
    if not business_key:
        return None
    for resolver in STOP_POLICIES:
        policy = resolver(business_key)
        if policy is not None:
            return policy
    return None


# Plain explanations of the engine's incident types (Camunda 8's ErrorType values).
ERROR_TYPE_WORDS = {
    "JOB_NO_RETRIES": "A step failed and has no retries left",
    "UNHANDLED_ERROR_EVENT": "A step reported a business error that nothing in the process handles",
    "IO_MAPPING_ERROR": "A value the step needs could not be worked out from the order's data",
    "EXTRACT_VALUE_ERROR": "A value could not be worked out from the process data",
    "CONDITION_ERROR": "No path could be chosen: a decision's condition could not be evaluated",
    "CALLED_ELEMENT_ERROR": "A sub-process could not be started",
    "MESSAGE_SIZE_EXCEEDED": "The data sent with a step is too large",
    "CALLED_DECISION_ERROR": "A decision table could not be found",
    "DECISION_EVALUATION_ERROR": "A decision table could not be evaluated",
    "FORM_NOT_FOUND": "The form of a task could not be found",
    "RESOURCE_NOT_FOUND": "Something the step needs could not be found",
    "EXECUTION_LISTENER_NO_RETRIES": "A listener of a step failed and has no retries left",
    "TASK_LISTENER_NO_RETRIES": "A listener of a task failed and has no retries left",
}


def error_type_words(error_type: str) -> str:
    return ERROR_TYPE_WORDS.get(error_type, "The process could not continue")
