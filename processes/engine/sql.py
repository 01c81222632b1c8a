"""Prepared-shape SQL for the engine's hot path.

Every command reads an instance's active element instances and writes a handful of rows. The ORM
compiles a new SQL string for each of those statements, which costs more CPU than the database
needs to run them. These helpers build each statement's text once per model and connection
vendor and convert values with the fields' own ``get_db_prep_save`` / ``from_db_value``, so what
is stored is exactly what the ORM would store.

On PostgreSQL the statements go through a server-binding cursor on Django's connection (same
transaction): parameters travel apart from the text, and each statement text is prepared on the
server the second time the connection runs it (``PREPARE_THRESHOLD``; Django leaves psycopg's
preparation off, and its own client-binding cursors never prepare). ``batch()`` sends a run of
writes in one round trip and ``fetch_many()`` several reads (psycopg's pipeline mode); inserts
send all their rows as one JSON document (``jsonb_populate_recordset``), so their text is the
same whatever the row count. ``command()`` holds a command's transaction in two round trips: the
``BEGIN`` travels with the first reads, the ``COMMIT`` with the writes.
"""

from __future__ import annotations

import contextlib
import json
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache, lru_cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models.base import ModelState
from django.db.models.fields import AutoFieldMixin
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=models.Model)


_vendor: str | None = None


def vendor() -> str:
    """The database vendor (constant for the process; asked on every statement, and Django's
    connection proxy costs a thread-local lookup each time)."""
    global _vendor
    if _vendor is None:
        _vendor = connection.vendor
    return _vendor


# psycopg prepares a statement text on the server once a connection has run it this many times
# before (the engine's texts never change, so nearly all of them are prepared after warm-up).
PREPARE_THRESHOLD = 1


# The raw connection of the command running on this thread (set by ``command()``), so that its
# statements skip Django's connection proxy (a thread-local lookup per attribute).
_current = threading.local()


def raw_connection() -> Any:
    """psycopg's connection under Django's, with the engine's statement preparation on."""
    raw = getattr(_current, "raw", None)
    if raw is not None:
        return raw
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Only server-binding cursors prepare: Django's own (client-binding) never do, so this
        # changes the engine's statements and nothing else on the connection.
        raw.prepare_threshold = PREPARE_THRESHOLD
    return raw


@contextlib.contextmanager
def cursor() -> Iterator[Any]:
    """A cursor for the engine's own statements (``%s`` placeholders on every database)."""
    if vendor() != "postgresql":
        with connection.cursor() as django_cursor:
            yield django_cursor
        return
    import psycopg

    raw = raw_connection()
    conn = getattr(_current, "conn", None)
    (connection if conn is None else conn).validate_no_broken_transaction()
    with psycopg.Cursor(raw) as pg_cursor:
        yield pg_cursor


# What Django's ``atomic_blocks`` holds while a command runs its own transaction (``command()``):
# an outermost, non-durable block, as ``transaction.atomic()`` would push.
_COMMAND_BLOCK = transaction.Atomic(None, savepoint=False, durable=False)


