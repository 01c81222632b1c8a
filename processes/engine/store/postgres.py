"""The PostgreSQL store: the engine's fast path.

Statements are built once per model (``processes.engine.sql``), several go to the server in one
round trip (psycopg's pipeline), inserts and row updates of a command travel as JSON documents
and become one statement, and locks skip rows other transactions hold where waiting is wrong.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, models

from processes.engine import sql
from processes.models import (
    ElementInstance,
    Job,
    Message,
    MessageCorrelation,
    MessageStartSubscription,
    MessageSubscription,
    ProcessDefinition,
    Variable,
)

from .portable import ActiveRows, CompletedJob, Store, job_record, visible_from

# A transaction-level advisory lock per (tenant, message name, correlation key): a publication
# takes it (waiting) before it looks for subscriptions, a command opening a subscription tries to
# take it before it looks for buffered messages. Whichever of two racing transactions gets it
# second reads after the first has committed, so it sees the other's row, in the same
# transaction. https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
CORRELATION_LOCK = "pg_advisory_xact_lock(hashtextextended(%s, 0))"
TRY_CORRELATION_LOCK = "pg_try_advisory_xact_lock(hashtextextended(%s, 0))"


def correlation_lock_key(tenant_id: str, name: str, correlation_key: str) -> str:
    return "\x1f".join((tenant_id, name, correlation_key))


JOB_COLUMNS = ("element_instance_key", "element_id", "type")  # a completion's ``CompletedJob``


def _nulls(model: type[models.Model], columns: Iterable[str]) -> str:
    """Typed ``NULL``s of ``model``'s columns (a part of a ``UNION`` fills others' positions)."""
    table = model._meta.db_table
    return ", ".join(f'(NULL::{table})."{c}"' for c in columns)


def _values(alias: str, columns: Iterable[str]) -> str:
    return ", ".join(f'{alias}."{c}"' for c in columns)


def _columns(model: type[models.Model]) -> list[str]:
    return [sql.column_of(f) for f in sql.fields_of(model)]


def _instance_reads(key_sql: str, *, after_job: bool) -> str:
    """An instance's active element instances (besides the root) and its variables as one
    statement: rows of one shape tagged 1 (an element instance) and 2 (a variable), each
    model's columns in their own positions, typed ``NULL`` in the other's (and in a completed
    job's, ``after_job``). ``key_sql`` gives the process instance key (twice)."""
    instances, variables = ElementInstance._meta.db_table, Variable._meta.db_table
    ei_columns, var_columns = _columns(ElementInstance), _columns(Variable)
    lead = f"{_nulls(Job, JOB_COLUMNS)}, " if after_job else ""
    return (
        f"SELECT 1, {lead}{_values('ei', ei_columns)}, {_nulls(Variable, var_columns)} "  # noqa: S608
        f'FROM {instances} AS ei WHERE ei."process_instance_key" = {key_sql} '
        "AND ei.\"state\" = 'ACTIVE' AND ei.\"element_type\" <> 'PROCESS' "
        f"UNION ALL SELECT 2, {lead}{_nulls(ElementInstance, ei_columns)}, "
        f"{_values('v', var_columns)} FROM {variables} AS v "
        f'WHERE v."process_instance_key" = {key_sql}'
    )


def _split_reads(rows: Iterable[tuple], start: int) -> ActiveRows:
    """Element instances and variables from ``_instance_reads`` rows (columns from ``start``)."""
    ei_fields = sql.fields_of(ElementInstance)
    ei_end = start + len(ei_fields)
    ei_rows, var_rows = [], []
    for row in rows:
        kind = row[0]
        if kind == 1:
            ei_rows.append(row[start:ei_end])
        elif kind == 2:
            var_rows.append(row[ei_end:])
    active = sql.from_rows(ElementInstance, ei_fields, ei_rows)
    return active, sql.from_rows(Variable, sql.fields_of(Variable), var_rows)


@functools.cache
def _load_instance() -> str:
    """``_instance_reads`` of one instance; parameters: its key, twice."""
    return _instance_reads("%s", after_job=False)


@functools.cache
def _complete_and_read() -> str:
    """A job's completion and its instance's reads as one statement: the update (a
    data-modifying ``WITH``) and ``_instance_reads``, plus a row tagged 0 with the completed
    job's element instance key, element id and type (none when it was not completable).

    Parameters: the completed state, the end time, the job key, the completable states, the
    job key twice more (for the reads' instance key)."""
    jobs = Job._meta.db_table
    of_job = f'(SELECT "process_instance_key" FROM {jobs} WHERE "key" = %s)'  # noqa: S608
    return (
        f'WITH done AS (UPDATE {jobs} SET "state" = %s, "ended_at" = %s '  # noqa: S608
        'WHERE "key" = %s AND "state" = ANY(%s) '
        'RETURNING "element_instance_key", "element_id", "type") '
        f"SELECT 0, {_values('done', JOB_COLUMNS)}, "
        f"{_nulls(ElementInstance, _columns(ElementInstance))}, "
        f"{_nulls(Variable, _columns(Variable))} FROM done "
        f"UNION ALL {_instance_reads(of_job, after_job=True)}"
    )


class PostgresStore(Store):
    name = "postgresql"
    skip_locked_jobs = True

    def __init__(self) -> None:
        # Keys of subscriptions whose lock another transaction (a publication) held: their
        # command looks again after it commits. Per thread: one command at a time on each.
        self._contended = threading.local()

    # ------------------------------------------------------------------ writes of a command
    def writes(self) -> contextlib.AbstractContextManager[None]:
        """The writes inside are answered once and become one statement (``sql.combined``)."""
        return sql.combined_batch()

    def batch(self) -> contextlib.AbstractContextManager[None]:
        return sql.batch()

    def command(self) -> contextlib.AbstractContextManager[None]:
        """Two round trips: ``BEGIN`` with the first reads, ``COMMIT`` with the writes."""
        return sql.command()

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

    def lock_and_load(self, key: int) -> tuple[ElementInstance | None, ActiveRows | None]:
        """One round trip: the reads (one statement) run after the lock, so they see the rows
        the last holder of the lock committed."""
        lock = (
            sql.select_sql(ElementInstance)
            + '"key" = %s AND "element_type" = \'PROCESS\' FOR UPDATE'
        )
        locked, rows = sql.fetch_many([(lock, [key]), (_load_instance(), [key, key])])
        roots = sql.from_rows(ElementInstance, sql.fields_of(ElementInstance), locked)
        if not roots:
            return None, None
        return roots[0], _split_reads(rows, 1)

    def try_lock_root(self, key: int, *, wait: bool) -> ElementInstance | None:
        query = ElementInstance.objects.filter(key=key, element_type="PROCESS")
        return query.select_for_update(skip_locked=not wait).first()

    def load_instance(self, root_key: int) -> ActiveRows:
        """One statement: on this database a second statement costs more than the rows."""
        return _split_reads(sql.fetch(_load_instance(), [root_key, root_key]), 1)

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
        """One round trip, two statements: the lock, then the job's update and the reads as
        one statement (``_complete_and_read``). It runs after the lock, so its snapshot holds
        what the last holder of the lock committed."""
        completable = [Job.ACTIVATABLE, Job.ACTIVATED]
        table = Job._meta.db_table
        of_job = f'(SELECT "process_instance_key" FROM {table} WHERE "key" = %s)'  # noqa: S608
        lock = sql.select_sql(ElementInstance)
        locked, rows = sql.fetch_many(
            [
                (lock + f'"key" = {of_job} AND "element_type" = \'PROCESS\' FOR UPDATE', [job_key]),
                (
                    _complete_and_read(),
                    [Job.COMPLETED, now, job_key, completable, job_key, job_key],
                ),
            ]
        )
        roots = sql.from_rows(ElementInstance, sql.fields_of(ElementInstance), locked)
        if not roots:
            return None, None, None
        done = [row[1:4] for row in rows if row[0] == 0]
        completed: CompletedJob | None = done[0] if done else None
        return roots[0], completed, _split_reads(rows, 4)

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
        instances, variables = ElementInstance._meta.db_table, Variable._meta.db_table
        columns = ", ".join(f'job."{f.column}"' for f in Job._meta.concrete_fields)
        by_key = 'AND "key" = %s' if job_key is not None else ""
        by_name = 'AND v."name" = ANY(%s)' if fetch_variables else ""
        # The activated rows come back with what their variables need: each instance's active
        # element instances (the scope chains) and its variables, as JSON text. The reads see
        # the statement's snapshot, which the update does not change.
        statement = f"""
            WITH picked AS (
                SELECT "key", "state" AS previous_state FROM {table}
                WHERE "type" = ANY(%s) {by_key} AND (
                    ("state" = 'ACTIVATABLE' AND "activatable_at" <= %s)
                    OR ("state" = 'ACTIVATED' AND "deadline" < %s))
                ORDER BY "key" LIMIT %s FOR UPDATE SKIP LOCKED
            ), activated AS (
                UPDATE {table} AS job SET "state" = 'ACTIVATED', "deadline" = %s, "worker" = %s
                FROM picked WHERE job."key" = picked."key"
                RETURNING {columns}, picked.previous_state
            )
            SELECT activated.*,
                (SELECT json_agg(json_build_array(ei."key", ei."scope_key"))::text
                 FROM {instances} AS ei WHERE ei."process_instance_key"
                 = activated."process_instance_key" AND ei."state" = 'ACTIVE'),
                (SELECT json_agg(json_build_array(v."scope_key", v."name", v."value"))::text
                 FROM {variables} AS v WHERE v."process_instance_key"
                 = activated."process_instance_key" {by_name})
            FROM activated
        """  # noqa: S608
        deadline = now + dt.timedelta(milliseconds=timeout_ms)
        params = [types, *([job_key] if job_key is not None else []), now, now, max_jobs]
        params += [deadline, worker[:255], *([list(fetch_variables)] if fetch_variables else [])]
        # Two round trips: begin and the statement; then the commit (with any timed-out
        # records).
        with sql.command():
            rows = sql.fetch(statement, params)
            if not rows:
                return []
            fields = Job._meta.concrete_fields
            count = len(fields)
            jobs, records = [], []
            parents: dict[int, int | None] = {}
            by_scope: dict[int, dict[str, Any]] = defaultdict(dict)
            for row in sorted(rows, key=lambda r: r[0]):
                values = {
                    f.attname: f.from_db_value(v, None, connection)
                    if hasattr(f, "from_db_value")
                    else v
                    for f, v in zip(fields, row[:count], strict=True)
                }
                job = sql.build(Job, **values)
                job._state.adding, job._state.db = False, connection.alias
                jobs.append(job)
                if row[count] == Job.ACTIVATED:
                    records.append(job_record(job, "TIMED_OUT", now))
                parents.update(json.loads(row[count + 1] or "[]"))
                for scope_key, name, value in json.loads(row[count + 2] or "[]"):
                    by_scope[scope_key][name] = value
            if records:
                sql.insert(records)
        scopes = visible_from(jobs, parents, by_scope)
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
        """One round trip: the correlation lock (waiting for a command opening a matching
        subscription to commit), the subscriptions, and whether a start event may listen."""
        starts = MessageStartSubscription._meta.db_table
        _locked, rows, start_rows = sql.fetch_many(
            [
                (
                    f"SELECT {CORRELATION_LOCK}",
                    [
                        correlation_lock_key(
                            message.tenant_id, message.name, message.correlation_key
                        )
                    ],
                ),
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
        """One round trip: try the correlation lock (never waiting: this command holds an
        instance lock a publication may be waiting for), then the message."""
        correlations, messages = MessageCorrelation._meta.db_table, Message._meta.db_table
        lock_key = correlation_lock_key(sub.tenant_id, sub.message_name, sub.correlation_key)
        where = (
            '"name" = %s AND "correlation_key" = %s AND "expires_at" > %s AND "tenant_id" = %s '  # noqa: S608
            'AND NOT ("key" = ANY(%s)) AND NOT EXISTS (SELECT 1 FROM '
            f'{correlations} AS c WHERE c."message_key" = {messages}."key" '
            'AND c."bpmn_process_id" = %s) ORDER BY "key" LIMIT 1'
        )
        params = [sub.message_name, sub.correlation_key, now, sub.tenant_id, list(taken),
                  sub.bpmn_process_id]  # fmt: skip
        locked, rows = sql.fetch_many(  # table names from the models, values as parameters
            [
                (f"SELECT {TRY_CORRELATION_LOCK}", [lock_key]),
                (sql.select_sql(Message) + where, params),
            ]
        )
        if not locked[0][0]:
            self._contended_keys().add(sub.key)
        messages_found = sql.from_rows(Message, sql.fields_of(Message), rows)
        return messages_found[0] if messages_found else None

    def serializes_correlation(self) -> bool:
        return True

    def _contended_keys(self) -> set[int]:
        keys = getattr(self._contended, "keys", None)
        if keys is None:
            keys = self._contended.keys = set()
        return keys

    def unserialized(self, subs: list[MessageSubscription]) -> list[MessageSubscription]:
        """Subscriptions whose lock a publication held when they looked for messages: that
        publication may commit a message they did not see."""
        contended = self._contended_keys()
        result = [sub for sub in subs if sub.key in contended]
        contended.clear()
        return result

    def wait_for_publications(self, sub: MessageSubscription) -> None:
        key = correlation_lock_key(sub.tenant_id, sub.message_name, sub.correlation_key)
        sql.fetch(f"SELECT {CORRELATION_LOCK}", [key])
