"""Reads of engine state for the back-office pages, in a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.timesince import timeuntil

from config.roles import MANAGERS, has_role, user_roles

from .diagram import Overlay, heat
from .engine import clock
from .engine.bpmn import Element, ProcessModel
from .engine.service import definition_by_key, model_of
from .models import ElementInstance, Incident, ProcessDefinition, Record, Timer, UserTask, Variable

# Element types that are never "where an instance waits".
PASS_THROUGH = {"PROCESS", "SUB_PROCESS", "EVENT_SUB_PROCESS", "MULTI_INSTANCE_BODY"}

# Business wording per process and element: "waiting for {vendorName} to ship". Domain apps add
# entries (see ``describe_step``); placeholders are variables visible at the waiting element.
STEP_WORDING: dict[tuple[str, str], str] = {}


def register_step_wording(process_id: str, wording: dict[str, str]) -> None:
    for element_id, text in wording.items():
        STEP_WORDING[(process_id, element_id)] = text


@dataclass
class WaitingStep:
    element_id: str
    element_instance_key: int
    text: str
    kind: str
    has_incident: bool = False
    due_at: dt.datetime | None = None


@dataclass
class InstanceSummary:
    key: int
    process_id: str
    process_name: str
    version: int
    state: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    business_key: str
    steps: list[WaitingStep] = field(default_factory=list)
    open_incidents: int = 0
    open_tasks: int = 0


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def describe_step(
    model: ProcessModel, el: Element, variables: dict[str, Any], due_at: dt.datetime | None
) -> str:
    """A waiting element in business words."""
    template = STEP_WORDING.get((model.id, el.id))
    flat = {k.replace(" ", "_"): v for k, v in variables.items()}
    if template:
        text = template.format_map(_SafeDict(flat))
    else:
        name = el.name or el.id
        if el.kind == "userTask":
            text = f"task: {name}"
        elif (el.event is not None and el.event.type == "message") or el.kind == "receiveTask":
            lowered = name[0].lower() + name[1:]
            text = lowered if lowered.startswith("wait") else f"waiting for {lowered}"
        elif el.event is not None and el.event.type == "timer":
            text = f"waiting: {name}"
        else:
            text = name
    if due_at is not None:
        now = clock.now()
        when = f"in {timeuntil(due_at, now)}" if due_at > now else "now"
        text = f"{text} ({when})"
    return text


def instance_summaries(instance_keys: Iterable[int]) -> dict[int, InstanceSummary]:
    """Summaries for many instances in five queries (no per-instance queries)."""
    keys = [k for k in instance_keys if k]
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
            "scope_key",
            "state",
            "started_at",
            "ended_at",
            "has_incident",
            "business_key",
        )
    )
    incidents = Counter(
        Incident.objects.filter(process_instance_key__in=keys, state=Incident.ACTIVE).values_list(
            "process_instance_key", flat=True
        )
    )
    tasks = Counter(
        UserTask.objects.filter(process_instance_key__in=keys, state=UserTask.CREATED).values_list(
            "process_instance_key", flat=True
        )
    )
    timers = {
        owner: due
        for owner, due in Timer.objects.filter(process_instance_key__in=keys).values_list(
            "element_instance_key", "due_at"
        )
    }
    variables: dict[int, dict[str, Any]] = defaultdict(dict)
    for scope, name, value in Variable.objects.filter(process_instance_key__in=keys).values_list(
        "scope_key", "name", "value"
    ):
        variables[scope][name] = value
    parents = {row["key"]: row["scope_key"] for row in rows}
    summaries: dict[int, InstanceSummary] = {}
    for row in rows:
        if row["element_type"] != "PROCESS":
            continue
        definition = definition_by_key(row["definition_id"])
        summaries[row["key"]] = InstanceSummary(
            key=row["key"],
            process_id=definition.bpmn_process_id,
            process_name=definition.name or definition.bpmn_process_id,
            version=definition.version,
            state=row["state"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            business_key=row["business_key"],
            open_incidents=incidents.get(row["key"], 0),
            open_tasks=tasks.get(row["key"], 0),
        )
    for row in rows:
        if row["element_type"] in PASS_THROUGH or row["state"] != ElementInstance.ACTIVE:
            continue
        summary = summaries.get(row["process_instance_key"])
        if summary is None:
            continue
        definition = definition_by_key(row["definition_id"])
        model = model_of(definition)
        el = model.elements.get(row["element_id"])
        if el is None:
            continue
        visible: dict[str, Any] = {}
        chain = []
        key = row["key"]
        while key is not None:
            chain.append(key)
            key = parents.get(key)
        for scope in reversed(chain):
            visible.update(variables.get(scope, {}))
        due = timers.get(row["key"])
        summary.steps.append(
            WaitingStep(
                element_id=el.id,
                element_instance_key=row["key"],
                text=describe_step(model, el, visible, due),
                kind=el.kind,
                has_incident=row["has_incident"],
                due_at=due,
            )
        )
    for summary in summaries.values():
        summary.steps.sort(key=lambda s: s.element_instance_key)
    return summaries


# ------------------------------------------------------------------------------ one instance
@dataclass
class InstanceDetail:
    root: ElementInstance
    definition: ProcessDefinition
    model: ProcessModel
    overlay: Overlay
    summary: InstanceSummary
    variables: list[tuple[str, str, Any]]  # (scope label, name, value)
    incidents: list[Incident]
    tasks: list[UserTask]
    history: list[Record]


def instance_detail(instance_key: int, *, history_limit: int = 200) -> InstanceDetail | None:
    root = ElementInstance.objects.filter(key=instance_key, element_type="PROCESS").first()
    if root is None:
        return None
    definition = definition_by_key(root.definition_id)
    model = model_of(definition)
    elements = list(
        ElementInstance.objects.filter(process_instance_key=instance_key).values_list(
            "key", "element_id", "element_type", "state"
        )
    )
    active: Counter[str] = Counter()
    completed: set[str] = set()
    names = {}
    for key, element_id, element_type, state in elements:
        names[key] = element_id
        if element_type in ("PROCESS", "MULTI_INSTANCE_BODY"):
            continue
        if state == ElementInstance.ACTIVE:
            active[element_id] += 1
        elif state == ElementInstance.COMPLETED:
            completed.add(element_id)
    taken = set(
        Record.objects.filter(
            process_instance_key=instance_key, intent="SEQUENCE_FLOW_TAKEN"
        ).values_list("element_id", flat=True)
    )
    incidents = list(
        Incident.objects.filter(process_instance_key=instance_key).order_by("-created_at")
    )
    open_by_element = Counter(i.element_id for i in incidents if i.state == Incident.ACTIVE)
    overlay = Overlay(
        active=dict(active), completed=completed, taken_flows=taken, incidents=dict(open_by_element)
    )
    variables = [
        (
            "process" if v.scope_key == instance_key else names.get(v.scope_key, str(v.scope_key)),
            v.name,
            v.value,
        )
        for v in Variable.objects.filter(process_instance_key=instance_key).order_by(
            "scope_key", "name"
        )
    ]
    tasks = list(UserTask.objects.filter(process_instance_key=instance_key).order_by("-created_at"))
    history = list(
        Record.objects.filter(process_instance_key=instance_key)
        .exclude(intent="SEQUENCE_FLOW_TAKEN")
        .exclude(value_type="VARIABLE")
        .order_by("-id")[:history_limit]
    )
    summary = instance_summaries([instance_key])[instance_key]
    return InstanceDetail(
        root, definition, model, overlay, summary, variables, incidents, tasks, history
    )


# ------------------------------------------------------------------------------ tasklist
QUEUES = {
    "mine": "Assigned to me",
    "unassigned": "Unassigned in my groups",
    "all": "All open",
    "completed": "Completed",
}


def visible_tasks(*, user: Any) -> QuerySet[UserTask]:
    """Tasks a user may see: managers all; others theirs or their candidate groups'."""
    tasks = UserTask.objects.all()
    if has_role(user, MANAGERS) or user.is_superuser:
        return tasks
    rule = Q(assignee=user.username) | Q(candidate_users__icontains=f'"{user.username}"')
    for role in user_roles(user):
        rule |= Q(candidate_groups__icontains=f'"{role}"')
    return tasks.filter(rule)