@contextlib.contextmanager
def command() -> Iterator[None]:
    """One engine command's transaction, in as few round trips as it allows.

    PostgreSQL, outside any transaction: the block runs in one pipeline that opens with a queued
    ``BEGIN`` and closes with a queued ``COMMIT``, so the begin travels with the command's first
    reads and the commit with its writes: two round trips for a lock-read-write command (psycopg
    would otherwise send each of ``BEGIN`` and ``COMMIT`` on its own). The command begins and
    ends the transaction itself, without Django's ``atomic`` (which switches the driver's
    autocommit off and on again around every command), but Django sees what an outermost
    ``atomic`` block would show: ``in_atomic_block``, autocommit off, so that nested ``atomic``
    blocks become savepoints and ``on_commit`` callbacks wait for the commit (and run after it,
    or are dropped with a rollback). An exception, or a nested block that left the transaction
    needing a rollback, rolls everything back. Inside a caller's transaction (or on other
    databases) it is a plain ``atomic`` block with ``batch()``.
    """
    if vendor() != "postgresql":
        with transaction.atomic():
            yield
        return
    conn = connections[DEFAULT_DB_ALIAS]
    raw = None
    if not conn.in_atomic_block and conn.get_autocommit():
        conn.ensure_connection()
        raw = raw_connection()
        from psycopg.pq import TransactionStatus

        if (
            raw._pipeline is not None
            or not raw.autocommit
            or raw.pgconn.transaction_status != TransactionStatus.IDLE
        ):
            raw = None
    if raw is None:
        with transaction.atomic(), batch():
            yield
        return
    # Django's view of an outermost atomic block (see ``Atomic.__enter__``); the driver stays in
    # autocommit, so psycopg sends no ``BEGIN`` of its own: the queued one opens the transaction.
    conn.commit_on_exit, conn.needs_rollback = True, False
    conn.autocommit, conn.in_atomic_block = False, True
    conn.atomic_blocks.append(_COMMAND_BLOCK)
    _current.raw, _current.conn = raw, conn
    committed = False
    try:
        with conn.wrap_database_errors:
            try:
                with raw.pipeline():
                    raw.wait(raw._exec_command(b"BEGIN"))
                    yield
                    if not conn.needs_rollback and not conn.closed_in_transaction:
                        # Sent with the writes when the pipeline ends.
                        raw.wait(raw._exec_command(b"COMMIT"))
                        committed = True
            except BaseException:
                committed = False
                raise
            finally:
                if not committed and not conn.closed_in_transaction:
                    _roll_back(conn, raw)
    finally:
        _current.raw = _current.conn = None
        conn.atomic_blocks.pop()
        conn.in_atomic_block, conn.autocommit, conn.needs_rollback = False, True, False
        if conn.closed_in_transaction:
            conn.connection = None
    if committed:
        conn.errors_occurred = False
        conn.run_and_clear_commit_hooks()
    else:
        conn.run_on_commit = []


