"""Commands of the embedded engine: each runs in one transaction holding the instance's row lock.

These functions are the engine's Python API; the Camunda-style REST API, the job workers, the
test harness and the ``processes.engine`` port adapter all call them. Failures that Zeebe
rejects raise ``Rejection`` with Zeebe's rejection type.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from processes.models import (
    ElementInstance,
    Incident,
    Job,
    Message,
    MessageCorrelation,
    MessageSubscription,
    ProcessDefinition,
    Record,
    Timer,
    UserTask,
)

from . import clock
from . import timers as timer_math
from .behaviours import call_activities, event_subprocesses, start_events
from .bpmn import BpmnValidationError, ProcessModel, parse_bpmn
from .definitions import clear_cache, definition_by_key, model_of, remember
from .runtime import (
    ACTIVATED,
    ACTIVATING,
    DEFAULT_TENANT,
    CommandContext,
    InstanceRun,
    Rejection,
)
from .state import RuntimeState
from .store import get_store

if TYPE_CHECKING:
    from .behaviours.run import Run

logger = logging.getLogger(__name__)

# Called after commit with the job types that got new jobs (workers wake up on them).
JOB_CREATED_LISTENERS: list[Callable[[set[str]], None]] = []
# Called after commit with {job key: job type} of the jobs made activatable (queue dispatch).
JOB_KEYS_CREATED_LISTENERS: list[Callable[[dict[int, str]], None]] = []


# ---------------------------------------------------------------------------------- helpers
def _after_commit(ctx: CommandContext) -> None:
    types = set(ctx.created_job_types)
    job_keys = dict(ctx.created_job_keys)
    follow_ups = list(ctx.follow_ups)
    if ctx.opened_subs:
        again = ctx.store.unserialized(ctx.opened_subs)
        follow_ups += [functools.partial(_recheck_subscription, sub) for sub in again]

    def notify() -> None:
        # The command committed: a failing listener (a broker that is down) must not turn that
        # into an error for the caller, nor skip the others. What it missed, the sweep redoes.
        calls = [functools.partial(listener, types) for listener in JOB_CREATED_LISTENERS]
        if job_keys:
            calls += [functools.partial(each, job_keys) for each in JOB_KEYS_CREATED_LISTENERS]
        for call in calls + follow_ups:
            try:
                call()
            except Exception:
                logger.exception("After-commit work failed; the periodic sweep retries it")

    if types or follow_ups:
        transaction.on_commit(notify)


def lock_instance(process_instance_key: int, intent: str, what: str) -> ElementInstance:
    root = get_store().lock_root(process_instance_key)
    if root is None:
        raise Rejection(
            "NOT_FOUND",
            intent,
            f"Expected to {what} process instance with key '{process_instance_key}', "
            "but no such process instance was found",
        )
    return root


def open_locked_run(
    ctx: CommandContext, process_instance_key: int, intent: str, what: str
) -> InstanceRun:
    """``lock_instance`` and ``open_run`` in one round trip (the store locks, then reads)."""
    root, rows = ctx.store.lock_and_load(process_instance_key)
    if root is None:
        raise Rejection(
            "NOT_FOUND",
            intent,
            f"Expected to {what} process instance with key '{process_instance_key}', "
            "but no such process instance was found",
        )
    definition = definition_by_key(root.definition_id)
    return InstanceRun(ctx, root, definition, model_of(definition), rows=rows)


def open_run(ctx: CommandContext, root: ElementInstance) -> InstanceRun:
    definition = definition_by_key(root.definition_id)
    return InstanceRun(ctx, root, definition, model_of(definition))


def finish_run(run: Run) -> None:
    run.run()
    run.flush()


def _json_object(variables: Any, intent: str) -> dict[str, Any]:
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise Rejection("INVALID_ARGUMENT", intent, "Expected variables to be a JSON object")
    return variables


# ---------------------------------------------------------------------------------- deploy
@dataclass
class DeployedProcess:
    definition: ProcessDefinition
    is_new: bool


def deploy(
    resources: Iterable[tuple[str, bytes | str]], *, tenant_id: str = DEFAULT_TENANT
) -> tuple[int, list[DeployedProcess]]:
    """Deploy BPMN resources atomically; an unchanged resource keeps its version."""
    resources = list(resources)
    if not resources:
        raise Rejection("INVALID_ARGUMENT", "CREATE", "Expected to deploy at least one resource")
    parsed: list[tuple[str, bytes, ProcessModel]] = []
    problems: list[str] = []
    seen_ids: set[str] = set()
    for name, content in resources:
        data = content.encode() if isinstance(content, str) else content
        try:
            models = parse_bpmn(data, name)
        except BpmnValidationError as error:
            problems.append(f"'{name}': {error}")
            continue
        for model in models:
            if model.id in seen_ids:
                problems.append(f"'{name}': duplicate process id '{model.id}' in one deployment")
            seen_ids.add(model.id)
            parsed.append((name, data, model))
    if problems:
        raise Rejection(
            "INVALID_ARGUMENT",
            "CREATE",
            "Expected to deploy new resources, but encountered the following errors:\n"
            + "\n".join(problems),
        )
    now = clock.now()
    with transaction.atomic():
        ctx = CommandContext(now)
        deployment_key = ctx.keys.next()
        results = []
        for name, data, model in parsed:
            checksum = hashlib.sha256(data).hexdigest()
            latest = (
                ProcessDefinition.objects.select_for_update()
                .filter(tenant_id=tenant_id, bpmn_process_id=model.id)
                .order_by("-version")
                .first()
            )
            if latest and latest.checksum == checksum and latest.resource_name == name:
                results.append(DeployedProcess(latest, False))
                continue
            definition = ProcessDefinition.objects.create(
                key=ctx.keys.next(),
                bpmn_process_id=model.id,
                name=model.name or "",
                version=(latest.version + 1) if latest else 1,
                version_tag=model.version_tag or "",
                resource_name=name,
                checksum=checksum,
                xml=data.decode("utf-8"),
                deployment_key=deployment_key,
                tenant_id=tenant_id,
                deployed_at=now,
            )
            remember(definition, model)
            Record.objects.create(
                value_type="PROCESS",
                intent="CREATED",
                key=definition.key,
                element_id=model.id,
                detail={"version": definition.version, "resourceName": name},
                at=now,
            )
            start_events.on_deploy(ctx, definition, model)
            results.append(DeployedProcess(definition, True))
    return deployment_key, results


def deploy_file(path: str) -> list[DeployedProcess]:
    from pathlib import Path

    file = Path(path)
    return deploy([(file.name, file.read_bytes())])[1]


def latest_definition(process_id: str, tenant_id: str = DEFAULT_TENANT) -> ProcessDefinition:
    key = get_store().latest_definition_key(tenant_id, process_id)
    definition = definition_by_key(key) if key is not None else None
    if definition is None:
        raise Rejection(
            "NOT_FOUND",
            "CREATE",
            f"Expected to find process definition with process ID '{process_id}', but none found",
        )
    return definition


# ---------------------------------------------------------------------------------- instances
def create_instance(
    *,
    process_id: str | None = None,
    definition_key: int | None = None,
    version: int | None = None,
    variables: dict[str, Any] | None = None,
    business_key: str = "",
    tenant_id: str = DEFAULT_TENANT,
    actor: str = "",
    start_element_id: str | None = None,
    parent: tuple[int, int] | None = None,
) -> ElementInstance:
    """Start an instance at the none start event (or ``start_element_id``); returns its row."""
    variables = _json_object(variables, "CREATE")
    # Two round trips: begin and the definition lookup; then the writes and the commit.
    with get_store().command():
        definition, model, start_element_id = _definition_to_start(
            process_id, definition_key, version, tenant_id, start_element_id
        )
        ctx = CommandContext(clock.now(), actor)
        root = start_instance_in(
            ctx, definition, model, variables, start_element_id, business_key, parent
        )
    return root


def create_instances(
    *,
    process_id: str,
    starts: Sequence[tuple[dict[str, Any] | None, str]],
    version: int | None = None,
    tenant_id: str = DEFAULT_TENANT,
    actor: str = "",
) -> list[ElementInstance]:
    """Start one instance per ``(variables, business_key)`` at the none start event, in one
    command: one definition lookup and one transaction for all of them (inside a caller's
    transaction, one savepoint); a refused start refuses them all. Returns the roots in order."""
    payloads = [
        (_json_object(variables, "CREATE"), business_key) for variables, business_key in starts
    ]
    if not payloads:
        return []
    with get_store().command():
        definition, model, start_element_id = _definition_to_start(
            process_id, None, version, tenant_id, None
        )
        ctx = CommandContext(clock.now(), actor)
        roots = [
            start_instance_in(
                ctx,
                definition,
                model,
                variables,
                start_element_id,
                business_key,
                after_commit=False,
            )
            for variables, business_key in payloads
        ]
        _after_commit(ctx)  # one notification for all the jobs the starts created
    return roots


def _definition_to_start(
    process_id: str | None,
    definition_key: int | None,
    version: int | None,
    tenant_id: str,
    start_element_id: str | None,
) -> tuple[ProcessDefinition, ProcessModel, str]:
    if definition_key is not None:
        definition = ProcessDefinition.objects.filter(key=definition_key).first()
        if definition is None:
            raise Rejection(
                "NOT_FOUND",
                "CREATE",
                f"Expected to find process definition with key '{definition_key}', but none found",
            )
    elif version is not None and version >= 0:
        definition = ProcessDefinition.objects.filter(
            tenant_id=tenant_id, bpmn_process_id=process_id, version=version
        ).first()
        if definition is None:
            raise Rejection(
                "NOT_FOUND",
                "CREATE",
                f"Expected to find process definition with process ID '{process_id}' and "
                f"version '{version}', but none found",
            )
    else:
        definition = latest_definition(process_id or "", tenant_id)
    model = model_of(definition)
    if start_element_id is None:
        starts = [s for s in model.start_events if model.elements[s].event is None]
        if not starts:
            raise Rejection(
                "INVALID_STATE",
                "CREATE",
                f"Expected to create instance of process with none start event, but there is no "
                f"such event in process '{model.id}'",
            )
        start_element_id = starts[0]
    return definition, model, start_element_id


def start_instance_in(
    ctx: CommandContext,
    definition: ProcessDefinition,
    model: ProcessModel,
    variables: dict[str, Any],
    start_element_id: str,
    business_key: str = "",
    parent: tuple[int, int] | None = None,
    payload: dict[str, Any] | None = None,
    *,
    after_commit: bool = True,
) -> ElementInstance:
    """Create and run a new instance inside the caller's transaction; ``after_commit=False``
    leaves the command's after-commit work to the caller (a batch registers it once)."""
    key = ctx.keys.next()
    root = ElementInstance(
        key=key,
        process_instance_key=key,
        definition_id=definition.key,
        element_id=model.id,
        element_type="PROCESS",
        scope_key=None,
        lifecycle=ACTIVATING,
        state=ElementInstance.ACTIVE,
        started_at=ctx.now,
        business_key=business_key[:255],
        tenant_id=definition.tenant_id,
        parent_process_instance_key=parent[0] if parent else None,
        parent_element_instance_key=parent[1] if parent else None,
    )
    run = InstanceRun(ctx, root, definition, model, loaded=False)
    run.new_instances.append(root)
    for name, value in variables.items():
        run.set_local(root.key, name, value)
    root.lifecycle = ACTIVATED
    run.record("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", root.key, model.id, "PROCESS")
    start = model.elements[start_element_id]
    run.activate(start, root.key, state=RuntimeState(payload=payload) if payload else None)
    event_subprocesses.open_event_subprocess_subscriptions(run, None, root)
    finish_run(run)
    if after_commit:
        _after_commit(ctx)
    return root


