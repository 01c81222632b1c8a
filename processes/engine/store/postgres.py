"""The PostgreSQL store: the engine's fast path.

Statements are built once per model (``processes.engine.sql``), several go to the server in one
round trip (psycopg's pipeline), inserts and row updates of a command travel as JSON documents
and become one statement, and locks skip rows other transactions hold where waiting is wrong.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection, transaction

from processes.engine import sql
from processes.models import (
    ElementInstance,
    Job,
    Message,
    MessageCorrelation,
    MessageStartSubscription,
    MessageSubscription,
    ProcessDefinition,
    Record,
    Variable,
)

from .portable import ActiveRows, CompletedJob, Store, job_record


def active_rows(key_sql: str, params: Sequence[Any]) -> list[tuple[type, str, Sequence[Any]]]:
    """``select_many`` queries for an instance's active element instances (besides the root)
    and its variables; ``key_sql`` gives the process instance key over ``params`` (``"%s"``, or
    a sub-select such as the key of a job's instance)."""
    return [
        (
            ElementInstance,
            f'"process_instance_key" = {key_sql} AND "state" = \'ACTIVE\' '
            "AND \"element_type\" <> 'PROCESS'",
            list(params),
        ),
        (Variable, f'"process_instance_key" = {key_sql}', list(params)),
    ]


class PostgresStore(Store):
    name = "postgresql"
    skip_locked_jobs = True

    # ------------------------------------------------------------------ writes of a command
    @contextlib.contextmanager
    def writes(self) -> Iterator[None]:
        """The writes inside are answered once and become one statement (``sql.combined``)."""
        with sql.batch(), sql.combined():
            yield

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        with sql.batch():
            yield

    def update_element_instances(self, rows: list[ElementInstance]) -> None:
        """One statement, the rows as one JSON document (see ``sql.insert``)."""
        table = ElementInstance._meta.db_table
        document = [
            {
                "key": ei.key,
                "lifecycle": ei.lifecycle,
                "state": ei.state,
                "ended_at": sql.iso(ei.ended_at),
                "has_incident": ei.has_incident,
                "data": ei.data,
            }
            for ei in rows
        ]
        sql.write_json(
            f'UPDATE {table} AS ei SET "lifecycle" = r."lifecycle", "state" = r."state", '  # noqa: S608
            '"ended_at" = r."ended_at", "has_incident" = r."has_incident", "data" = r."data" '
            'FROM jsonb_to_recordset(%s::jsonb) AS r("key" bigint, "lifecycle" text, '
            '"state" text, "ended_at" timestamptz, "has_incident" boolean, "data" jsonb) '
            'WHERE ei."key" = r."key"',
            document,
        )

    # ------------------------------------------------------------------ instances
    def lock_root(self, key: int) -> ElementInstance | None:
        rows = sql.select(
            ElementInstance, '"key" = %s AND "element_type" = \'PROCESS\' FOR UPDATE', [key]
        )
        return rows[0] if rows else None

    def try_lock_root(self, key: int, *, wait: bool) -> ElementInstance | None:
        query = ElementInstance.objects.filter(key=key, element_type="PROCESS")
        return query.select_for_update(skip_locked=not wait).first()

    def load_instance(self, root_key: int) -> ActiveRows:
        """One round trip: on this database a second statement costs more than the rows."""
        rows: list[list[Any]] = sql.select_many(active_rows("%s", [root_key]))
        return rows[0], rows[1]

    # ------------------------------------------------------------------ definitions
    def latest_definition_key(self, tenant_id: str, process_id: str) -> int | None:
        table = ProcessDefinition._meta.db_table
        rows = sql.fetch(
            f'SELECT "key" FROM {table} WHERE "tenant_id" = %s AND "bpmn_process_id" = %s '  # noqa: S608
            'ORDER BY "version" DESC LIMIT 1',
            [tenant_id, process_id],
        )
        return rows[0][0] if rows else None

    # ------------------------------------------------------------------ jobs
    def lock_and_complete_job(
        self, job_key: int, now: dt.datetime
    ) -> tuple[ElementInstance | None, CompletedJob | None, ActiveRows | None]:
        """All in one round trip: the statements run in order, so the update and the reads
        follow the lock."""
        completable = [Job.ACTIVATABLE, Job.ACTIVATED]
        table = Job._meta.db_table
        of_job = f'(SELECT "process_instance_key" FROM {table} WHERE "key" = %s)'  # noqa: S608
        lock = sql.select_sql(ElementInstance)
        reads = active_rows(of_job, [job_key])
        results = sql.fetch_many(
            [
                (lock + f'"key" = {of_job} AND "element_type" = \'PROCESS\' FOR UPDATE', [job_key]),
                (
                    f'UPDATE {table} SET "state" = %s, "ended_at" = %s '  # noqa: S608
                    'WHERE "key" = %s AND "state" = ANY(%s) '
                    'RETURNING "element_instance_key", "element_id", "type"',
                    [Job.COMPLETED, now, job_key, completable],
                ),
                *[(sql.select_sql(model) + where, params) for model, where, params in reads],
            ]
        )
        roots = sql.from_rows(ElementInstance, sql.fields_of(ElementInstance), results[0])
        if not roots:
            return None, None, None
        active = sql.from_rows(ElementInstance, sql.fields_of(ElementInstance), results[2])
        stored = sql.from_rows(Variable, sql.fields_of(Variable), results[3])
        completed = results[1][0] if results[1] else None
        return roots[0], completed, (active, stored)

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
        """One statement: pick, lock (skipping rows others hold) and mark jobs as activated."""
        if tenant_ids:
            return super().activate_jobs(
                types,
                worker=worker,
                timeout_ms=timeout_ms,
                max_jobs=max_jobs,
                fetch_variables=fetch_variables,
                now=now,
                job_key=job_key,
                tenant_ids=tenant_ids,
            )
        table = Job._meta.db_table
        columns = ", ".join(f'"{f.column}"' for f in Job._meta.concrete_fields)
        statement = f"""
            WITH picked AS (
                SELECT "key", "state" AS previous_state FROM {table}
                WHERE "type" = ANY(%s) {'AND "key" = %s' if job_key is not None else ""} AND (
                    ("state" = 'ACTIVATABLE' AND "activatable_at" <= %s)
                    OR ("state" = 'ACTIVATED' AND "deadline" < %s))
                ORDER BY "key" LIMIT %s FOR UPDATE SKIP LOCKED
            )
            UPDATE {table} AS job SET "state" = 'ACTIVATED', "deadline" = %s, "worker" = %s
            FROM picked WHERE job."key" = picked."key"
            RETURNING {", ".join("job." + c for c in columns.split(", "))}, picked.previous_state
        """  # noqa: S608
        deadline = now + dt.timedelta(milliseconds=timeout_ms)
        with transaction.atomic(), sql.batch():  # the transaction's start goes with the statement
            params = [types, *([job_key] if job_key is not None else []), now, now]
            rows = sql.fetch(statement, [*params, max_jobs, deadline, worker[:255]])
            if not rows:
                return []
            fields = Job._meta.concrete_fields
            jobs, records = [], []
            for row in sorted(rows, key=lambda r: r[0]):
                values = {
                    f.attname: f.from_db_value(v, None, connection)
                    if hasattr(f, "from_db_value")
                    else v
                    for f, v in zip(fields, row[:-1], strict=True)
                }
                job = Job(**values)
                jobs.append(job)
                if row[-1] == Job.ACTIVATED:
                    records.append(job_record(job, "TIMED_OUT", now))
            if records:
                Record.objects.bulk_create(records)
            scopes = self.visible_variables(jobs, fetch_variables)
        return [(job, scopes.get(job.key, {})) for job in jobs]

    def variables_and_scopes(
        self, instance_keys: list[int], names: list[str] | None
    ) -> tuple[dict[int, int | None], dict[int, dict[str, Any]]]:
        instances, variables = ElementInstance._meta.db_table, Variable._meta.db_table
        where = '"process_instance_key" = ANY(%s)' + (' AND "name" = ANY(%s)' if names else "")
        scope_rows, variable_rows = sql.fetch_many(  # one round trip
            [
                (
                    f'SELECT "key", "scope_key" FROM {instances} '  # noqa: S608
                    'WHERE "process_instance_key" = ANY(%s) AND "state" = \'ACTIVE\'',
                    [instance_keys],
                ),
                (
                    f'SELECT "scope_key", "name", "value" FROM {variables} WHERE {where}',  # noqa: S608
                    [instance_keys, *([list(names)] if names else [])],
                ),
            ]
        )
        parents = dict(scope_rows)
        by_scope: dict[int, dict[str, Any]] = defaultdict(dict)
        value_field = Variable._meta.get_field("value")
        for scope_key, name, value in variable_rows:
            # The stubs want an expression; Django itself passes none for a plain column.
            by_scope[scope_key][name] = value_field.from_db_value(value, None, connection)  # type: ignore[arg-type]
        return parents, by_scope

    # ------------------------------------------------------------------ messages
    def subscriptions_for(self, message: Message) -> tuple[list[MessageSubscription], bool]:
        """One round trip for both questions."""
        starts = MessageStartSubscription._meta.db_table
        rows, start_rows = sql.fetch_many(
            [
                (
                    sql.select_sql(MessageSubscription) + '"message_name" = %s AND '
                    '"correlation_key" = %s AND "tenant_id" = %s ORDER BY "key"',
                    [message.name, message.correlation_key, message.tenant_id],
                ),
                (
                    f'SELECT 1 FROM {starts} WHERE "message_name" = %s LIMIT 1',  # noqa: S608
                    [message.name],
                ),
            ]
        )
        subs = sql.from_rows(MessageSubscription, sql.fields_of(MessageSubscription), rows)
        return subs, bool(start_rows)

    def has_subscription_for(self, message: Message) -> bool:
        table = MessageSubscription._meta.db_table
        return bool(
            sql.fetch(
                f'SELECT 1 FROM {table} WHERE "message_name" = %s AND "correlation_key" = %s '  # noqa: S608
                'AND "tenant_id" = %s LIMIT 1',
                [message.name, message.correlation_key, message.tenant_id],
            )
        )

    def oldest_buffered(
        self, sub: MessageSubscription, now: dt.datetime, taken: Iterable[int]
    ) -> Message | None:
        correlations, messages = MessageCorrelation._meta.db_table, Message._meta.db_table
        rows = sql.select(  # table names from the models, values as parameters
            Message,
            '"name" = %s AND "correlation_key" = %s AND "expires_at" > %s AND "tenant_id" = %s '  # noqa: S608
            'AND NOT ("key" = ANY(%s)) AND NOT EXISTS (SELECT 1 FROM '
            f'{correlations} AS c WHERE c."message_key" = {messages}."key" '
            'AND c."bpmn_process_id" = %s) '
            'ORDER BY "key" LIMIT 1',
            [sub.message_name, sub.correlation_key, now, sub.tenant_id, list(taken),
             sub.bpmn_process_id],
        )  # fmt: skip
        return rows[0] if rows else None