def _roll_back(conn: Any, raw: Any) -> None:
    """Undo a command's transaction (what Django's ``atomic`` does on an exception)."""
    try:
        raw.rollback()
    except Exception:
        conn.close()


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Writes inside are sent together and answered once (PostgreSQL); elsewhere a no-op.

    Only for statements whose results are not read: errors surface when the block ends.
    """
    if vendor() != "postgresql":
        yield
        return
    raw = raw_connection()
    if raw._pipeline is not None:  # already batching: one sync at the end
        yield
        return
    with connection.wrap_database_errors, raw.pipeline():
        yield


def execute(statement: str, params: Sequence[Any]) -> int:
    """Run one statement; the number of rows it changed."""
    with cursor() as c:
        c.execute(statement, params)
        return c.rowcount


def fetch(statement: str, params: Sequence[Any]) -> list[tuple]:
    with cursor() as c:
        c.execute(statement, params)
        return c.fetchall()


def fetch_many(statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
    """Rows of each statement, in order. PostgreSQL: one round trip for all of them.

    The server runs them one after the other, so a later statement sees what an earlier one
    locked or changed. Any write queued before (``batch``) goes out with them.
    """
    if vendor() != "postgresql":
        return [fetch(statement, params) for statement, params in statements]
    import psycopg

    with batch():
        raw = raw_connection()
        cursors = []
        for statement, params in statements:
            c = psycopg.Cursor(raw)
            c.execute(statement, params)
            cursors.append(c)
        try:
            return [c.fetchall() for c in cursors]
        finally:
            for c in cursors:
                c.close()


def select_many(queries: Sequence[tuple[type[M], str, Sequence[Any]]]) -> list[list[M]]:
    """Several ``select``s in one round trip (PostgreSQL only)."""
    heads = [_select_sql(model, vendor()) for model, _where, _params in queries]
    results = fetch_many(
        [
            (head + where, params)
            for (head, _f), (_m, where, params) in zip(heads, queries, strict=True)
        ]
    )
    return [
        from_rows(model, fields, rows)
        for (model, _w, _p), (_h, fields), rows in zip(queries, heads, results, strict=True)
    ]


@cache
def _insert_sql(
    model: type[models.Model], vendor: str, rows: int
) -> tuple[str, tuple[models.Field, ...]]:
    """``INSERT … VALUES (…), (…)`` for ``rows`` rows: one statement, one round trip."""
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, AutoFieldMixin))
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column(f)) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(model._meta.db_table)  # names from the model, values always as parameters
    values = ", ".join([row] * rows)
    return f"INSERT INTO {table} ({columns}) VALUES {values}", fields  # noqa: S608


# Rows per statement: keeps statements (and their parameter counts) within every backend's limits.
CHUNK = 100


@cache
def _json_insert(model: type[models.Model]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """PostgreSQL: ``INSERT … SELECT … FROM jsonb_populate_recordset(NULL::<table>, %s)``.

    All rows travel as one JSON document (one parameter, whatever their number): the statement
    text never changes, so it stays parsed and prepared, and ``json.dumps`` (C) replaces the
    per-value adaptation. The table's own column types convert the values, as a VALUES list
    would. Returns the statement and (column, JSON conversion) per inserted field.
    """
    _sql, fields = _insert_sql(model, "postgresql", 1)
    quote = connection.ops.quote_name
    names = ", ".join(quote(_column(f)) for f in fields)
    table = quote(model._meta.db_table)
    statement = (
        f"INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608
        f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb)"
    )
    converters = tuple(
        (_column(f), iso if f.get_internal_type() == "DateTimeField" else None) for f in fields
    )
    return statement, converters


def iso(value: Any) -> Any:
    """A datetime (or None) as PostgreSQL reads it from JSON."""
    return value.isoformat() if value is not None else None


def _insert_json(model: type[models.Model], rows: Iterable[Sequence[Any]]) -> None:
    statement, columns, datetimes = _json_insert_shape(model)
    document = []
    for row in rows:
        if datetimes:
            values = list(row)
            for i in datetimes:
                value = values[i]
                if value is not None:
                    values[i] = value.isoformat()
            row = values
        document.append(dict(zip(columns, row, strict=True)))
    write_json(statement, document)


@cache
def _json_insert_shape(model: type[models.Model]) -> tuple[str, tuple[str, ...], tuple[int, ...]]:
    """``_json_insert``'s statement, its columns, and the positions of its datetime columns
    (the only values JSON needs converted: to ISO text)."""
    statement, converters = _json_insert(model)
    columns = tuple(column for column, _convert in converters)
    datetimes = tuple(i for i, (_c, convert) in enumerate(converters) if convert is not None)
    return statement, columns, datetimes


_combining = threading.local()


@contextlib.contextmanager
def combined() -> Iterator[None]:
    """PostgreSQL: the JSON-document writes inside (``write_json``: inserts, the engine's row
    updates) become one statement, each a data-modifying ``WITH`` part, sent when the block
    ends; elsewhere each runs at once. Only for writes to distinct rows that do not read each
    other's effects (every part sees the same snapshot); statements that are not JSON writes
    still run in place, before the combined one."""
    if vendor() != "postgresql" or getattr(_combining, "parts", None) is not None:
        yield
        return
    parts: list[tuple[str, str]] = []
    _combining.parts = parts
    try:
        yield
    finally:
        _combining.parts = None
    _send_combined(parts)


@contextlib.contextmanager
def combined_batch() -> Iterator[None]:
    """``batch()`` and ``combined()`` in one: the combined statement is queued in the batch."""
    if vendor() != "postgresql" or getattr(_combining, "parts", None) is not None:
        with batch():
            yield
        return
    raw = raw_connection()
    parts: list[tuple[str, str]] = []
    _combining.parts = parts
    if raw._pipeline is not None:  # already batching (a command): sent with what follows
        try:
            yield
        finally:
            _combining.parts = None
        _send_combined(parts)
        return
    with connection.wrap_database_errors, raw.pipeline():
        try:
            yield
        finally:
            _combining.parts = None
        _send_combined(parts)


def _send_combined(parts: list[tuple[str, str]]) -> None:
    if len(parts) == 1:
        execute(parts[0][0], [parts[0][1]])
    elif parts:
        execute(_with_parts(tuple(statement for statement, _doc in parts)), [d for _s, d in parts])


@lru_cache(maxsize=256)
def _with_parts(statements: tuple[str, ...]) -> str:
    ctes = ", ".join(f"w{i} AS ({statement})" for i, statement in enumerate(statements))
    return f"WITH {ctes} SELECT 1"


def write_json(statement: str, document: Any) -> None:
    """Run ``statement`` whose one parameter is ``document`` as JSON (or add it to the
    statement being ``combined``)."""
    param = json.dumps(document, separators=(",", ":"))
    parts = getattr(_combining, "parts", None)
    if parts is not None:
        parts.append((statement, param))
    else:
        execute(statement, [param])


def insert(objs: Sequence[models.Model]) -> None:
    """Insert model instances of one model (primary keys already set, or auto ids not needed)."""
    if not objs:
        return
    model = type(objs[0])
    if vendor() == "postgresql":
        values_of, defaults = _insert_values(model)
        rows = []
        for obj in objs:
            row = values_of(obj)
            for i in defaults:
                if row[i] is None:  # what ``_value`` does: the default, kept on the object
                    row = [_value(obj, f) for f in _insert_sql(model, "postgresql", 1)[1]]
                    break
            rows.append(row)
        _insert_json(model, rows)
        objs_saved(objs)
        return
    size = CHUNK
    with cursor() as c:
        for start in range(0, len(objs), size):
            chunk = objs[start : start + size]
            sql, fields = _insert_sql(model, vendor(), len(chunk))
            adapters = _adapters(model, vendor())
            params = [
                adapt(_value(obj, f))
                for obj in chunk
                for f, adapt in zip(fields, adapters, strict=True)
            ]
            c.execute(sql, params)
    objs_saved(objs)


@cache
def _insert_values(
    model: type[models.Model],
) -> tuple[Callable[[Any], Sequence[Any]], tuple[int, ...]]:
    """The inserted fields' attribute values of an instance, as one tuple (``attrgetter``), and
    the positions of the fields with a default that stands in for ``None`` (``_value``)."""
    _sql, fields = _insert_sql(model, "postgresql", 1)
    attnames = [f.attname for f in fields]
    getter = operator.attrgetter(*attnames)
    values_of = getter if len(attnames) > 1 else (lambda obj: (getter(obj),))
    return values_of, tuple(i for i, f in enumerate(fields) if f.has_default())


def objs_saved(objs: Sequence[models.Model]) -> None:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(model: type[models.Model], rows: Sequence[Sequence[Any]]) -> None:
    """Insert plain rows: values in the order of ``model``'s insert fields (every concrete field
    but an auto primary key), as the model's attributes would hold them."""
    if not rows:
        return
    if vendor() == "postgresql":
        _insert_json(model, rows)
        return
    adapters = _adapters(model, vendor())
    convert = [(i, adapt) for i, adapt in enumerate(adapters) if adapt is not _identity]
    size = CHUNK
    with cursor() as c:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params: list[Any] = []
            for row in chunk:
                values = list(row)
                for i, adapt in convert:
                    values[i] = adapt(values[i])
                params += values
            c.execute(_insert_sql(model, vendor(), len(chunk))[0], params)