def cancel_instance(process_instance_key: int, *, actor: str = "") -> None:
    with transaction.atomic():
        root = lock_instance(process_instance_key, "CANCEL", "cancel")
        if root.state != ElementInstance.ACTIVE:
            raise Rejection(
                "NOT_FOUND",
                "CANCEL",
                f"Expected to cancel a process instance with key '{process_instance_key}', "
                "but no such process instance was found",
            )
        if root.parent_process_instance_key:
            raise Rejection(
                "INVALID_STATE",
                "CANCEL",
                f"Expected to cancel a process instance with key '{process_instance_key}', but "
                "it is created by a parent process instance. Cancel the root process instance "
                f"'{root.parent_process_instance_key}' instead.",
            )
        ctx = CommandContext(clock.now(), actor)
        run = open_run(ctx, root)
        run.terminate(root)
        finish_run(run)
        _after_commit(ctx)


# ---------------------------------------------------------------------------------- jobs
def _job_for_command(job_key: int, intent: str, what: str) -> tuple[Job, ElementInstance]:
    row = Job.objects.filter(key=job_key).values_list("process_instance_key", flat=True).first()
    not_found = Rejection(
        "NOT_FOUND",
        intent,
        f"Expected to {what} job with key '{job_key}', but no such job was found",
    )
    if row is None:
        raise not_found
    root = lock_instance(row, intent, what)
    job = Job.objects.select_for_update().get(key=job_key)
    if job.state in (Job.COMPLETED, Job.CANCELED, Job.ERROR_THROWN):
        raise not_found
    return job, root


