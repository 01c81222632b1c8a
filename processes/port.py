"""The engine port: the one door from domain apps and back-office views to the process engine.

Whatever engine runs (``settings.PROCESS_ENGINE``: ``embedded`` or ``zeebe``), callers write::

    from processes import port

    port.deploy(path_or_xml); port.deploy_all()
    key = port.start("order-fulfilment", {"orderId": 1}, business_key="SO-1")
    port.publish_message("payment-received", "SO-1", {"amount": 10}, ttl_ms=60_000)
    port.cancel(key)
    port.complete_user_task(task_key, {"approved": True}, user)  # assign/unassign_user_task

and read engine state as the plain dataclasses below (never engine rows), so the same pages and
rules work on Camunda 8. Two reads compose into domain querysets:
``Order.objects.filter(process_instance_key__in=port.instances_waiting_at("ship"))`` stays one
SQL query on the embedded engine (a subquery) and is a list of keys on Camunda 8.

A refused or unreachable engine raises :class:`PortError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from processes.adapters import DeployedDefinition
from processes.engine.bpmn import Element, ProcessModel

T = TypeVar("T")


class PortError(Exception):
    """The engine refused a command or is unavailable.

    ``rejection_type`` is Camunda's rejection name (NOT_FOUND, INVALID_STATE, ALREADY_EXISTS,
    INVALID_ARGUMENT, ...), or UNAVAILABLE when the engine could not be reached.
    """

    def __init__(self, message: str, *, rejection_type: str = "UNAVAILABLE") -> None:
        super().__init__(message)
        self.message = message
        self.rejection_type = rejection_type


# ------------------------------------------------------------------------------ read models
@dataclass(frozen=True)
class Definition:
    key: int
    process_id: str
    name: str
    version: int
    version_tag: str = ""
    resource_name: str = ""
    deployed_at: dt.datetime | None = None


@dataclass(frozen=True)
class Instance:
    key: int
    definition_key: int
    process_id: str
    process_name: str
    version: int
    state: str  # ACTIVE | COMPLETED | TERMINATED
    started_at: dt.datetime
    ended_at: dt.datetime | None
    business_key: str
    parent_process_instance_key: int | None = None


@dataclass(frozen=True)
class ElementInstance:
    key: int
    process_instance_key: int
    element_id: str
    element_type: str  # Camunda's enum: SERVICE_TASK, USER_TASK, PROCESS, ...
    state: str
    scope_key: int | None
    has_incident: bool = False


@dataclass(frozen=True)
class Variable:
    scope_key: int
    name: str
    value: Any


@dataclass(frozen=True)
class UserTask:
    key: int
    name: str
    state: str  # CREATED | COMPLETED | CANCELED
    assignee: str
    candidate_groups: list[str]
    candidate_users: list[str]
    element_id: str
    element_instance_key: int
    process_instance_key: int
    process_id: str
    form_key: str
    priority: int
    created_at: dt.datetime | None
    due_date: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    completed_by: str = ""


@dataclass(frozen=True)
class Incident:
    key: int
    process_instance_key: int
    process_id: str
    version: int
    element_id: str
    element_instance_key: int
    job_key: int | None
    error_type: str
    error_message: str
    state: str  # ACTIVE | RESOLVED
    created_at: dt.datetime | None
    resolved_at: dt.datetime | None = None
    resolved_by: str = ""


@dataclass(frozen=True)
class JobInfo:
    key: int
    type: str
    retries: int
    state: str


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    value_type: str
    intent: str
    element_id: str
    element_type: str
    actor: str
    detail: dict[str, Any]


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


@dataclass(frozen=True)
class Audience:
    """Who looks at tasks: a username and its groups (roles)."""

    username: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskQuery:
    """A user-task search. ``offered_to``: a candidate user/group match; ``visible_to``: assigned
    to that user or offered to it; ``actionable_by``: assigned to it, or unassigned and offered
    (the tasklist's "mine" and "unassigned in my groups" queues together)."""

    state: str = "CREATED"  # "" for any state
    assignee: str | None = None  # "" for unassigned
    offered_to: Audience | None = None
    visible_to: Audience | None = None
    actionable_by: Audience | None = None  # assigned to that user, or unassigned and offered
    process_id: str = ""
    process_instance_key: int | None = None
    element_id: str = ""
    form_key: str = ""
    name: str = ""  # contains, case-insensitive
    due_before: dt.datetime | None = None
    min_priority: int | None = None
    sort: str = "created"  # created | created_asc | due | priority | completed


@dataclass
class Results:
    items: list[Any]
    total: int


class LazyResults(Generic[T]):
    """A search that Django's ``Paginator`` counts and slices: one engine call per page."""

    def __init__(self, search: Callable[[int, int], Results]) -> None:
        self._search = search
        self._total: int | None = None

    def count(self) -> int:
        if self._total is None:
            self._total = self._search(0, 0).total
        return self._total

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[T]:
        return iter(self[0 : self.count()])

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start = index.start or 0
            stop = index.stop if index.stop is not None else self.count()
            result = self._search(start, max(stop - start, 0))
            self._total = result.total
            return list(result.items)
        items = self._search(index, 1).items
        if not items:
            raise IndexError(index)
        return items[0]


# ------------------------------------------------------------------------------ wording
def step_text(
    el: Element | None, element_id: str, due_at: dt.datetime | None, now: dt.datetime
) -> str:
    """A waiting element in business words ("waiting for payment", "task: Review request")."""
    # An element without a name is described by what it does, never by its id.
    unnamed = "waiting for what happens next" if el and el.kind == "eventBasedGateway" else "a step"
    name = (el.name if el is not None else "") or unnamed
    if el is not None and el.kind == "userTask":
        text = f"task: {name}"
    elif el is not None and (
        (el.event is not None and el.event.type == "message") or el.kind == "receiveTask"
    ):
        lowered = name[0].lower() + name[1:]
        text = lowered if lowered.startswith("wait") else f"waiting for {lowered}"
    elif el is not None and el.event is not None and el.event.type == "timer":
        text = f"waiting: {name}"
    else:
        text = name
    if due_at is not None:
        from django.utils.timesince import timeuntil

        when = f"in {timeuntil(due_at, now)}" if due_at > now else "now"
        text = f"{text} ({when})"
    return text


# ------------------------------------------------------------------------------ dispatch
def adapter_module() -> Any:
    """The adapter module of the configured engine."""
    from django.conf import settings

    if settings.PROCESS_ENGINE == "zeebe":
        from processes.adapters import zeebe

        return zeebe
    from processes.adapters import embedded

    return embedded


# Commands
def deploy(resource: Any, name: str | None = None) -> list[DeployedDefinition]:
    """Deploy BPMN XML or a file path; an unchanged resource keeps its version."""
    return adapter_module().deploy(resource, name)


def deploy_all() -> list[DeployedDefinition]:
    """Deploy every file of ``processes/bpmn`` in one deployment."""
    return adapter_module().deploy_all()


def start(
    process_id: str,
    variables: dict[str, Any] | None = None,
    business_key: str | None = None,
    version: int | None = None,
) -> int:
    """Start an instance of the latest (or given) version; returns its key."""
    return adapter_module().start(process_id, variables, business_key, version)


def start_many(
    process_id: str,
    starts: Sequence[tuple[dict[str, Any] | None, str | None]],
    version: int | None = None,
) -> list[int]:
    """Start one instance per ``(variables, business_key)`` of the latest (or given) version;
    returns their keys in order. The embedded engine starts them all in one command (inside the
    caller's transaction: all or none); Camunda 8 gets one create call per instance."""
    return adapter_module().start_many(process_id, starts, version)


def publish_message(
    name: str,
    correlation_key: str,
    variables: dict[str, Any] | None = None,
    ttl_ms: int = 0,
    message_id: str | None = None,
) -> int:
    """Publish a message (buffered for ``ttl_ms``); returns the message key."""
    return adapter_module().publish_message(name, correlation_key, variables, ttl_ms, message_id)


def cancel(process_instance_key: int, user: Any = None) -> None:
    """Cancel an instance and everything active in it."""
    adapter_module().cancel(process_instance_key, user)


def complete_user_task(task_key: int, variables: dict[str, Any] | None, user: Any) -> None:
    """Complete a user task with ``variables``; ``user`` is recorded as the one who completed it."""
    adapter_module().complete_user_task(task_key, variables, user)


def assign_user_task(
    task_key: int, assignee: str, user: Any = None, *, allow_override: bool = True
) -> None:
    """Assign a task; ``allow_override=False`` refuses (INVALID_STATE) if it has an assignee."""
    adapter_module().assign_user_task(task_key, assignee, user, allow_override=allow_override)


def unassign_user_task(task_key: int, user: Any = None) -> None:
    adapter_module().unassign_user_task(task_key, user)


def resolve_incident(
    incident_key: int,
    *,
    retries: int | None = None,
    variables: dict[str, Any] | None = None,
    user: Any = None,
) -> None:
    """Resolve an incident: set corrected variables on its scope (propagating), give its job
    ``retries``, then let the step run again."""
    adapter_module().resolve_incident(incident_key, retries=retries, variables=variables, user=user)


def now() -> dt.datetime:
    """The engine's time: what its timers run on (pinned by ``PUT /v2/clock`` in tests and
    demos). Business rules read it through ``core.clock``."""
    return adapter_module().now()


# Composable queries (a subquery of instance keys on the embedded engine, a list elsewhere)
def instances_waiting_at(element_id: str, process_id: str = "") -> Any:
    """Keys of instances with an active element instance of ``element_id``."""
    return adapter_module().instances_waiting_at(element_id, process_id)


def instances_with_open_incident(process_id: str = "") -> Any:
    """Keys of instances with an open incident."""
    return adapter_module().instances_with_open_incident(process_id)


# Reads
def user_task_completed_by(*, process_instance_key: int, element_id: str) -> str:
    """Who completed the latest ``element_id`` task of an instance ("" if none)."""
    return adapter_module().user_task_completed_by(process_instance_key, element_id)


def user_tasks(query: TaskQuery, *, offset: int = 0, limit: int = 100) -> Results:
    return adapter_module().user_tasks(query, offset, limit)


def user_task_pages(query: TaskQuery) -> LazyResults[UserTask]:
    """``user_tasks`` for a paginator: one call per page."""
    return LazyResults(lambda offset, limit: user_tasks(query, offset=offset, limit=limit))


def count_user_tasks(query: TaskQuery) -> int:
    return user_tasks(query, offset=0, limit=0).total


def user_task(task_key: int) -> UserTask | None:
    return adapter_module().user_task(int(task_key))


def user_task_variables(task: UserTask) -> dict[str, Any]:
    """Variables visible from the task's element (its scope chain up to the instance)."""
    return adapter_module().user_task_variables(task)


def incidents(
    *, process_id: str = "", error_type: str = "", state: str = "ACTIVE"
) -> LazyResults[Incident]:
    """Incidents, newest first, for a paginator."""
    module = adapter_module()
    return LazyResults(
        lambda offset, limit: module.incidents(process_id, error_type, state, offset, limit)
    )


def incident(incident_key: int) -> Incident | None:
    return adapter_module().incident(int(incident_key))


def incident_groups() -> list[dict[str, Any]]:
    """Open incidents counted by process id and error type: ``{process_id, error_type, n}``."""
    return adapter_module().incident_groups()


def incident_job(incident: Incident) -> JobInfo | None:
    return adapter_module().incident_job(incident) if incident.job_key else None


def is_element_instance_active(element_instance_key: int) -> bool:
    return adapter_module().is_element_instance_active(int(element_instance_key))


def instance(process_instance_key: int) -> Instance | None:
    return adapter_module().instance(int(process_instance_key))


def instance_summaries(instance_keys: Iterable[int]) -> dict[int, InstanceSummary]:
    """Where each instance waits, in business words, for a page of instances at once."""
    return adapter_module().instance_summaries([int(k) for k in instance_keys if k])


def element_instances(process_instance_key: int) -> list[ElementInstance]:
    return adapter_module().element_instances(int(process_instance_key))


def taken_flows(process_instance_key: int) -> set[str]:
    """Ids of the sequence flows an instance has taken (empty where the engine keeps none)."""
    return adapter_module().taken_flows(int(process_instance_key))


def variables(process_instance_key: int) -> list[Variable]:
    return adapter_module().variables(int(process_instance_key))


def instance_incidents(process_instance_key: int) -> list[Incident]:
    return adapter_module().instance_incidents(int(process_instance_key))


def instance_user_tasks(process_instance_key: int) -> list[UserTask]:
    return adapter_module().instance_user_tasks(int(process_instance_key))


def history(process_instance_key: int, *, limit: int = 200, notable: bool = False) -> list:
    """The instance's records, newest first (``notable``: tasks, incidents, messages, timers,
    failed jobs and ends only). Empty on engines whose API serves no record stream."""
    return adapter_module().history(int(process_instance_key), limit, notable)


def definitions() -> list[Definition]:
    """Every deployed process definition, by process id then newest version first."""
    return adapter_module().definitions()


def definition(definition_key: int) -> Definition | None:
    return adapter_module().definition(int(definition_key))


def latest_definition(process_id: str) -> Definition | None:
    return adapter_module().latest_definition(process_id)


def process_model(definition_key: int) -> ProcessModel:
    """The parsed BPMN of a definition (elements and diagram data, for pages and diagrams)."""
    return adapter_module().process_model(int(definition_key))


def instance_counts() -> dict[tuple[int, str], int]:
    """Instances per (definition key, state)."""
    return adapter_module().instance_counts()


def open_incident_counts() -> dict[int, int]:
    """Open incidents per definition key."""
    return adapter_module().open_incident_counts()


def element_counts(definition_key: int) -> tuple[dict[str, int], dict[str, int]]:
    """Active element instances and open incidents per element id of one definition."""
    return adapter_module().element_counts(int(definition_key))


def latest_instances(definition_key: int, *, limit: int = 20) -> list[Instance]:
    return adapter_module().latest_instances(int(definition_key), limit)


@dataclass(frozen=True)
class InstanceQuery:
    """Root instances of one process version, filtered as Operate's instance list filters them."""

    definition_key: int
    state: str = ""  # ACTIVE | COMPLETED | TERMINATED, "" for any
    waiting_at: str = ""  # an element id with an active element instance
    has_incident: bool = False
    started_from: dt.datetime | None = None
    started_to: dt.datetime | None = None


def instance_pages(query: InstanceQuery) -> LazyResults[Instance]:
    """The instances matching ``query``, newest first, for a paginator."""
    module = adapter_module()
    return LazyResults(lambda offset, limit: module.search_instances(query, offset, limit))
