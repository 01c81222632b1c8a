"""The port on a Camunda 8 (Zeebe) cluster: commands through pyzeebe's gRPC client, user tasks
and reads through the Orchestration Cluster REST API (v2) with ``requests``.

Only this module imports pyzeebe. The gRPC channel is created on first use, on a private event
loop thread, so the synchronous port can be called from Django views, handlers and tasks.

The REST base URL is ``settings.CAMUNDA_REST_ADDRESS`` (for example ``http://zeebe:8080/v2``),
with optional basic-auth credentials. Endpoints and fields follow Camunda's REST API v2 reference
(https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/orchestration-cluster-api-rest-overview/).
What Camunda's API does not serve, the reads leave empty: the record history, the sequence flows
taken, timer due dates, and variables of intermediate (sub-process) scopes. Searches the API
cannot express (an OR of candidate user and groups, "name contains") are narrowed on the server
by the plain fields and finished here, over at most ``SEARCH_CAP`` tasks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from processes.adapters import DeployedDefinition, bpmn_files, looks_like_xml


class ZeebeAdapter:
    """A pyzeebe ``ZeebeClient`` on a lazily created channel and its own event loop."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None

    def _run(self, coroutine_factory: Any) -> Any:
        from pyzeebe.errors import PyZeebeError

        from processes.port import PortError

        loop, client = self._ensure()
        future = asyncio.run_coroutine_threadsafe(coroutine_factory(client), loop)
        try:
            return future.result()
        except PyZeebeError as error:
            raise PortError(
                str(error) or type(error).__name__, rejection_type=_grpc_rejection(error)
            ) from error

    def _ensure(self) -> tuple[asyncio.AbstractEventLoop, Any]:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="zeebe-client", daemon=True).start()
                self._loop = loop

                async def make_client() -> Any:
                    from pyzeebe import ZeebeClient

                    return ZeebeClient(make_channel(self.address))

                self._client = asyncio.run_coroutine_threadsafe(make_client(), loop).result()
            return self._loop, self._client

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop, self._client = None, None

    # ------------------------------------------------------------------ port
    def deploy_paths(self, paths: list[Path]) -> list[DeployedDefinition]:
        response = self._run(lambda client: client.deploy_resource(*[str(p) for p in paths]))
        return [
            DeployedDefinition(p.bpmn_process_id, int(p.version), int(p.process_definition_key))
            for p in response.deployments
            if hasattr(p, "bpmn_process_id")
        ]

    def start(self, process_id: str, variables: dict[str, Any], version: int | None) -> int:
        response = self._run(
            lambda client: client.run_process(
                process_id, variables=variables, version=-1 if version is None else version
            )
        )
        return int(response.process_instance_key)

    def publish_message(
        self,
        name: str,
        correlation_key: str,
        variables: dict[str, Any],
        ttl_ms: int,
        message_id: str | None,
    ) -> int:
        response = self._run(
            lambda client: client.publish_message(
                name,
                correlation_key,
                variables=variables,
                time_to_live_in_milliseconds=ttl_ms,
                message_id=message_id,
            )
        )
        return int(response.key)

    def cancel(self, process_instance_key: int) -> None:
        self._run(lambda client: client.cancel_process_instance(int(process_instance_key)))

    # ------------------------------------------------------------------ jobs (the bridge)
    # pyzeebe's ZeebeClient has no job commands (its worker's JobController has); the same
    # gRPC calls are made here through the client's gateway adapter, by job key.
    def complete_job(self, job_key: int, variables: dict[str, Any]) -> None:
        self._run(lambda client: client.zeebe_adapter.complete_job(int(job_key), variables))

    def fail_job(self, job_key: int, retries: int, message: str, retry_backoff_ms: int) -> None:
        self._run(
            lambda client: client.zeebe_adapter.fail_job(
                int(job_key), retries, message, retry_backoff_ms, {}
            )
        )

    def throw_error(
        self, job_key: int, error_code: str, message: str, variables: dict[str, Any]
    ) -> None:
        self._run(
            lambda client: client.zeebe_adapter.throw_error(
                int(job_key), message, variables, error_code=error_code
            )
        )

    def update_job_timeout(self, job_key: int, timeout_ms: int) -> None:
        self._run(
            lambda client: client.zeebe_adapter.update_job_timeout(int(job_key), int(timeout_ms))
        )