def complete_job(job_key: int, variables: dict[str, Any] | None = None) -> None:
    variables = _json_object(variables, "COMPLETE")
    # Two round trips: begin, lock, complete and read; then the writes and the commit.
    store = get_store()
    with store.command():
        now = clock.now()
        root, completed, rows = store.lock_and_complete_job(job_key, now)
        if completed is None:
            state = Job.objects.filter(key=job_key).values_list("state", flat=True).first()
            if state == Job.FAILED:
                raise Rejection(
                    "INVALID_STATE",
                    "COMPLETE",
                    f"Expected to complete job with key '{job_key}', but it is in state 'FAILED'",
                )
            raise Rejection(
                "NOT_FOUND",
                "COMPLETE",
                f"Expected to complete job with key '{job_key}', but no such job was found",
            )
        assert root is not None, "a completed job's instance was locked"
        element_instance_key, element_id, job_type = completed
        ctx = CommandContext(now)
        definition = definition_by_key(root.definition_id)
        run = InstanceRun(ctx, root, definition, model_of(definition), rows=rows)
        run.record("JOB", "COMPLETED", job_key, element_id, detail={"type": job_type})
        ei = run.instances.get(element_instance_key)
        if ei is not None and ei.lifecycle == ACTIVATED:
            run.drop_wait(ei, "job")
            run.complete(ei, variables or None)
        finish_run(run)
        _after_commit(ctx)


