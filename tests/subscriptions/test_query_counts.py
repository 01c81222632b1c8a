"""The renewal handlers' statements, counted: a first payment attempt locks the invoice and its
subscription and finds no earlier try in one query, then inserts the attempt and updates the
invoice. A repeat of the job still running elsewhere holds the locks: the attempt then waits for
them and looks for the earlier try afterwards, and finds it instead of charging again."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orders.payments.sandbox import SandboxProvider
from subscriptions import services
from subscriptions.models import AttemptOutcome, Invoice, PaymentAttempt

from .conftest import subscribe


def statements(ctx: CaptureQueriesContext) -> list[str]:
    """The statements run, without the test transaction's savepoints."""
    return [
        q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


def opened(plan, token: str = "tok_visa") -> Invoice:  # noqa: S107
    subscription = subscribe(plan, token)
    services.renewals_open_batch(run_date=subscription.next_billing_date)
    return Invoice.objects.get(subscription=subscription)


def test_opening_a_batch_takes_the_same_statements_whatever_its_size(renewals, plan):
    """The batch's starts are one engine command: no savepoint per subscription in the opening's
    transaction (on PostgreSQL: no Django statement at all per subscription)."""
    counts = []
    for size in (1, 2, 6):  # the first fills the process definition's cache
        due = [subscribe(plan) for _ in range(size)]
        with CaptureQueriesContext(connection) as ctx:
            services.renewals_open_batch(run_date=due[0].next_billing_date)
        # The engine's key blocks are refilled every so many keys, not per subscription.
        sql = [q["sql"] for q in ctx.captured_queries if "engine_key_seq" not in q["sql"]]
        # On SQLite the engine's own statements also pass through Django's cursor.
        counts.append(
            len(sql)
            if connection.vendor == "postgresql"
            else sum(s.startswith("SAVEPOINT") for s in sql)
        )
        invoices = Invoice.objects.filter(subscription__in=due, process_instance_key__isnull=False)
        assert invoices.count() == size
        assert len(set(invoices.values_list("process_instance_key", flat=True))) == size
    assert counts[1] == counts[2]


def test_a_first_attempt_that_pays_is_three_statements(renewals, plan):
    invoice = opened(plan)
    with CaptureQueriesContext(connection) as ctx:
        result = services.payment_attempt_make(invoice_id=invoice.pk, attempt_number=1)
    assert result.attempt.outcome == AttemptOutcome.SUCCEEDED
    run = statements(ctx)
    assert len(run) == 3, run
    lock, insert, update = run
    assert lock.startswith("SELECT")
    if connection.vendor == "postgresql":  # SQLite has no row locks: a plain read there
        assert "FOR UPDATE OF" in lock and "NOWAIT" in lock
    assert '"subscriptions_paymentattempt"' in lock  # the earlier try, looked up in the lock
    assert insert.startswith('INSERT INTO "subscriptions_paymentattempt"')
    assert update.startswith('UPDATE "subscriptions_invoice"')
    invoice.refresh_from_db()
    assert invoice.status == Invoice.S.PAID


def test_a_declined_first_attempt_also_moves_the_subscription_into_dunning(renewals, plan):
    invoice = opened(plan, "tok_chargeDeclined")
    with CaptureQueriesContext(connection) as ctx:
        result = services.payment_attempt_make(invoice_id=invoice.pk, attempt_number=1)
    assert result.attempt.outcome == AttemptOutcome.SOFT_DECLINE
    assert result.attempt.next_retry_at is not None
    run = statements(ctx)
    # the locks, the attempt (with its next retry), the invoice, the subscription, its history
    assert [s.split(" ")[0] for s in run] == ["SELECT", "INSERT", "UPDATE", "UPDATE", "INSERT"]


def test_a_repeated_attempt_reads_and_writes_nothing_more(renewals, plan):
    invoice = opened(plan)
    first = services.payment_attempt_make(invoice_id=invoice.pk, attempt_number=1)
    with CaptureQueriesContext(connection) as ctx:
        again = services.payment_attempt_make(invoice_id=invoice.pk, attempt_number=1)
    assert again.attempt.pk == first.attempt.pk
    assert [s.split(" ")[0] for s in statements(ctx)] == ["SELECT", "SELECT"]


def test_period_extension_and_receipt_statements(renewals, plan):
    invoice = opened(plan)
    services.payment_attempt_make(invoice_id=invoice.pk, attempt_number=1)
    with CaptureQueriesContext(connection) as ctx:
        services.subscription_period_extend(invoice_id=invoice.pk)
    # one lock of invoice and subscription, the subscription's update, its history row
    assert [s.split(" ")[0] for s in statements(ctx)] == ["SELECT", "UPDATE", "INSERT"]
    with CaptureQueriesContext(connection) as ctx:
        services.customer_email_send(invoice_id=invoice.pk, attempt_number=1, kind="receipt")
    # the locked invoice (with the attempt's decline), an earlier e-mail, an earlier message,
    # the message and the e-mail
    assert [s.split(" ")[0] for s in statements(ctx)] == [
        "SELECT",
        "SELECT",
        "SELECT",
        "INSERT",
        "INSERT",
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_attempt_waits_for_a_repeat_holding_the_locks_and_finds_its_try(plan, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("NOWAIT row locks are PostgreSQL's")
    calls = []
    monkeypatch.setattr(
        SandboxProvider, "charge_off_session", lambda self, **kw: calls.append(kw) or None
    )
    subscription = subscribe(plan)
    invoice = Invoice.objects.create(
        number="INV-REPEAT-1",
        subscription=subscription,
        period_start=subscription.next_billing_date,
        period_end=subscription.next_billing_date + dt.timedelta(days=30),
        amount_minor=1_990,
        currency="EUR",
        schedule=services.schedule_in_force(),
    )
    locked, release, held = threading.Event(), threading.Event(), {}

    def repeat_of_the_job() -> None:  # holds both locks and records the try, then commits
        try:
            with transaction.atomic():
                Invoice.objects.select_for_update().get(pk=invoice.pk)
                held["attempt"] = PaymentAttempt.objects.create(
                    invoice_id=invoice.pk,
                    attempt_number=1,
                    outcome=AttemptOutcome.SOFT_DECLINE,
                    decline_code="insufficient_funds",
                    idempotency_key=f"{invoice.number}:attempt-1",
                    attempted_at=dt.datetime.now(dt.UTC),
                )
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    def release_once_waited_for() -> None:  # the attempt below is blocked on a row lock
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                    if cursor.fetchone()[0]:
                        break
                time.sleep(0.02)
        finally:
            release.set()
            connection.close()

    holder = threading.Thread(target=repeat_of_the_job)
    holder.start()
    assert locked.wait(30)
    releaser = threading.Thread(target=release_once_waited_for)
    releaser.start()
    with CaptureQueriesContext(connection) as ctx:
        result = services.payment_attempt_make(invoice_id=invoice.pk, attempt_number=1)
    holder.join(30)
    releaser.join(30)
    assert result.attempt.pk == held["attempt"].pk
    assert result.attempt.outcome == AttemptOutcome.SOFT_DECLINE
    assert calls == []  # not charged again
    locks = [s for s in statements(ctx) if "FOR UPDATE" in s]
    assert ["NOWAIT" in s for s in locks] == [True, False]  # refused, then waited
    assert PaymentAttempt.objects.count() == 1
