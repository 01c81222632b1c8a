"""The portable store: every engine read and write stated with the ORM (any Django database).

``PostgresStore`` subclasses it and replaces the hot-path operations with its fast path; the
operations it does not override are the same statements on every database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q

from processes.engine import sql
from processes.engine.errors import Rejection
from processes.engine.state import sync_runtime
from processes.models import (
    ElementInstance,
    Incident,
    Job,
    Message,
    MessageCorrelation,
    MessageStartSubscription,
    MessageSubscription,
    ProcessDefinition,
    Record,
    Timer,
    UserTask,
    Variable,
)

# An instance's active element instances (besides the root) and its variables; ``None`` for the
# variables when they were not read (the run reads them on first use).
ActiveRows = tuple[list[ElementInstance], list[Variable] | None]
# The completed job's (element instance key, element id, type).
CompletedJob = tuple[int, str, str]


class Store:
    """Storage operations of the engine, portable across databases."""

    name = "portable"

    # ------------------------------------------------------------------ writes of a command
    def writes(self) -> contextlib.AbstractContextManager[None]:
        """A command's writes go out together (a no-op here: each runs in place)."""
        return contextlib.nullcontext()

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Statements inside whose results are not read are sent together (no-op here)."""
        return contextlib.nullcontext()

    def command(self) -> contextlib.AbstractContextManager[None]:
        """A command's transaction (``transaction.atomic``)."""
        return transaction.atomic()

    def insert(self, objs: Sequence[models.Model]) -> None:
        sql.insert(objs)

    def insert_rows(self, model: type[models.Model], rows: Sequence[Sequence[Any]]) -> None:
        sql.insert_rows(model, rows)

    def update_element_instances(self, rows: list[ElementInstance]) -> None:
        """Write changed element instances with one statement (executemany).

        Django's ``bulk_update`` builds a CASE expression per field, which costs more CPU than
        the database work for the one or two rows a command usually changes.
        """
        table = ElementInstance._meta.db_table
        adapt = connection.ops.adapt_datetimefield_value
        statement = (
            f"UPDATE {table} SET lifecycle = %s, state = %s, ended_at = %s, "  # noqa: S608
            'has_incident = %s, data = %s WHERE "key" = %s'
        )
        params = [
            (
                ei.lifecycle,
                ei.state,
                adapt(ei.ended_at),
                ei.has_incident,
                json.dumps(ei.data, separators=(",", ":")),
                ei.key,
            )
            for ei in rows
        ]
        with sql.cursor() as cursor:
            cursor.executemany(statement, params)

    def update_variables(self, rows: list[Variable]) -> None:
        Variable.objects.bulk_update(rows, ["value"])

    def save_instance_data(self, ei: ElementInstance) -> None:
        """Write one element instance's runtime state outside a run's flush."""
        sync_runtime(ei)
        ElementInstance.objects.filter(key=ei.key).update(data=ei.data)

    def close_waits(self, by_kind: dict[str, list[int]], now: dt.datetime) -> None:
        """Cancel the jobs, user tasks, subscriptions, timers and incidents of ended owners."""
        if by_kind.get("job"):
            Job.objects.filter(
                element_instance_key__in=by_kind["job"],
                state__in=[Job.ACTIVATABLE, Job.ACTIVATED, Job.FAILED],
            ).update(state=Job.CANCELED, ended_at=now)
        if by_kind.get("task"):
            UserTask.objects.filter(
                element_instance_key__in=by_kind["task"], state=UserTask.CREATED
            ).update(state=UserTask.CANCELED, completed_at=now)
        if by_kind.get("sub"):
            MessageSubscription.objects.filter(element_instance_key__in=by_kind["sub"]).delete()
        if by_kind.get("timer"):
            Timer.objects.filter(element_instance_key__in=by_kind["timer"]).delete()
        if by_kind.get("incident"):
            Incident.objects.filter(
                element_instance_key__in=by_kind["incident"], state=Incident.ACTIVE
            ).update(state=Incident.RESOLVED, resolved_at=now)

    def delete_subscription(self, key: int) -> None:
        MessageSubscription.objects.filter(key=key).delete()

    def delete_scope_waits(self, scope_key: int, element_ids: list[str]) -> None:
        """The timers and message subscriptions ``scope_key`` holds for ``element_ids``."""
        Timer.objects.filter(element_instance_key=scope_key, element_id__in=element_ids).delete()
        MessageSubscription.objects.filter(
            element_instance_key=scope_key, element_id__in=element_ids
        ).delete()

    # ------------------------------------------------------------------ instances
    def lock_root(self, key: int) -> ElementInstance | None:
        """The root element instance of process instance ``key``, locked (``FOR UPDATE``)."""
        return (
            ElementInstance.objects.select_for_update()
            .filter(key=key, element_type="PROCESS")
            .first()
        )

    def lock_and_load(self, key: int) -> tuple[ElementInstance | None, ActiveRows | None]:
        """Lock an instance's root (``lock_root``) and read its rows (``load_instance``)."""
        root = self.lock_root(key)
        return (root, self.load_instance(root.key)) if root is not None else (None, None)

    def try_lock_root(self, key: int, *, wait: bool) -> ElementInstance | None:
        """The root of ``key``; without ``wait`` ``None`` when another transaction holds it.

        Without row locks (SQLite: the writer holds the whole database) it is a plain read.
        """
        return ElementInstance.objects.filter(key=key, element_type="PROCESS").first()

    def load_instance(self, root_key: int) -> ActiveRows:
        """An instance's active element instances besides the root; variables on first use."""
        active = ElementInstance.objects.filter(
            process_instance_key=root_key, state=ElementInstance.ACTIVE
        ).exclude(key=root_key)
        return list(active), None

    def load_variables(self, root_key: int) -> list[Variable]:
        return list(Variable.objects.filter(process_instance_key=root_key))

    def started_by_message_key(self, process_id: str, tenant_id: str, correlation_key: str) -> bool:
        """Whether an active instance of ``process_id`` was started by a message with that key."""
        return ElementInstance.objects.filter(
            element_type="PROCESS",
            state=ElementInstance.ACTIVE,
            element_id=process_id,
            tenant_id=tenant_id,
            data__message_start_key=correlation_key,
        ).exists()

    def root(self, key: int) -> ElementInstance | None:
        """An element instance read without a lock (a parent looked at from its child)."""
        return ElementInstance.objects.filter(key=key).first()

    def children_to_resume(self, keys: list[int] | None, limit: int) -> list[tuple[int, int]]:
        """(child root key, parent key) of children with a parent continuation recorded."""
        query = ElementInstance.objects.filter(element_type="PROCESS", data__has_key="to_parent")
        if keys is not None:
            query = query.filter(key__in=keys)
        rows = query.values_list("key", "parent_process_instance_key")[:limit]
        return [(key, parent) for key, parent in rows if parent is not None]

    def lock_child_to_resume(self, key: int) -> ElementInstance | None:
        return (
            ElementInstance.objects.select_for_update()
            .filter(key=key, data__has_key="to_parent")
            .first()
        )

    def save_instance_data_row(self, ei: ElementInstance) -> None:
        """Write the runtime state of an instance read with the ORM (its row is locked)."""
        sync_runtime(ei)
        ei.save(update_fields=["data"])

    # ------------------------------------------------------------------ definitions
    def latest_definition_key(self, tenant_id: str, process_id: str) -> int | None:
        return (
            ProcessDefinition.objects.filter(tenant_id=tenant_id, bpmn_process_id=process_id)
            .order_by("-version")
            .values_list("key", flat=True)
            .first()
        )

    def called_definition(
        self,
        tenant_id: str,
        process_id: str,
        *,
        deployment_key: int | None = None,
        version_tag: str | None = None,
    ) -> ProcessDefinition | None:
        """The latest definition of ``process_id`` (in a deployment, or with a version tag)."""
        query = ProcessDefinition.objects.filter(tenant_id=tenant_id, bpmn_process_id=process_id)
        if deployment_key is not None:
            query = query.filter(deployment_key=deployment_key)
        if version_tag is not None:
            query = query.filter(version_tag=version_tag)
        return query.order_by("-version").first()

    # ------------------------------------------------------------------ start events
    def retire_start_events(self, definition: ProcessDefinition) -> None:
        """Older versions' timer and message start events stop listening."""
        older = ProcessDefinition.objects.filter(
            tenant_id=definition.tenant_id, bpmn_process_id=definition.bpmn_process_id
        ).exclude(key=definition.key)
        Timer.objects.filter(process_instance_key__isnull=True, definition__in=older).delete()
        MessageStartSubscription.objects.filter(definition__in=older).delete()

    def add(self, obj: models.Model) -> None:
        """Insert one row now (as ``Model.objects.create``)."""
        obj.save(force_insert=True)

    def advance_timer(self, timer: Timer, again: tuple[dt.datetime, int | None] | None) -> None:
        """A fired timer: deleted, or due again at ``again`` (due date, repetitions left)."""
        if again is None:
            timer.delete()
        else:
            timer.due_at, timer.repetitions = again
            timer.save(update_fields=["due_at", "repetitions"])

    def message_start_subscriptions(
        self, *, tenant_id: str, name: str | None = None, process_id: str | None = None
    ) -> list[MessageStartSubscription]:
        query = MessageStartSubscription.objects.filter(definition__tenant_id=tenant_id)
        if name is not None:
            query = query.filter(message_name=name)
        if process_id is not None:
            query = query.filter(bpmn_process_id=process_id)
        return list(query.select_related("definition").order_by("id"))

    def is_correlated(self, message_key: int, process_id: str) -> bool:
        """Whether the message went to ``process_id`` already (once per process id)."""
        return MessageCorrelation.objects.filter(
            message_key=message_key, bpmn_process_id=process_id
        ).exists()

    def messages_blocked_by_key(
        self, sub: MessageStartSubscription, tenant_id: str, now: dt.datetime
    ) -> list[Message]:
        """Unexpired messages with a correlation key not yet used by the process, oldest first."""
        used = MessageCorrelation.objects.filter(bpmn_process_id=sub.bpmn_process_id).values(
            "message_key"
        )
        candidates = (
            Message.objects.filter(name=sub.message_name, tenant_id=tenant_id, expires_at__gt=now)
            .exclude(correlation_key="")
            .exclude(key__in=used)
            .order_by("key")
        )
        return list(candidates)

    # ------------------------------------------------------------------ jobs
    def lock_and_complete_job(
        self, job_key: int, now: dt.datetime
    ) -> tuple[ElementInstance | None, CompletedJob | None, ActiveRows | None]:
        """Lock the job's process instance, then mark the job completed if it still may be.

        Returns the locked root (or ``None``), the job's (element instance key, element id,
        type) (or ``None`` when it is gone or not completable), and the instance's rows when
        they were read with the lock (else ``None``: the run reads them). Under the instance
        lock only activation (which keeps the job completable) can change the job's row, so a
        conditional update replaces a row lock plus a save.
        """
        job = Job.objects.filter(key=job_key).only("process_instance_key").first()
        if job is None:
            return None, None, None
        root = self.lock_root(job.process_instance_key)
        if root is None:
            raise Rejection(
                "NOT_FOUND",
                "COMPLETE",
                f"Expected to complete process instance with key '{job.process_instance_key}', "
                "but no such process instance was found",
            )
        if not Job.objects.filter(key=job_key, state__in=[Job.ACTIVATABLE, Job.ACTIVATED]).update(
            state=Job.COMPLETED, ended_at=now
        ):
            return root, None, None
        job = Job.objects.only("element_instance_key", "element_id", "type").get(key=job_key)
        return root, (job.element_instance_key, job.element_id, job.type), None

    # Whether job activation skips rows other transactions have locked (needs row locks).
    skip_locked_jobs = False

    def activate_jobs(
        self,
        types: list[str],
        *,
        worker: str,
        timeout_ms: int,
        max_jobs: int,
        fetch_variables: list[str] | None,
        now: dt.datetime,
        job_key: int | None = None,
        tenant_ids: list[str] | None = None,
    ) -> list[tuple[Job, dict[str, Any]]]:
        """Mark up to ``max_jobs`` activatable jobs as activated; each with its variables."""
        with transaction.atomic():
            query = Job.objects.filter(type__in=types).filter(
                Q(state=Job.ACTIVATABLE, activatable_at__lte=now)
                | Q(state=Job.ACTIVATED, deadline__lt=now)
            )
            if tenant_ids:
                query = query.filter(tenant_id__in=tenant_ids)
            if job_key is not None:
                query = query.filter(key=job_key)
            query = query.order_by("key")
            if self.skip_locked_jobs:
                query = query.select_for_update(skip_locked=True)
            jobs = list(query[:max_jobs])
            if not jobs:
                return []
            deadline = now + dt.timedelta(milliseconds=timeout_ms)
            records = []
            for job in jobs:
                if job.state == Job.ACTIVATED:
                    records.append(job_record(job, "TIMED_OUT", now))
                job.state, job.deadline, job.worker = Job.ACTIVATED, deadline, worker[:255]
            Job.objects.bulk_update(jobs, ["state", "deadline", "worker"])
            if records:
                Record.objects.bulk_create(records)
            scopes = self.visible_variables(jobs, fetch_variables)
            return [(job, scopes.get(job.key, {})) for job in jobs]

    def variables_and_scopes(
        self, instance_keys: list[int], names: list[str] | None
    ) -> tuple[dict[int, int | None], dict[int, dict[str, Any]]]:
        """For the instances: each active element instance's scope, and variables by scope."""
        parents = dict(
            ElementInstance.objects.filter(
                process_instance_key__in=instance_keys, state=ElementInstance.ACTIVE
            ).values_list("key", "scope_key")
        )
        stored = Variable.objects.filter(process_instance_key__in=instance_keys)
        if names:
            stored = stored.filter(name__in=names)
        by_scope: dict[int, dict[str, Any]] = defaultdict(dict)
        for scope_key, name, value in stored.values_list("scope_key", "name", "value"):
            by_scope[scope_key][name] = value
        return parents, by_scope

    def visible_variables(
        self, jobs: list[Job], names: list[str] | None
    ) -> dict[int, dict[str, Any]]:
        """Variables visible from each job's element instance, read in two queries."""
        instance_keys = list({job.process_instance_key for job in jobs})
        parents, by_scope = self.variables_and_scopes(instance_keys, names)
        return visible_from(jobs, parents, by_scope)

    # ------------------------------------------------------------------ messages
    def subscriptions_for(self, message: Message) -> tuple[list[MessageSubscription], bool]:
        """Open subscriptions matching ``message`` (by key), and whether a message start event
        might listen to its name (``True`` when not asked: the start events look again)."""
        subs = list(
            MessageSubscription.objects.filter(
                message_name=message.name,
                correlation_key=message.correlation_key,
                tenant_id=message.tenant_id,
            ).order_by("key")
        )
        return subs, True

    # Publication and subscription race: a message published while another command opens a
    # matching subscription is seen by neither transaction when both run at once (each reads
    # before the other commits). Where the database serialises writing transactions (SQLite)
    # that cannot happen; elsewhere the portable store looks again after each side commits.
    def serializes_correlation(self) -> bool:
        """Whether a publication needs no second look after it commits."""
        return sql.vendor() == "sqlite"

    def unserialized(self, subs: list[MessageSubscription]) -> list[MessageSubscription]:
        """The subscriptions opened by this command that need a second look after it commits."""
        return [] if self.serializes_correlation() else list(subs)

    def wait_for_publications(self, sub: MessageSubscription) -> None:
        """Before a second look: wait for publications of ``sub``'s message in flight."""

    def has_subscription_for(self, message: Message) -> bool:
        return MessageSubscription.objects.filter(
            message_name=message.name,
            correlation_key=message.correlation_key,
            tenant_id=message.tenant_id,
        ).exists()

    def oldest_buffered(
        self, sub: MessageSubscription, now: dt.datetime, taken: Iterable[int]
    ) -> Message | None:
        """The oldest unexpired message for ``sub`` not yet correlated to its process id."""
        used = MessageCorrelation.objects.filter(
            bpmn_process_id=sub.bpmn_process_id, message_key=OuterRef("key")
        )
        return (
            Message.objects.filter(
                name=sub.message_name,
                correlation_key=sub.correlation_key,
                expires_at__gt=now,
                tenant_id=sub.tenant_id,
            )
            .exclude(Exists(used))
            .exclude(key__in=list(taken))
            .order_by("key")
            .first()
        )


def visible_from(
    jobs: list[Job], parents: dict[int, int | None], by_scope: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """Each job's visible variables: its element instance's scope chain, inner scopes last."""
    result = {}
    for job in jobs:
        chain = []
        key: int | None = job.element_instance_key
        while key is not None:
            chain.append(key)
            key = parents.get(key)
        visible: dict[str, Any] = {}
        for scope_key in reversed(chain):
            visible.update(by_scope.get(scope_key, {}))
        result[job.key] = visible
    return result


def job_record(job: Job, intent: str, now: dt.datetime) -> Record:
    return Record(
        process_instance_key=job.process_instance_key,
        value_type="JOB",
        intent=intent,
        key=job.key,
        element_id=job.element_id,
        detail={"type": job.type},
        at=now,
    )