def fail_job(
    job_key: int,
    *,
    retries: int,
    error_message: str = "",
    retry_backoff_ms: int = 0,
    variables: dict[str, Any] | None = None,
) -> None:
    variables = _json_object(variables, "FAIL")
    with transaction.atomic():
        job, root = _job_for_command(job_key, "FAIL", "fail")
        if job.state == Job.FAILED:
            raise Rejection(
                "INVALID_STATE",
                "FAIL",
                f"Expected to fail job with key '{job_key}', but it is in state 'FAILED'",
            )
        now = clock.now()
        ctx = CommandContext(now)
        run = open_run(ctx, root)
        ei = run.instances.get(job.element_instance_key)
        for name, value in variables.items():
            if ei is not None:
                run.set_local(ei.key, name, value)
        job.retries = retries
        job.error_message = error_message or ""
        job.worker = ""
        job.deadline = None
        if retries > 0:
            job.state = Job.ACTIVATABLE
            job.activatable_at = now + dt.timedelta(milliseconds=max(retry_backoff_ms, 0))
            run.record(
                "JOB",
                "FAILED",
                job.key,
                job.element_id,
                detail={"retries": retries, "errorMessage": error_message[:500]},
            )
        else:
            job.state = Job.FAILED
            run.record("JOB", "FAILED", job.key, job.element_id, detail={"retries": 0})
            if ei is not None:
                run.raise_incident(
                    ei, "JOB_NO_RETRIES", error_message or "No more retries left.", job.key
                )
        job.save()
        finish_run(run)
        _after_commit(ctx)


def throw_job_error(
    job_key: int,
    *,
    error_code: str,
    error_message: str = "",
    variables: dict[str, Any] | None = None,
) -> None:
    variables = _json_object(variables, "THROW_ERROR")
    with transaction.atomic():
        job, root = _job_for_command(job_key, "THROW_ERROR", "throw an error for")
        if job.state == Job.FAILED:
            raise Rejection(
                "INVALID_STATE",
                "THROW_ERROR",
                f"Expected to throw an error for job with key '{job_key}', but it is in state "
                "'FAILED'",
            )
        now = clock.now()
        job.state, job.ended_at = Job.ERROR_THROWN, now
        job.error_message = error_message or ""
        job.save(update_fields=["state", "ended_at", "error_message"])
        ctx = CommandContext(now)
        run = open_run(ctx, root)
        run.record("JOB", "ERROR_THROWN", job.key, job.element_id, detail={"code": error_code})
        ei = run.instances.get(job.element_instance_key)
        if ei is not None:
            run.drop_wait(ei, "job")
            caught = run.throw_error(ei, error_code, error_message, variables)
            if not caught:
                # The incident belongs to the job: resolving it offers the job again.
                incident = run.new_incidents[-1]
                incident.job_key = job.key
                job.state = Job.FAILED
                job.retries = max(job.retries, 1)
                job.save(update_fields=["state", "retries"])
                run.add_wait(ei, "job")
        finish_run(run)
        _after_commit(ctx)