def make_channel(address: str) -> Any:
    """A gRPC channel to a Zeebe gateway, as configured.

    ``ZEEBE_CLIENT_ID`` set: OAuth client credentials (Camunda 8 SaaS or self-managed with
    Identity), with ``ZEEBE_CLIENT_SECRET``, ``ZEEBE_AUTHORIZATION_SERVER_URL`` and
    ``ZEEBE_TOKEN_AUDIENCE``, over TLS. Else plaintext, carrying ``ZEEBE_TOKEN`` as a bearer
    token when it is set (the embedded engine's gateway with ``ZEEBE_GATEWAY_TOKEN``). Must be
    called on the event loop that will use the channel.
    """
    from django.conf import settings
    from pyzeebe import create_insecure_channel, create_oauth2_client_credentials_channel

    client_id = getattr(settings, "ZEEBE_CLIENT_ID", "")
    if client_id:
        return create_oauth2_client_credentials_channel(
            grpc_address=address,
            client_id=client_id,
            client_secret=getattr(settings, "ZEEBE_CLIENT_SECRET", ""),
            authorization_server=getattr(settings, "ZEEBE_AUTHORIZATION_SERVER_URL", ""),
            audience=getattr(settings, "ZEEBE_TOKEN_AUDIENCE", "") or None,
            scope=None,
        )
    token = getattr(settings, "ZEEBE_TOKEN", "")
    if not token:
        return create_insecure_channel(grpc_address=address)
    import grpc

    return grpc.aio.insecure_channel(address, interceptors=_bearer_interceptors(token))


def _bearer_interceptors(token: str) -> list[Any]:
    import grpc

    metadata = (("authorization", f"Bearer {token}"),)

    def with_token(details: Any) -> Any:
        return details._replace(metadata=tuple(details.metadata or ()) + metadata)

    class UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
        async def intercept_unary_unary(self, continuation, details, request):
            return await continuation(with_token(details), request)

    class UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
        async def intercept_unary_stream(self, continuation, details, request):
            return await continuation(with_token(details), request)

    return [UnaryUnary(), UnaryStream()]


_adapter: ZeebeAdapter | None = None
_adapter_lock = threading.Lock()


def adapter() -> ZeebeAdapter:
    global _adapter
    with _adapter_lock:
        if _adapter is None:
            from django.conf import settings

            _adapter = ZeebeAdapter(settings.ZEEBE_ADDRESS)
        return _adapter


def deploy(resource: str | bytes | Path, name: str | None = None) -> list[DeployedDefinition]:
    """Deploy a BPMN file (or XML, through a temporary file named ``name``)."""
    if isinstance(resource, Path) or not looks_like_xml(resource):
        path = Path(resource if not isinstance(resource, bytes) else resource.decode())
        return adapter().deploy_paths([path])
    import tempfile

    data = resource.encode() if isinstance(resource, str) else resource
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (name or "process.bpmn")
        path.write_bytes(data)
        return adapter().deploy_paths([path])


def deploy_all() -> list[DeployedDefinition]:
    files = bpmn_files()
    return adapter().deploy_paths(files) if files else []


def start(
    process_id: str,
    variables: dict[str, Any] | None = None,
    business_key: str | None = None,
    version: int | None = None,
) -> int:
    """Start an instance; Zeebe has no business key, so it travels as the ``businessKey``
    variable."""
    variables = dict(variables or {})
    if business_key:
        variables.setdefault("businessKey", business_key)
    return adapter().start(process_id, variables, version)


