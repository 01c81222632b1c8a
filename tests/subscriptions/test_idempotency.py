"""Every handler is safe to run twice: a redelivered job finds what the first run did."""

from __future__ import annotations

import datetime as dt

import pytest

from processes.jobs import Job
from subscriptions import handlers, services
from subscriptions.models import (
    CustomerEmail,
    Invoice,
    PaymentAttempt,
    Subscription,
    SubscriptionHistory,
)

from .conftest import subscribe


def job(job_type: str, variables: dict, headers: dict | None = None) -> Job:
    return Job(
        key=1,
        type=job_type,
        process_instance_key=10,
        element_id="Task",
        element_instance_key=11,
        bpmn_process_id="subscription-renewal",
        retries=3,
        custom_headers=headers or {},
        variables=variables,
    )


def snapshot() -> dict:
    return {
        "invoices": list(Invoice.objects.values_list("pk", "status", "process_instance_key")),
        "attempts": list(PaymentAttempt.objects.values_list("pk", "outcome")),
        "emails": list(CustomerEmail.objects.values_list("pk", "kind")),
        "subs": list(
            Subscription.objects.values_list("pk", "status", "next_billing_date", "canceled_at")
        ),
        "history": SubscriptionHistory.objects.count(),
    }


def twice(handler, the_job):
    first = handler(the_job)
    before = snapshot()
    second = handler(the_job)
    assert snapshot() == before
    assert second == first
    return first


@pytest.fixture
def opened(renewals, plan):
    """An opened invoice whose instance has not run its jobs yet."""
    subscription = subscribe(plan, "tok_chargeDeclined")
    services.renewals_open_batch(run_date=subscription.next_billing_date)
    return subscription, Invoice.objects.get(subscription=subscription)


def test_renewals_open_twice_starts_one_instance(renewals, plan):
    subscribe(plan)
    variables = {"runDate": dt.date.today().isoformat()}
    handlers.renewals_open(job("subscription-renewals-open", variables))
    before = snapshot()
    handlers.renewals_open(job("subscription-renewals-open", variables))
    assert snapshot() == before
    assert Invoice.objects.count() == 1


def test_payment_attempt_twice_charges_once(opened, monkeypatch):
    from orders.payments.sandbox import SandboxProvider

    calls = []
    original = SandboxProvider.charge_off_session
    monkeypatch.setattr(
        SandboxProvider,
        "charge_off_session",
        lambda self, **kw: calls.append(kw) or original(self, **kw),
    )
    _subscription, invoice = opened
    result = twice(
        handlers.payment_attempt,
        job("subscription-payment-attempt", {"invoiceId": invoice.pk, "attempt": 0}),
    )
    assert result["attempt"] == 1
    assert result["paymentOutcome"] == "soft_decline"
    assert len(calls) == 1


def test_email_twice_sends_once(opened, mailoutbox, django_capture_on_commit_callbacks):
    _subscription, invoice = opened
    handlers.payment_attempt(
        job("subscription-payment-attempt", {"invoiceId": invoice.pk, "attempt": 0})
    )
    the_job = job(
        "subscription-email",
        {"invoiceId": invoice.pk, "attempt": 1, "paymentOutcome": "soft_decline"},
        {"kind": "dunning"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        twice(handlers.email, the_job)
    assert len(mailoutbox) == 1
    assert CustomerEmail.objects.get().idempotency_key == f"{invoice.number}:1:gentle_reminder"


def test_period_extend_and_cancel_twice_change_nothing(renewals, plan):
    paid = subscribe(plan)
    renewals.open_due()
    twice(
        handlers.period_extend,
        job("subscription-period-extend", {"invoiceId": paid.invoices.get().pk}),
    )
    failing = subscribe(plan, "tok_chargeDeclined")
    renewals.open_due()
    twice(
        handlers.dunning_cancel,
        job("subscription-dunning-cancel", {"invoiceId": failing.invoices.get().pk}),
    )
    failing.refresh_from_db()
    assert failing.status == Subscription.S.CANCELED


def test_email_kinds_by_attempt():
    kinds = [
        services.dunning_email_kind(attempt_number=n, max_attempts=4, hard=False) for n in (1, 2, 3)
    ]
    assert kinds == ["gentle_reminder", "update_payment_method", "final_notice"]
    assert (
        services.dunning_email_kind(attempt_number=1, max_attempts=4, hard=True)
        == "update_payment_method"
    )