@dataclass
class ActivatedJob:
    job: Job
    variables: dict[str, Any]
    definition: ProcessDefinition


def activate_jobs(
    job_type: str | list[str],
    *,
    worker: str = "",
    timeout_ms: int = 300_000,
    max_jobs: int = 32,
    fetch_variables: list[str] | None = None,
    tenant_ids: list[str] | None = None,
    job_key: int | None = None,
) -> list[ActivatedJob]:
    """Lock up to ``max_jobs`` activatable jobs of a type for ``timeout_ms``.

    ``job_type`` may be a list: an in-process worker serving many types asks once for all.
    """
    now = clock.now()
    types = [job_type] if isinstance(job_type, str) else list(job_type)
    activated = get_store().activate_jobs(
        types,
        worker=worker,
        timeout_ms=timeout_ms,
        max_jobs=max_jobs,
        fetch_variables=fetch_variables,
        now=now,
        job_key=job_key,
        tenant_ids=tenant_ids,
    )
    return [
        ActivatedJob(job, variables, definition_by_key(job.definition_id))
        for job, variables in activated
    ]


def update_job(job_key: int, *, retries: int | None = None, timeout_ms: int | None = None) -> None:
    with transaction.atomic():
        job, _root = _job_for_command(job_key, "UPDATE", "update")
        if retries is not None:
            if retries < 1:
                raise Rejection(
                    "INVALID_ARGUMENT",
                    "UPDATE_RETRIES",
                    f"Expected to update retries for job with key '{job_key}' with a positive "
                    f"amount of retries, but the amount given was '{retries}'",
                )
            job.retries = retries
        if timeout_ms is not None:
            if job.state != Job.ACTIVATED:
                raise Rejection(
                    "NOT_FOUND",
                    "UPDATE_TIMEOUT",
                    f"Expected to update the timeout of job with key '{job_key}', but it is not "
                    "active",
                )
            job.deadline = clock.now() + dt.timedelta(milliseconds=timeout_ms)
        job.save(update_fields=["retries", "deadline"])


# ---------------------------------------------------------------------------------- user tasks
def _task_for_command(task_key: int, intent: str, what: str) -> tuple[UserTask, ElementInstance]:
    pi = UserTask.objects.filter(key=task_key).values_list("process_instance_key", flat=True)
    pi_key = pi.first()
    if pi_key is None:
        raise Rejection(
            "NOT_FOUND",
            intent,
            f"Expected to {what} user task with key '{task_key}', but no such user task was found",
        )
    root = lock_instance(pi_key, intent, what)
    task = UserTask.objects.select_for_update().get(key=task_key)
    if task.state != UserTask.CREATED:
        raise Rejection(
            "INVALID_STATE",
            intent,
            f"Expected to {what} user task with key '{task_key}', but it is in state "
            f"'{task.state}'",
        )
    return task, root


def complete_user_task(
    task_key: int, variables: dict[str, Any] | None = None, *, actor: str = ""
) -> None:
    variables = _json_object(variables, "COMPLETE")
    with transaction.atomic():
        task, root = _task_for_command(task_key, "COMPLETE", "complete")
        now = clock.now()
        task.state, task.completed_at, task.completed_by = UserTask.COMPLETED, now, actor[:255]
        task.save(update_fields=["state", "completed_at", "completed_by"])
        ctx = CommandContext(now, actor)
        run = open_run(ctx, root)
        run.record("USER_TASK", "COMPLETED", task.key, task.element_id, detail={"name": task.name})
        ei = run.instances.get(task.element_instance_key)
        if ei is not None:
            run.drop_wait(ei, "task")
            run.complete(ei, variables or None)
        finish_run(run)
        _after_commit(ctx)


def assign_user_task(
    task_key: int, assignee: str, *, allow_override: bool = True, actor: str = ""
) -> None:
    if not assignee:
        raise Rejection("INVALID_ARGUMENT", "ASSIGN", "No assignee provided")
    with transaction.atomic():
        task, _root = _task_for_command(task_key, "ASSIGN", "assign")
        if not allow_override and task.assignee and task.assignee != assignee:
            raise Rejection(
                "INVALID_STATE",
                "ASSIGN",
                f"Expected to assign user task with key '{task_key}', but it is already assigned "
                f"to '{task.assignee}'",
            )
        task.assignee = assignee
        task.save(update_fields=["assignee"])
        _task_record(task, "ASSIGNED", actor, {"assignee": assignee})