def start_many(
    process_id: str,
    starts: Sequence[tuple[dict[str, Any] | None, str | None]],
    version: int | None = None,
) -> list[int]:
    """One create call per instance (Zeebe's gateway starts instances one at a time)."""
    return [
        start(process_id, variables, business_key, version) for variables, business_key in starts
    ]


def publish_message(
    name: str,
    correlation_key: str,
    variables: dict[str, Any] | None = None,
    ttl_ms: int = 0,
    message_id: str | None = None,
) -> int:
    return adapter().publish_message(name, correlation_key, variables or {}, ttl_ms, message_id)


def cancel(process_instance_key: int, user: Any = None) -> None:
    adapter().cancel(process_instance_key)


def complete_job(job_key: int, variables: dict[str, Any] | None = None) -> None:
    adapter().complete_job(job_key, variables or {})


def fail_job(job_key: int, retries: int, message: str, retry_backoff_ms: int = 0) -> None:
    adapter().fail_job(job_key, retries, message, retry_backoff_ms)


def throw_job_error(
    job_key: int, error_code: str, message: str = "", variables: dict[str, Any] | None = None
) -> None:
    adapter().throw_error(job_key, error_code, message, variables or {})


def extend_job_timeout(job_key: int, timeout_ms: int) -> None:
    adapter().update_job_timeout(job_key, timeout_ms)


# ------------------------------------------------------------------------------ REST v2
SEARCH_CAP = 1000
PAGE_LIMIT = 100
PASS_THROUGH = {"PROCESS", "SUB_PROCESS", "EVENT_SUB_PROCESS", "MULTI_INSTANCE_BODY"}


def _rest() -> tuple[str, Any]:
    from django.conf import settings

    base = settings.CAMUNDA_REST_ADDRESS.rstrip("/")
    user = getattr(settings, "CAMUNDA_REST_USERNAME", "")
    auth = (user, getattr(settings, "CAMUNDA_REST_PASSWORD", "")) if user else None
    return base, auth