# Field types whose Python values the engine builds itself and the drivers take as they are.
_PLAIN = {
    "CharField",
    "TextField",
    "SlugField",
    "BooleanField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "BigAutoField",
    "AutoField",
}


@cache
def _adapters(model: type[models.Model], vendor: str) -> tuple[Any, ...]:
    """One value adapter per inserted field: the field's own preparation, or none for plain
    columns (their values are already what the driver wants)."""
    _sql, fields = _insert_sql(model, vendor, 1)
    adapters: list[Callable[[Any], Any]] = []
    for field in fields:
        kind = field.get_internal_type()
        if isinstance(field, models.ForeignKey):
            kind = field.target_field.get_internal_type()
        if kind in _PLAIN:
            adapters.append(_identity)
        elif kind == "DateTimeField":
            adapters.append(connection.ops.adapt_datetimefield_value)
        else:
            adapters.append(_prepare_with(field))
    return tuple(adapters)


def _prepare_with(field: models.Field) -> Callable[[Any], Any]:
    def prepare(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    return prepare


def column_of(field: models.Field) -> str:
    """The column of a concrete field."""
    return _column(field)


def _column(field: models.Field) -> str:
    assert field.column is not None, "concrete fields have a column"
    return field.column


def _identity(value: Any) -> Any:
    return value


def _value(obj: models.Model, field: models.Field) -> Any:
    value = getattr(obj, field.attname)
    if value is None and field.has_default():
        value = field.get_default()
        setattr(obj, field.attname, value)
    return value


@cache
def _select_sql(model: type[models.Model], vendor: str) -> tuple[str, tuple[models.Field, ...]]:
    fields = tuple(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column(f)) for f in fields)
    table = quote(model._meta.db_table)
    return f"SELECT {columns} FROM {table} WHERE ", fields  # noqa: S608