def unassign_user_task(task_key: int, *, actor: str = "") -> None:
    with transaction.atomic():
        task, _root = _task_for_command(task_key, "ASSIGN", "unassign")
        task.assignee = ""
        task.save(update_fields=["assignee"])
        _task_record(task, "UNASSIGNED", actor, {})


def update_user_task(task_key: int, changes: dict[str, Any], *, actor: str = "") -> None:
    with transaction.atomic():
        task, _root = _task_for_command(task_key, "UPDATE", "update")
        for field in ("due_date", "follow_up_date", "candidate_users", "candidate_groups"):
            if field in changes:
                setattr(task, field, changes[field])
        if "priority" in changes:
            priority = changes["priority"]
            if not isinstance(priority, int) or not 0 <= priority <= 100:
                raise Rejection("INVALID_ARGUMENT", "UPDATE", "priority must be within 0 and 100")
            task.priority = priority
        task.save()
        _task_record(task, "UPDATED", actor, {k: str(v) for k, v in changes.items()})


def _task_record(task: UserTask, intent: str, actor: str, detail: dict[str, Any]) -> None:
    Record.objects.create(
        process_instance_key=task.process_instance_key,
        value_type="USER_TASK",
        intent=intent,
        key=task.key,
        element_id=task.element_id,
        actor=actor,
        detail=detail,
        at=clock.now(),
    )


# ---------------------------------------------------------------------------------- messages
def publish_message(
    name: str,
    correlation_key: str = "",
    *,
    variables: dict[str, Any] | None = None,
    ttl_ms: int = 0,
    message_id: str = "",
    tenant_id: str = DEFAULT_TENANT,
) -> tuple[int, list[int]]:
    """Publish: correlate to open subscriptions (one per process id), start instances, buffer."""
    if not name:
        raise Rejection("INVALID_ARGUMENT", "PUBLISH", "No messageName provided.")
    variables = _json_object(variables, "PUBLISH")
    now = clock.now()
    store = get_store()
    with store.command():
        if message_id:
            duplicate = Message.objects.filter(
                name=name,
                correlation_key=correlation_key,
                message_id=message_id,
                tenant_id=tenant_id,
                expires_at__gt=now,
            ).exists()
            if duplicate:
                raise Rejection(
                    "ALREADY_EXISTS",
                    "PUBLISH",
                    f"Expected to publish a new message with id '{message_id}', but a message "
                    "with that id was already published",
                )
        ctx = CommandContext(now)
        message = Message(
            key=ctx.keys.next(),
            name=name,
            correlation_key=correlation_key,
            message_id=message_id,
            variables=variables,
            published_at=now,
            expires_at=now + dt.timedelta(milliseconds=max(ttl_ms, 0)),
            tenant_id=tenant_id,
        )
        record = Record(
            value_type="MESSAGE",
            intent="PUBLISHED",
            key=message.key,
            detail={"name": name, "correlationKey": correlation_key, "ttl": ttl_ms},
            at=now,
        )
        with store.batch():  # sent with the subscription lookup that follows
            with store.writes():
                store.insert([message])
                store.insert([record])
            instance_keys = _correlate_message(ctx, message)
        if ttl_ms > 0 and not store.serializes_correlation():
            ctx.follow_ups.append(lambda: _recheck_message(message))
        _after_commit(ctx)
    return message.key, instance_keys


def _correlate_message(ctx: CommandContext, message: Message, *, again: bool = False) -> list[int]:
    """Correlate ``message`` to one subscription per process id; start instances by message.

    ``again``: a second look after the publication committed (see ``_recheck_message``):
    process ids the message already went to are skipped, and no instance is started.
    """
    # ``may_start``: whether a message start event may listen (the start events look again).
    subs, may_start = ctx.store.subscriptions_for(message)
    by_process: dict[str, list[MessageSubscription]] = defaultdict(list)
    for sub in subs:
        by_process[sub.bpmn_process_id].append(sub)
    served: set[str] = set()
    instance_keys: list[int] = []
    if again and by_process:
        served = set(
            MessageCorrelation.objects.filter(message_key=message.key).values_list(
                "bpmn_process_id", flat=True
            )
        )
    for process_id, candidates in by_process.items():
        if process_id in served:
            continue
        for sub in candidates:
            try:
                run = open_locked_run(ctx, sub.process_instance_key, "CORRELATE", "correlate to")
            except Rejection:
                continue
            root = run.root
            if root.state != ElementInstance.ACTIVE:
                continue
            if run.correlate(sub, message.key, message.variables):
                finish_run(run)
                served.add(process_id)
                instance_keys.append(root.key)
                break
    if not again and may_start:
        instance_keys.extend(start_events.on_message_start(ctx, message, served))
    return instance_keys


