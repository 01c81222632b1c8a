"""PostgreSQL: an engine command holds its transaction itself (``sql.command()``), and Django
sees it as an outermost ``atomic`` block: ``on_commit`` callbacks wait for the commit, nested
blocks are savepoints, an exception or a broken nested block rolls everything back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from processes.engine import sql
from processes.models import Record
from tests.conftest import require_service

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def postgres() -> None:
    require_service("DATABASE_URL", "PostgreSQL")
    if connection.vendor != "postgresql":
        pytest.skip("the command's own transaction is PostgreSQL's")


def _write(intent: str) -> None:
    Record.objects.create(value_type="TEST", intent=intent, at=AT)


def _intents() -> list[str]:
    return sorted(Record.objects.filter(value_type="TEST").values_list("intent", flat=True))


def _in_autocommit() -> bool:
    """Django's view and the driver's agree that no transaction is open."""
    from psycopg.pq import TransactionStatus

    raw = connection.connection
    return (
        not connection.in_atomic_block
        and connection.get_autocommit()
        and raw.autocommit
        and raw.pgconn.transaction_status == TransactionStatus.IDLE
        and raw._pipeline is None
    )


def _other_connection_sees(intent: str) -> bool:
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        table = Record._meta.db_table
        rows = other.execute(
            f'SELECT 1 FROM {table} WHERE "value_type" = %s AND "intent" = %s',  # noqa: S608
            ["TEST", intent],
        ).fetchall()
    return bool(rows)


def test_on_commit_runs_after_the_commit_and_sees_it_committed():
    seen: list[tuple[bool, bool]] = []
    connection.ensure_connection()
    with sql.command():
        assert connection.in_atomic_block and not connection.get_autocommit()
        _write("a")
        transaction.on_commit(
            lambda: seen.append((connection.in_atomic_block, _other_connection_sees("a")))
        )
        assert seen == []  # not while the transaction is open
        assert not _other_connection_sees("a")
    assert seen == [(False, True)]
    assert _in_autocommit()
    assert _intents() == ["a"]


def test_an_exception_rolls_back_and_drops_the_callbacks():
    called: list[str] = []
    connection.ensure_connection()
    with pytest.raises(ValueError, match="boom"), sql.command():
        _write("gone")
        transaction.on_commit(lambda: called.append("hook"))
        raise ValueError("boom")
    assert called == []
    assert _in_autocommit()
    assert _intents() == []
    _write("after")  # the connection is usable
    assert _intents() == ["after"]


def test_a_database_error_rolls_back():
    connection.ensure_connection()
    with pytest.raises(DatabaseError), sql.command():
        _write("gone")
        sql.fetch("SELECT 1 / 0", [])
    assert _in_autocommit()
    assert _intents() == []


def test_a_nested_block_is_a_savepoint():
    connection.ensure_connection()
    with sql.command():
        _write("kept")
        with pytest.raises(ValueError), transaction.atomic():
            _write("undone")
            raise ValueError("inner")
        with transaction.atomic():
            _write("nested")
    assert _intents() == ["kept", "nested"]
    assert _in_autocommit()


def test_a_nested_block_that_left_the_transaction_broken_rolls_everything_back():
    called: list[str] = []
    connection.ensure_connection()
    with sql.command():
        _write("gone")
        transaction.on_commit(lambda: called.append("hook"))
        try:
            with transaction.atomic(savepoint=False):
                raise ValueError("inner, without a savepoint")
        except ValueError:
            pass
        assert connection.needs_rollback
    assert called == []
    assert _intents() == []
    assert _in_autocommit() and not connection.needs_rollback


def test_a_durable_block_inside_is_refused():
    connection.ensure_connection()
    with (
        pytest.raises(RuntimeError, match="durable"),
        sql.command(),
        transaction.atomic(durable=True),
    ):
        pass
    assert _in_autocommit()


def test_inside_a_callers_transaction_the_caller_commits():
    connection.ensure_connection()
    with pytest.raises(ValueError), transaction.atomic():
        with sql.command():
            _write("callers")
        assert connection.in_atomic_block
        raise ValueError("the caller rolls back")
    assert _intents() == []