def select_sql(model: type[models.Model]) -> str:
    """``SELECT <every column> FROM <table> WHERE `` for ``model``; rows go to ``from_rows``."""
    return _select_sql(model, vendor())[0]


def fields_of(model: type[models.Model]) -> tuple[models.Field, ...]:
    return _select_sql(model, vendor())[1]


def select(model: type[M], where: str, params: Iterable[Any]) -> list[M]:
    """Model instances for ``SELECT … WHERE <where>`` (columns in field order).

    PostgreSQL only: its driver returns typed values (SQLite needs the ORM's converters).
    """
    assert vendor() == "postgresql", "use the ORM on other databases"
    head, fields = _select_sql(model, vendor())
    return from_rows(model, fields, fetch(head + where, list(params)))


def from_rows(model: type[M], fields: Sequence[models.Field], rows: Iterable[tuple]) -> list[M]:
    """Model instances from PostgreSQL rows whose columns are ``fields`` in order."""
    converters = [(i, f) for i, f in enumerate(fields) if hasattr(f, "from_db_value")]
    names = [f.attname for f in fields]
    alias = connection.alias
    plain = _plain_init(model) and len(names) == len(model._meta.concrete_fields)
    result = []
    for row in rows:
        values = list(row)
        for i, f in converters:
            values[i] = f.from_db_value(values[i], None, connection)
        if plain:
            # What Model.from_db does for a full row, without __init__'s generic argument
            # handling (the engine reads thousands of rows a second).
            obj = model.__new__(model)
            obj.__dict__.update(zip(names, values, strict=True))
            state = obj._state = ModelState()
            state.adding, state.db = False, alias
            result.append(obj)
        else:
            result.append(model.from_db(alias, names, values))
    return result


def build(model: type[M], **values: Any) -> M:
    """``model(**values)`` for the engine's hot path: attribute names only, every other field
    at its default; the generic ``__init__`` is skipped when no init signal listens."""
    if not _plain_init(model):
        return model(**values)
    obj = model.__new__(model)
    attributes = obj.__dict__
    for attname, field in _attnames(model):
        attributes[attname] = values.pop(attname) if attname in values else field.get_default()
    if values:
        raise TypeError(f"{model.__name__} has no fields {sorted(values)}")
    obj._state = ModelState()
    return obj


@cache
def _attnames(model: type[models.Model]) -> tuple[tuple[str, models.Field], ...]:
    return tuple((f.attname, f) for f in model._meta.concrete_fields)


@cache
def _plain_init(model: type[models.Model]) -> bool:
    """True when nothing listens to ``model``'s init signals (so __init__ may be skipped)."""
    return not (pre_init.has_listeners(model) or post_init.has_listeners(model))