# Publication and subscription race: a message published while another command opens a matching
# subscription is seen by neither transaction when both run at once (each reads before the other
# commits). The PostgreSQL store serialises the two with a lock per message name and correlation
# key (``Store.serializes_correlation``); a subscription that found the lock held, and any side on
# a store without it, looks again once it has committed: whichever commits last then sees the
# other's row. Correlation itself stays under the instance lock and at most once per process id.
def _recheck_message(message: Message) -> None:
    """After a publication commits: correlate to subscriptions opened meanwhile."""
    if not get_store().has_subscription_for(message):
        return  # the usual case: one cheap statement, no lock
    with transaction.atomic():
        ctx = CommandContext(clock.now())
        # The message row is locked so that two second looks do not run at once.
        if not Message.objects.select_for_update().filter(key=message.key).exists():
            return  # expired meanwhile
        _correlate_message(ctx, message, again=True)
        _after_commit(ctx)


def _recheck_subscription(sub: MessageSubscription) -> None:
    """After a subscription commits: take a message published meanwhile, if there is one."""
    store = get_store()
    with transaction.atomic():
        store.wait_for_publications(sub)  # a publication in flight commits first
        if store.oldest_buffered(sub, clock.now(), []) is None:
            return  # the usual case: one cheap statement, no instance lock
        try:
            root = lock_instance(sub.process_instance_key, "CORRELATE", "correlate to")
        except Rejection:
            return
        if (
            root.state != ElementInstance.ACTIVE
            or not MessageSubscription.objects.filter(key=sub.key).exists()
        ):
            return
        ctx = CommandContext(clock.now())
        run = open_run(ctx, root)
        run.pending_message_checks.append(sub)
        finish_run(run)
        _after_commit(ctx)


def expire_messages(now: dt.datetime | None = None) -> int:
    now = now or clock.now()
    expired = Message.objects.filter(expires_at__lte=now)
    keys = list(expired.values_list("key", flat=True)[:1000])
    if not keys:
        return 0
    with transaction.atomic():
        MessageCorrelation.objects.filter(message_key__in=keys).delete()
        Message.objects.filter(key__in=keys).delete()
    return len(keys)


# ---------------------------------------------------------------------------------- timers
def fire_due_timers(now: dt.datetime | None = None, limit: int = 200) -> int:
    """Fire every timer due at ``now``; each in its own transaction. Returns how many fired."""
    fired = 0
    while True:
        now_ = now or clock.now()
        due = list(
            Timer.objects.filter(due_at__lte=now_)
            .order_by("due_at", "key")
            .values_list("key", "process_instance_key")[:limit]
        )
        if not due:
            return fired
        for timer_key, instance_key in due:
            if _fire_timer(timer_key, instance_key, now_):
                fired += 1
        if len(due) < limit:
            return fired


def _fire_timer(timer_key: int, instance_key: int | None, now: dt.datetime) -> bool:
    """Fire one timer that was listed as due. Another process may have fired it meanwhile (the
    list is read without locks): once its lock is held, a timer that is gone or whose due date
    has moved on (a cycle advanced by that firing) is not fired again."""
    with transaction.atomic():
        ctx = CommandContext(now)
        if instance_key is None:
            timer = Timer.objects.select_for_update().filter(key=timer_key).first()
            if timer is None or timer.due_at > now:
                return False
            start_events.on_start_timer(ctx, timer)
            _after_commit(ctx)
            return True
        root = (
            ElementInstance.objects.select_for_update()
            .filter(key=instance_key, element_type="PROCESS")
            .first()
        )
        timer = Timer.objects.filter(key=timer_key).first()
        if timer is None or root is None or timer.due_at > now:
            return False
        run = open_run(ctx, root)
        owner_key = timer.element_instance_key
        owner = run.instances.get(owner_key) if owner_key is not None else None
        if owner is None or owner.state != ElementInstance.ACTIVE:
            timer.delete()
            return False
        ctx.store.advance_timer(timer, _next_due(timer) if not timer.interrupting else None)
        run.record("TIMER", "TRIGGERED", timer.key, timer.element_id)
        run.trigger(owner, timer.element_id, {})
        finish_run(run)
        _after_commit(ctx)
        return True