def task_queue(
    *,
    user: Any,
    queue: str,
    process_id: str = "",
    name: str = "",
    due_before: dt.date | None = None,
    min_priority: int | None = None,
    sort: str = "created",
) -> QuerySet[UserTask]:
    tasks = visible_tasks(user=user)
    if queue == "mine":
        tasks = tasks.filter(state=UserTask.CREATED, assignee=user.username)
    elif queue == "unassigned":
        groups = Q()
        for role in user_roles(user):
            groups |= Q(candidate_groups__icontains=f'"{role}"')
        groups |= Q(candidate_users__icontains=f'"{user.username}"')
        tasks = tasks.filter(groups, state=UserTask.CREATED, assignee="")
    elif queue == "completed":
        tasks = tasks.filter(state=UserTask.COMPLETED)
    else:
        tasks = tasks.filter(state=UserTask.CREATED)
    if process_id:
        tasks = tasks.filter(definition__bpmn_process_id=process_id)
    if name:
        tasks = tasks.filter(name__icontains=name)
    if due_before:
        end = timezone.make_aware(dt.datetime.combine(due_before, dt.time.max))
        tasks = tasks.filter(due_date__lte=end)
    if min_priority is not None:
        tasks = tasks.filter(priority__gte=min_priority)
    order = {
        "created": ["-created_at"],
        "due": ["due_date", "-priority"],
        "priority": ["-priority", "created_at"],
        "completed": ["-completed_at"],
    }.get(sort, ["-created_at"])
    return tasks.select_related("definition").order_by(*order)