def _call(method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
    """One REST call; refusals (problem details) and connection failures become ``PortError``."""
    import requests

    from processes.port import PortError

    base, auth = _rest()
    try:
        response = requests.request(
            method, f"{base}{path}", json=body, params=params, auth=auth, timeout=10
        )
    except requests.RequestException as error:
        raise PortError(f"Camunda REST API unavailable: {error}") from error
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        kind = str(problem.get("title") or response.status_code)
        if response.status_code == 404:
            kind = "NOT_FOUND"
        raise PortError(str(problem.get("detail") or response.text[:300]), rejection_type=kind)
    if response.status_code == 204 or not response.content:
        return None
    if "json" in response.headers.get("Content-Type", ""):
        return response.json()
    return response.text


def _get(path: str) -> Any:
    """A GET by key: ``None`` when the API answers 404."""
    from processes.port import PortError

    try:
        return _call("GET", path)
    except PortError as error:
        if error.rejection_type == "NOT_FOUND":
            return None
        raise


def _search(
    resource: str,
    filters: dict[str, Any],
    *,
    sort: list[dict[str, str]] | None = None,
    offset: int = 0,
    limit: int = PAGE_LIMIT,
    params: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    body: dict[str, Any] = {"filter": filters, "page": {"from": offset, "limit": max(limit, 1)}}
    if sort:
        body["sort"] = sort
    answer = _call("POST", f"/{resource}/search", body, params) or {}
    return list(answer.get("items") or []), int((answer.get("page") or {}).get("totalItems", 0))


def _search_all(
    resource: str,
    filters: dict[str, Any],
    *,
    sort: list[dict[str, str]] | None = None,
    params: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every item of a search, page by page, up to ``SEARCH_CAP``."""
    items: list[dict[str, Any]] = []
    while len(items) < SEARCH_CAP:
        page, total = _search(
            resource, filters, sort=sort, offset=len(items), limit=PAGE_LIMIT, params=params
        )
        items.extend(page)
        if not page or len(items) >= total:
            break
    return items[:SEARCH_CAP]


def _key(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def _date(value: Any) -> Any:
    import datetime as dt

    if not value:
        return None
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _iso(value: Any) -> str:
    import datetime as dt

    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _actor(user: Any) -> str:
    if user is None:
        return ""
    return user if isinstance(user, str) else str(getattr(user, "username", "") or "")


# Commands ----------------------------------------------------------------------------------
def complete_user_task(task_key: int, variables: dict[str, Any] | None, user: Any) -> None:
    """Complete a task. Camunda records no "completed by": the task's assignee at completion
    is who completed it, so an unassigned task is first assigned to ``user``."""
    actor = _actor(user)
    if actor:
        task = user_task(int(task_key))
        if task is not None and not task.assignee:
            assign_user_task(task_key, actor, user, allow_override=False)
    _call("POST", f"/user-tasks/{int(task_key)}/completion", {"variables": variables or {}})


def assign_user_task(
    task_key: int, assignee: str, user: Any = None, *, allow_override: bool = True
) -> None:
    _call(
        "POST",
        f"/user-tasks/{int(task_key)}/assignment",
        {"assignee": assignee, "allowOverride": allow_override},
    )


def unassign_user_task(task_key: int, user: Any = None) -> None:
    _call("DELETE", f"/user-tasks/{int(task_key)}/assignee")


def resolve_incident(
    incident_key: int,
    *,
    retries: int | None = None,
    variables: dict[str, Any] | None = None,
    user: Any = None,
) -> None:
    """Corrected variables on the failed scope, retries on the job, then the resolution (the
    order Camunda's documentation gives for job incidents)."""
    from processes.port import PortError

    found = incident(incident_key)
    if found is None:
        raise PortError(f"No incident with key '{incident_key}'", rejection_type="NOT_FOUND")
    if variables:
        _call(
            "PUT",
            f"/element-instances/{found.element_instance_key}/variables",
            {"variables": variables, "local": False},
        )
    if found.job_key and retries is not None:
        _call("PATCH", f"/jobs/{found.job_key}", {"changeset": {"retries": retries}})
    _call("POST", f"/incidents/{int(incident_key)}/resolution", {})


# Composable queries (lists of keys: another system's rows cannot join the domain's) ---------
def instances_waiting_at(element_id: str, process_id: str = "") -> list[int]:
    filters: dict[str, Any] = {"elementId": element_id, "state": "ACTIVE"}
    if process_id:
        filters["processDefinitionId"] = process_id
    rows = _search_all("element-instances", filters)
    return sorted({int(row["processInstanceKey"]) for row in rows})


def instances_with_open_incident(process_id: str = "") -> list[int]:
    filters: dict[str, Any] = {"state": "ACTIVE"}
    if process_id:
        filters["processDefinitionId"] = process_id
    rows = _search_all("incidents", filters)
    return sorted({int(row["processInstanceKey"]) for row in rows})


# Reads ---------------------------------------------------------------------------------------
def now() -> Any:
    from django.utils import timezone

    return timezone.now()


def _task(item: dict[str, Any]) -> Any:
    from processes import port

    state = item.get("state") or ""
    return port.UserTask(
        key=int(item["userTaskKey"]),
        name=item.get("name") or item.get("elementId") or "",
        state=state,
        assignee=item.get("assignee") or "",
        candidate_groups=list(item.get("candidateGroups") or []),
        candidate_users=list(item.get("candidateUsers") or []),
        element_id=item.get("elementId") or "",
        element_instance_key=_key(item.get("elementInstanceKey")) or 0,
        process_instance_key=_key(item.get("processInstanceKey")) or 0,
        process_id=item.get("processDefinitionId") or "",
        form_key=item.get("externalFormReference") or item.get("formKey") or "",
        priority=int(item.get("priority") or 50),
        created_at=_date(item.get("creationDate")),
        due_date=_date(item.get("dueDate")),
        completed_at=_date(item.get("completionDate")),
        completed_by=(item.get("assignee") or "") if state == "COMPLETED" else "",
    )


def _offered(task: Any, who: Any) -> bool:
    return who.username in task.candidate_users or bool(
        set(task.candidate_groups) & set(who.groups)
    )


def _task_matches(task: Any, query: Any) -> bool:
    if query.assignee is not None and task.assignee != query.assignee:
        return False
    if query.offered_to is not None and not _offered(task, query.offered_to):
        return False
    if query.visible_to is not None and not (
        task.assignee == query.visible_to.username or _offered(task, query.visible_to)
    ):
        return False
    if query.actionable_by is not None and not (
        task.assignee == query.actionable_by.username
        or (not task.assignee and _offered(task, query.actionable_by))
    ):
        return False
    if query.form_key and task.form_key != query.form_key:
        return False
    return not query.name or query.name.lower() in task.name.lower()


def _task_sort_key(sort: str) -> tuple[Any, bool]:
    import datetime as dt

    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    if sort == "due":
        return (lambda t: (t.due_date or far, -t.priority)), False
    if sort == "priority":
        return (lambda t: (-t.priority, t.created_at or far)), False
    if sort == "completed":
        return (lambda t: (t.completed_at or far, t.key)), True
    if sort == "created_asc":
        return (lambda t: (t.created_at or far, t.key)), False
    return (lambda t: (t.created_at or far, t.key)), True


def user_tasks(query: Any, offset: int, limit: int) -> Any:
    from processes import port

    filters: dict[str, Any] = {}
    if query.state:
        filters["state"] = query.state
    if query.assignee:
        filters["assignee"] = query.assignee
    elif query.assignee == "":
        filters["assignee"] = {"$exists": False}
    if query.process_id:
        filters["processDefinitionId"] = query.process_id
    if query.process_instance_key is not None:
        filters["processInstanceKey"] = str(query.process_instance_key)
    if query.element_id:
        filters["elementId"] = query.element_id
    if query.min_priority is not None:
        filters["priority"] = {"$gte": query.min_priority}
    if query.due_before is not None:
        filters["dueDate"] = {"$lte": _iso(query.due_before)}
    tasks = [t for t in map(_task, _search_all("user-tasks", filters)) if _task_matches(t, query)]
    key, reverse = _task_sort_key(query.sort)
    tasks.sort(key=key, reverse=reverse)
    return port.Results(tasks[offset : offset + limit] if limit > 0 else [], len(tasks))


def user_task(task_key: int) -> Any:
    item = _get(f"/user-tasks/{int(task_key)}")
    return _task(item) if item else None


def user_task_completed_by(process_instance_key: int, element_id: str) -> str:
    items, _total = _search(
        "user-tasks",
        {
            "processInstanceKey": str(process_instance_key),
            "elementId": element_id,
            "state": "COMPLETED",
        },
        sort=[{"field": "completionDate", "order": "DESC"}],
        limit=1,
    )
    return (items[0].get("assignee") or "") if items else ""


def _variable_value(text: Any) -> Any:
    import json

    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def user_task_variables(task: Any) -> dict[str, Any]:
    """The instance's root variables overlaid with the task's local ones."""
    root = variables(task.process_instance_key)
    visible = {v.name: v.value for v in root if v.scope_key == task.process_instance_key}
    visible.update({v.name: v.value for v in root if v.scope_key == task.element_instance_key})
    return visible


def _incident(item: dict[str, Any]) -> Any:
    from processes import port

    definition_key = _key(item.get("processDefinitionKey"))
    found = definition(definition_key) if definition_key else None
    return port.Incident(
        key=int(item["incidentKey"]),
        process_instance_key=_key(item.get("processInstanceKey")) or 0,
        process_id=item.get("processDefinitionId") or "",
        version=found.version if found else 0,
        element_id=item.get("elementId") or "",
        element_instance_key=_key(item.get("elementInstanceKey")) or 0,
        job_key=_key(item.get("jobKey")),
        error_type=item.get("errorType") or "",
        error_message=item.get("errorMessage") or "",
        state=item.get("state") or "",
        created_at=_date(item.get("creationTime")),
    )


def incidents(process_id: str, error_type: str, state: str, offset: int, limit: int) -> Any:
    from processes import port

    filters: dict[str, Any] = {}
    if state:
        filters["state"] = state
    if process_id:
        filters["processDefinitionId"] = process_id
    if error_type:
        filters["errorType"] = error_type
    items, total = _search(
        "incidents",
        filters,
        sort=[{"field": "creationTime", "order": "DESC"}],
        offset=offset,
        limit=limit,
    )
    return port.Results([_incident(i) for i in items] if limit > 0 else [], total)


def incident(incident_key: int) -> Any:
    item = _get(f"/incidents/{int(incident_key)}")
    return _incident(item) if item else None


def incident_groups() -> list[dict[str, Any]]:
    from collections import Counter

    counts = Counter(
        (row.get("processDefinitionId") or "", row.get("errorType") or "")
        for row in _search_all("incidents", {"state": "ACTIVE"})
    )
    return [
        {"process_id": pid, "error_type": error_type, "n": n}
        for (pid, error_type), n in counts.most_common()
    ]


def incident_job(found: Any) -> Any:
    """The incident's job (Camunda 8.8's job search)."""
    from processes import port

    items, _total = _search("jobs", {"jobKey": str(found.job_key)}, limit=1)
    if not items:
        return None
    item = items[0]
    return port.JobInfo(
        int(item["jobKey"]),
        item.get("type") or "",
        int(item.get("retries") or 0),
        item.get("state") or "",
    )


def is_element_instance_active(element_instance_key: int) -> bool:
    item = _get(f"/element-instances/{int(element_instance_key)}")
    return bool(item) and item.get("state") == "ACTIVE"


def _instance(item: dict[str, Any]) -> Any:
    from processes import port

    return port.Instance(
        key=int(item["processInstanceKey"]),
        definition_key=_key(item.get("processDefinitionKey")) or 0,
        process_id=item.get("processDefinitionId") or "",
        process_name=item.get("processDefinitionName") or item.get("processDefinitionId") or "",
        version=int(item.get("processDefinitionVersion") or 0),
        state=item.get("state") or "",
        started_at=_date(item.get("startDate")),
        ended_at=_date(item.get("endDate")),
        business_key="",  # a variable in Zeebe: see ``instance``
        parent_process_instance_key=_key(item.get("parentProcessInstanceKey")),
    )


def _business_key(process_instance_key: int) -> str:
    """Zeebe has no business key: ``start`` carries it as the ``businessKey`` root variable."""
    items, _total = _search(
        "variables",
        {
            "processInstanceKey": str(process_instance_key),
            "scopeKey": str(process_instance_key),
            "name": "businessKey",
        },
        limit=1,
        params={"truncateValues": "false"},
    )
    value = _variable_value(items[0].get("value")) if items else ""
    return str(value or "")


def instance(process_instance_key: int) -> Any:
    import dataclasses

    item = _get(f"/process-instances/{int(process_instance_key)}")
    if not item:
        return None
    found = _instance(item)
    return dataclasses.replace(found, business_key=_business_key(found.key))


def instance_summaries(keys: list[int]) -> dict[int, Any]:
    """Per instance: the instance, its active element instances, open incidents and tasks (the
    API has no batch form). Timer due dates are not served, so steps carry none."""
    from processes import port

    summaries: dict[int, Any] = {}
    moment = now()
    for key in keys:
        found = instance(key)
        if found is None:
            continue
        summary = port.InstanceSummary(
            key=found.key,
            process_id=found.process_id,
            process_name=found.process_name,
            version=found.version,
            state=found.state,
            started_at=found.started_at,
            ended_at=found.ended_at,
            business_key=found.business_key,
            open_incidents=_search(
                "incidents", {"processInstanceKey": str(key), "state": "ACTIVE"}, limit=1
            )[1],
            open_tasks=_search(
                "user-tasks", {"processInstanceKey": str(key), "state": "CREATED"}, limit=1
            )[1],
        )
        model = process_model(found.definition_key)
        for row in _search_all(
            "element-instances", {"processInstanceKey": str(key), "state": "ACTIVE"}
        ):
            if row.get("type") in PASS_THROUGH:
                continue
            el = model.elements.get(row.get("elementId") or "")
            if el is None:
                continue
            summary.steps.append(
                port.WaitingStep(
                    element_id=el.id,
                    element_instance_key=int(row["elementInstanceKey"]),
                    text=port.step_text(el, el.id, None, moment),
                    kind=el.kind,
                    has_incident=bool(row.get("hasIncident")),
                )
            )
        summary.steps.sort(key=lambda s: s.element_instance_key)
        summaries[key] = summary
    return summaries


def element_instances(process_instance_key: int) -> list[Any]:
    """Flow-node instances (Camunda's search returns no PROCESS row nor scope keys)."""
    from processes import port

    return [
        port.ElementInstance(
            key=int(row["elementInstanceKey"]),
            process_instance_key=process_instance_key,
            element_id=row.get("elementId") or "",
            element_type=row.get("type") or "",
            state=row.get("state") or "",
            scope_key=None,
            has_incident=bool(row.get("hasIncident")),
        )
        for row in _search_all(
            "element-instances",
            {"processInstanceKey": str(process_instance_key)},
            sort=[{"field": "elementInstanceKey", "order": "ASC"}],
        )
    ]


def taken_flows(process_instance_key: int) -> set[str]:
    return set()


def variables(process_instance_key: int) -> list[Any]:
    from processes import port

    rows = _search_all(
        "variables",
        {"processInstanceKey": str(process_instance_key)},
        sort=[{"field": "name", "order": "ASC"}],
        params={"truncateValues": "false"},
    )
    found = [
        port.Variable(int(row["scopeKey"]), row["name"], _variable_value(row.get("value")))
        for row in rows
    ]
    return sorted(found, key=lambda v: (v.scope_key, v.name))


def instance_incidents(process_instance_key: int) -> list[Any]:
    rows = _search_all(
        "incidents",
        {"processInstanceKey": str(process_instance_key)},
        sort=[{"field": "creationTime", "order": "DESC"}],
    )
    return [_incident(row) for row in rows]


def instance_user_tasks(process_instance_key: int) -> list[Any]:
    rows = _search_all(
        "user-tasks",
        {"processInstanceKey": str(process_instance_key)},
        sort=[{"field": "creationDate", "order": "DESC"}],
    )
    return [_task(row) for row in rows]


def history(process_instance_key: int, limit: int, notable: bool) -> list[Any]:
    """Camunda's REST API serves no record stream (that is an exporter's job): no history."""
    return []


def _definition(item: dict[str, Any]) -> Any:
    from processes import port

    return port.Definition(
        key=int(item["processDefinitionKey"]),
        process_id=item.get("processDefinitionId") or "",
        name=item.get("name") or "",
        version=int(item.get("version") or 0),
        version_tag=item.get("versionTag") or "",
        resource_name=item.get("resourceName") or "",
    )


def definitions() -> list[Any]:
    rows = _search_all("process-definitions", {})
    found = [_definition(row) for row in rows]
    return sorted(found, key=lambda d: (d.process_id, -d.version))


_definitions: dict[int, Any] = {}
_models: dict[int, Any] = {}


def definition(definition_key: int) -> Any:
    """A definition by key (cached: a deployed definition never changes)."""
    found = _definitions.get(int(definition_key))
    if found is None:
        item = _get(f"/process-definitions/{int(definition_key)}")
        if not item:
            return None
        found = _definitions[int(definition_key)] = _definition(item)
    return found


def latest_definition(process_id: str) -> Any:
    items, _total = _search(
        "process-definitions",
        {"processDefinitionId": process_id},
        sort=[{"field": "version", "order": "DESC"}],
        limit=1,
    )
    return _definition(items[0]) if items else None


def process_model(definition_key: int) -> Any:
    """The definition's BPMN XML from the API, parsed once per key."""
    from processes.engine.bpmn import parse_bpmn
    from processes.port import PortError

    model = _models.get(int(definition_key))
    if model is None:
        found = definition(definition_key)
        if found is None:
            raise PortError(f"No process definition '{definition_key}'", rejection_type="NOT_FOUND")
        xml = _call("GET", f"/process-definitions/{int(definition_key)}/xml")
        model = next(m for m in parse_bpmn(xml, found.resource_name) if m.id == found.process_id)
        _models[int(definition_key)] = model
    return model


def instance_counts() -> dict[tuple[int, str], int]:
    from collections import Counter

    return dict(
        Counter(
            (int(row["processDefinitionKey"]), row.get("state") or "")
            for row in _search_all("process-instances", {})
        )
    )


def open_incident_counts() -> dict[int, int]:
    from collections import Counter

    return dict(
        Counter(
            int(row["processDefinitionKey"])
            for row in _search_all("incidents", {"state": "ACTIVE"})
            if row.get("processDefinitionKey")
        )
    )


def element_counts(definition_key: int) -> tuple[dict[str, int], dict[str, int]]:
    from collections import Counter

    key = str(definition_key)
    active = Counter(
        row.get("elementId") or ""
        for row in _search_all(
            "element-instances", {"processDefinitionKey": key, "state": "ACTIVE"}
        )
        if row.get("type") not in ("PROCESS", "MULTI_INSTANCE_BODY")
    )
    incidents_ = Counter(
        row.get("elementId") or ""
        for row in _search_all("incidents", {"processDefinitionKey": key, "state": "ACTIVE"})
    )
    return dict(active), dict(incidents_)


def search_instances(query: Any, offset: int, limit: int) -> Any:
    from processes import port

    filters: dict[str, Any] = {"processDefinitionKey": str(query.definition_key)}
    if query.state:
        filters["state"] = query.state
    if query.has_incident:
        filters["hasIncident"] = True
    started: dict[str, str] = {}
    if query.started_from:
        started["$gte"] = query.started_from.isoformat()
    if query.started_to:
        started["$lte"] = query.started_to.isoformat()
    if started:
        filters["startDate"] = started
    if query.waiting_at:
        keys = instances_waiting_at(query.waiting_at)
        if not keys:
            return port.Results([], 0)
        filters["processInstanceKey"] = {"$in": [str(k) for k in keys]}
    items, total = _search(
        "process-instances",
        filters,
        sort=[{"field": "startDate", "order": "DESC"}],
        offset=offset,
        limit=limit,
    )
    return port.Results([_instance(item) for item in items] if limit else [], total)


def latest_instances(definition_key: int, limit: int) -> list[Any]:
    items, _total = _search(
        "process-instances",
        {"processDefinitionKey": str(definition_key)},
        sort=[{"field": "startDate", "order": "DESC"}],
        limit=limit,
    )
    return [_instance(item) for item in items]


def _grpc_rejection(error: Exception) -> str:
    """pyzeebe's error classes as Camunda's rejection names."""
    name = type(error).__name__
    if "AlreadyDeactivated" in name:
        return "INVALID_STATE"
    if "NotFound" in name:
        return "NOT_FOUND"
    if "AlreadyExists" in name:
        return "ALREADY_EXISTS"
    if "Invalid" in name or "NoVariableName" in name:
        return "INVALID_ARGUMENT"
    return "UNAVAILABLE"