def _next_due(timer: Timer) -> tuple[dt.datetime, int | None] | None:
    """The next due date of a repeating timer, or None when it is done."""
    if timer.kind != "cycle":
        return None
    cycle = timer_math.schedule_from("cycle", timer.spec, timer.due_at).cycle
    current = timer_math.TimerSchedule(timer.due_at, timer.repetitions, cycle)
    following = current.next(timer.due_at)
    if following is None:
        return None
    return following.due_at, following.repetitions_left


# ---------------------------------------------------------------------------------- incidents
def resolve_incident(incident_key: int, *, actor_user: Any = None) -> None:
    with transaction.atomic():
        pi_key = (
            Incident.objects.filter(key=incident_key, state=Incident.ACTIVE)
            .values_list("process_instance_key", flat=True)
            .first()
        )
        not_found = Rejection(
            "NOT_FOUND",
            "RESOLVE",
            f"Expected to resolve incident with key '{incident_key}', but no such incident was "
            "found",
        )
        if pi_key is None:
            raise not_found
        root = lock_instance(pi_key, "RESOLVE", "resolve incident of")
        incident = Incident.objects.select_for_update().get(key=incident_key)
        if incident.state != Incident.ACTIVE:
            raise not_found
        now = clock.now()
        ctx = CommandContext(now, getattr(actor_user, "username", "") or "")
        run = open_run(ctx, root)
        ei = run.instances.get(incident.element_instance_key)
        if incident.job_key:
            job = Job.objects.select_for_update().get(key=incident.job_key)
            if job.retries <= 0:
                raise Rejection(
                    "INVALID_STATE",
                    "RESOLVE",
                    f"Expected to resolve incident with key '{incident_key}', but job with key "
                    f"'{job.key}' has no retries left. Please update the job retries first.",
                )
            job.state, job.activatable_at, job.deadline = Job.ACTIVATABLE, now, None
            job.save(update_fields=["state", "activatable_at", "deadline"])
            ctx.created_job_types.add(job.type)
            ctx.created_job_keys[job.key] = job.type
            if ei is not None:
                ei.has_incident = False
                run.drop_wait(ei, "incident")
                run.touch(ei)
        elif ei is not None:
            run.drop_wait(ei, "incident")
            run.retry_after_incident(ei)
        incident.state, incident.resolved_at = Incident.RESOLVED, now
        incident.resolved_by = actor_user if getattr(actor_user, "pk", None) else None
        incident.save(update_fields=["state", "resolved_at", "resolved_by"])
        run.record("INCIDENT", "RESOLVED", incident.key, incident.element_id)
        finish_run(run)
        _after_commit(ctx)


# ---------------------------------------------------------------------------------- variables
def set_variables(scope_key: int, variables: dict[str, Any], *, local: bool = False) -> None:
    """Set variables on an element or process instance scope."""
    variables = _json_object(variables, "UPDATE")
    with transaction.atomic():
        pi_key = (
            ElementInstance.objects.filter(key=scope_key, state=ElementInstance.ACTIVE)
            .values_list("process_instance_key", flat=True)
            .first()
        )
        if pi_key is None:
            raise Rejection(
                "NOT_FOUND",
                "UPDATE",
                f"Expected to update variables for element with key '{scope_key}', but no such "
                "element was found",
            )
        root = lock_instance(pi_key, "UPDATE", "update variables of")
        ctx = CommandContext(clock.now())
        run = open_run(ctx, root)
        if scope_key not in run.instances:
            raise Rejection("NOT_FOUND", "UPDATE", f"Element '{scope_key}' is not active")
        if local:
            for name, value in variables.items():
                run.set_local(scope_key, name, value)
        else:
            run.propagate(scope_key, variables)
        finish_run(run)


def pin_clock(at: dt.datetime) -> int:
    """Pin the clock and fire everything then due before answering."""
    clock.pin(at)
    fired = fire_due_timers(at)
    expire_messages(at)
    return fired


def reset_clock() -> None:
    clock.reset()


def resume_completed_children(keys: list[int] | None = None) -> int:
    """Finish parent continuations of child instances that could not be done at once."""
    return call_activities.resume_completed_children(keys)


def clear_caches() -> None:
    """Forget cached definitions and models (after a test rolled its database back)."""
    clear_cache()
