"""The subscription-renewal process end to end with its real handlers, on the harness's clock."""

from __future__ import annotations

import datetime as dt

from subscriptions.models import CustomerEmail, Invoice, PaymentAttempt, Subscription

from .conftest import subscribe

DAY = dt.timedelta(days=1)


def test_paid_at_once_sends_receipt_and_extends_the_period(renewals, plan):
    # given
    subscription = subscribe(plan)
    today = subscription.next_billing_date

    # when
    renewals.open_due()

    # then
    subscription.refresh_from_db()
    invoice = renewals.invoice(subscription)
    assert invoice.status == Invoice.S.PAID
    assert subscription.status == Subscription.S.ACTIVE
    assert subscription.current_period_start == today
    assert subscription.next_billing_date == invoice.period_end > today
    assert [a.outcome for a in invoice.attempts.all()] == ["succeeded"]
    assert [e.kind for e in invoice.emails.all()] == ["receipt"]
    instance = renewals.instance(subscription)
    instance.is_completed().has_passed("Task_receipt").has_passed("End_renewed")