def queue_counts(*, user: Any) -> dict[str, int]:
    return {queue: task_queue(user=user, queue=queue).count() for queue in ("mine", "unassigned")}


def can_see_task(user: Any, task: UserTask) -> bool:
    return visible_tasks(user=user).filter(key=task.key).exists()


# ------------------------------------------------------------------------------ processes
def definitions_overview() -> list[dict[str, Any]]:
    """Each process id with its versions and instance counts by state (two queries)."""
    definitions = list(ProcessDefinition.objects.order_by("bpmn_process_id", "-version"))
    counts: dict[tuple[int, str], int] = {
        (row["definition_id"], row["state"]): row["n"]
        for row in ElementInstance.objects.filter(element_type="PROCESS")
        .values("definition_id", "state")
        .annotate(n=Count("key"))
    }
    incidents = dict(
        Incident.objects.filter(state=Incident.ACTIVE)
        .values("definition_id")
        .annotate(n=Count("key"))
        .values_list("definition_id", "n")
    )
    grouped: dict[str, dict[str, Any]] = {}
    for d in definitions:
        entry = grouped.setdefault(
            d.bpmn_process_id, {"process_id": d.bpmn_process_id, "name": d.name, "versions": []}
        )
        entry["versions"].append(
            {
                "definition": d,
                "active": counts.get((d.key, ElementInstance.ACTIVE), 0),
                "completed": counts.get((d.key, ElementInstance.COMPLETED), 0),
                "terminated": counts.get((d.key, ElementInstance.TERMINATED), 0),
                "incidents": incidents.get(d.key, 0),
            }
        )
    return list(grouped.values())


def definition_heat(definition: ProcessDefinition) -> tuple[Overlay, dict[str, int]]:
    """Active element instances and open incidents per element, as a heat-map overlay."""
    active = dict(
        ElementInstance.objects.filter(definition=definition, state=ElementInstance.ACTIVE)
        .exclude(element_type__in=["PROCESS", "MULTI_INSTANCE_BODY"])
        .values("element_id")
        .annotate(n=Count("key"))
        .values_list("element_id", "n")
    )
    incidents = dict(
        Incident.objects.filter(definition=definition, state=Incident.ACTIVE)
        .values("element_id")
        .annotate(n=Count("key"))
        .values_list("element_id", "n")
    )
    top = max(active.values(), default=0)
    overlay = Overlay(
        active=active,
        incidents=incidents,
        heat={element_id: heat(n, top) for element_id, n in active.items()},
    )
    return overlay, active


# ------------------------------------------------------------------------------ incidents
def incident_groups() -> list[dict[str, Any]]:
    return list(
        Incident.objects.filter(state=Incident.ACTIVE)
        .values("definition__bpmn_process_id", "error_type")
        .annotate(n=Count("key"))
        .order_by("-n")
    )


def open_incidents(*, process_id: str = "", error_type: str = "") -> QuerySet[Incident]:
    incidents = Incident.objects.filter(state=Incident.ACTIVE).select_related("definition")
    if process_id:
        incidents = incidents.filter(definition__bpmn_process_id=process_id)
    if error_type:
        incidents = incidents.filter(error_type=error_type)
    return incidents.order_by("-created_at")


def incident_job(incident: Incident) -> Any:
    from .models import Job

    return Job.objects.filter(key=incident.job_key).first() if incident.job_key else None


LinkResolver = Callable[[str], str | None]
# Domain apps register how a business key becomes a link ("ORD-1001" -> the order page).
BUSINESS_LINKS: list[LinkResolver] = []


def business_link(business_key: str) -> str | None:
    for resolver in BUSINESS_LINKS:
        url = resolver(business_key)
        if url:
            return url
    return None
