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


def _attempt_days(invoice, start):
    return [(a.attempted_at - start).days for a in invoice.attempts.order_by("attempt_number")]


def test_soft_decline_then_paid_on_attempt_2(renewals, plan):
    # given
    subscription = subscribe(plan, "tok_chargeDeclinedInsufficientFunds")
    renewals.open_due()
    invoice = renewals.invoice(subscription)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.PAST_DUE
    assert invoice.next_retry_at == renewals.process.now + 3 * DAY
    renewals.instance(subscription).is_waiting_at("Gateway_wait")

    # when: the customer's bank has money again by the retry
    subscription.payment_method.__class__.objects.filter(pk=subscription.payment_method_id).update(
        provider_token="tok_visa"
    )
    renewals.later(3 * DAY)

    # then
    invoice.refresh_from_db()
    subscription.refresh_from_db()
    assert invoice.status == Invoice.S.PAID
    assert subscription.status == Subscription.S.ACTIVE
    assert [a.outcome for a in invoice.attempts.all()] == ["soft_decline", "succeeded"]
    assert [(e.attempt_number, e.kind) for e in invoice.emails.all()] == [
        (1, "gentle_reminder"),
        (2, "receipt"),
    ]
    renewals.instance(subscription).is_completed()


def test_four_failures_cancel_on_days_0_3_10_and_24(renewals, plan):
    # given
    start = renewals.process.now
    subscription = subscribe(plan, "tok_chargeDeclined")

    # when
    renewals.open_due()
    renewals.later(3 * DAY)
    renewals.later(7 * DAY)
    renewals.later(13 * DAY)  # day 23: still in dunning
    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.PAST_DUE
    renewals.later(DAY)  # day 24: the fourth attempt fails

    # then
    invoice = renewals.invoice(subscription)
    subscription.refresh_from_db()
    assert _attempt_days(invoice, start) == [0, 3, 10, 24]
    assert invoice.status == Invoice.S.UNCOLLECTIBLE
    assert subscription.status == Subscription.S.CANCELED
    assert (subscription.canceled_at - start).days == 24
    assert [(e.attempt_number, e.kind) for e in invoice.emails.all()] == [
        (1, "gentle_reminder"),
        (2, "update_payment_method"),
        (3, "final_notice"),
        (4, "canceled"),
    ]
    renewals.instance(subscription).is_completed().has_passed("End_canceled")


def test_hard_decline_is_never_retried_and_cancels_after_the_grace_period(renewals, plan):
    # given
    start = renewals.process.now
    subscription = subscribe(plan, "tok_chargeDeclinedLostCard")

    # when
    renewals.open_due()

    # then
    invoice = renewals.invoice(subscription)
    [attempt] = invoice.attempts.all()
    assert (attempt.outcome, attempt.decline_code) == ("hard_decline", "lost_card")
    assert attempt.next_retry_at is None
    assert [e.kind for e in invoice.emails.all()] == ["update_payment_method"]
    instance = renewals.instance(subscription)
    instance.is_waiting_at("Gateway_grace").is_waiting_for_message("payment-method-updated")

    renewals.later(13 * DAY)
    assert invoice.attempts.count() == 1
    renewals.later(DAY)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.CANCELED
    assert (subscription.canceled_at - start).days == 14
    assert invoice.attempts.count() == 1
    instance.is_completed().has_passed("Timer_grace")


def _new_card(subscription, token="tok_visa"):  # noqa: S107
    """Save a new card and use it (the message goes out when the transaction commits)."""
    from django.test import TestCase

    from subscriptions import services

    card = services.payment_method_add(
        customer=subscription.customer,
        provider_token=token,
        brand="visa",
        last4="1881",
        exp_month=1,
        exp_year=2099,
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.subscription_payment_method_update(
            subscription=subscription, payment_method=card, user=None
        )


def test_payment_method_update_during_a_wait_retries_at_once(renewals, plan):
    # given: soft decline, waiting 3 days
    subscription = subscribe(plan, "tok_chargeDeclined")
    renewals.open_due()
    invoice = renewals.invoice(subscription)

    # when
    _new_card(subscription)
    renewals.process.run_handlers()

    # then: attempt 2 on day 0, paid
    invoice.refresh_from_db()
    assert invoice.status == Invoice.S.PAID
    attempts = list(invoice.attempts.all())
    assert [a.outcome for a in attempts] == ["soft_decline", "succeeded"]
    assert attempts[1].attempted_at == attempts[0].attempted_at
    assert attempts[1].payment_method.last4 == "1881"
    renewals.instance(subscription).is_completed().has_passed("Message_pm_soft")


def test_payment_method_update_after_a_hard_decline_retries_at_once(renewals, plan):
    subscription = subscribe(plan, "tok_chargeDeclinedStolenCard")
    renewals.open_due()

    _new_card(subscription)
    renewals.process.run_handlers()

    invoice = renewals.invoice(subscription)
    assert invoice.status == Invoice.S.PAID
    renewals.instance(subscription).is_completed().has_passed("Message_pm_hard")


def test_staff_retry_now_retries_before_the_schedule(
    renewals, plan, support, django_capture_on_commit_callbacks
):
    from subscriptions import services

    subscription = subscribe(plan, "tok_chargeDeclined")
    renewals.open_due()
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_retry_now(subscription=subscription, user=support)
    renewals.process.run_handlers()

    invoice = renewals.invoice(subscription)
    assert invoice.attempts.count() == 2
    assert subscription.history.filter(event="retry_requested", actor="sue").exists()
    renewals.instance(subscription).is_waiting_at("Gateway_wait").has_passed("Message_retry_now")


def test_paused_subscription_is_skipped_and_billed_after_resuming(renewals, plan, support):
    from subscriptions import services

    # given
    subscription = subscribe(plan)
    services.subscription_pause(
        subscription=subscription, user=support, resume_on=subscription.next_billing_date + 5 * DAY
    )

    # when: the daily run while paused
    renewals.open_due()

    # then
    assert not Invoice.objects.filter(subscription=subscription).exists()

    # when: the resume date comes
    renewals.later(5 * DAY)
    renewals.open_due()

    # then
    subscription.refresh_from_db()
    invoice = renewals.invoice(subscription)
    assert invoice.status == Invoice.S.PAID
    assert invoice.period_start == renewals.process.now.date()
    assert subscription.status == Subscription.S.ACTIVE
    assert list(subscription.history.values_list("event", flat=True))[:3] == [
        "renewed",
        "invoice_opened",
        "resumed",
    ]


def test_subscription_paused_after_its_invoice_opened_is_not_charged(renewals, plan, support):
    from subscriptions import services

    subscription = subscribe(plan)
    services.renewals_open_batch(run_date=subscription.next_billing_date)
    services.subscription_pause(subscription=subscription, user=support)

    renewals.process.run_handlers()

    invoice = renewals.invoice(subscription)
    assert invoice.status == Invoice.S.VOID
    assert [a.outcome for a in invoice.attempts.all()] == ["skipped"]
    renewals.instance(subscription).is_completed().has_passed("End_skipped")


def test_billable_gateway_skips_an_instance_started_for_a_paused_subscription(renewals, plan):
    process = renewals.process
    instance = process.start(
        "subscription-renewal", {"billable": False, "invoiceId": 0, "attempt": 0}
    )
    instance.is_completed().has_passed("End_not_billable").has_not_passed("Task_attempt")


def test_trial_ends_with_the_first_charge(renewals, trial_plan):
    subscription = subscribe(trial_plan)
    assert subscription.status == Subscription.S.TRIALING
    renewals.open_due()
    assert not Invoice.objects.filter(subscription=subscription).exists()

    renewals.later(14 * DAY)
    renewals.open_due()

    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.ACTIVE
    assert renewals.invoice(subscription).status == Invoice.S.PAID


def test_failed_trial_end_goes_into_dunning(renewals, trial_plan):
    subscription = subscribe(trial_plan, "tok_chargeDeclined")
    renewals.later(14 * DAY)
    renewals.open_due()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.PAST_DUE


def test_cancel_now_during_dunning_stops_the_instance(
    renewals, plan, support, django_capture_on_commit_callbacks
):
    from subscriptions import services

    subscription = subscribe(plan, "tok_chargeDeclined")
    renewals.open_due()
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_cancel(subscription=subscription, user=support)

    invoice = renewals.invoice(subscription)
    assert invoice.status == Invoice.S.VOID
    renewals.instance(subscription).is_terminated()
    renewals.later(30 * DAY)
    assert invoice.attempts.count() == 1


def test_cancel_at_period_end_is_not_billed_again(renewals, plan, support):
    from subscriptions import services

    subscription = subscribe(plan)
    renewals.open_due()
    services.subscription_cancel(subscription=subscription, user=support, at_period_end=True)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.ACTIVE

    renewals.later(subscription.next_billing_date - renewals.process.now.date())
    renewals.open_due()

    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.CANCELED
    assert subscription.invoices.count() == 1


def test_card_network_cap_stops_the_retry_without_calling_the_provider(
    renewals, plan, monkeypatch, django_capture_on_commit_callbacks
):
    from orders.payments.sandbox import SandboxProvider
    from subscriptions import services

    calls = []
    original = SandboxProvider.charge_off_session

    def counting(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        return original(self, **kwargs)

    monkeypatch.setattr(SandboxProvider, "charge_off_session", counting)
    # given: a Mastercard declined 10 times in the last hours on another subscription
    subscription = subscribe(plan, "tok_chargeDeclined", brand="mastercard")
    other = subscribe(plan, start_date=subscription.next_billing_date + 20 * DAY)
    old = Invoice.objects.create(
        number="INV-OLD",
        subscription=other,
        period_start=other.next_billing_date - 40 * DAY,
        period_end=other.next_billing_date - 10 * DAY,
        amount_minor=100,
        currency="EUR",
        schedule=services.schedule_in_force(),
    )
    for n in range(1, 11):
        PaymentAttempt.objects.create(
            invoice=old,
            attempt_number=n,
            payment_method=subscription.payment_method,
            card_brand="mastercard",
            outcome="soft_decline",
            decline_code="card_declined",
            idempotency_key=f"old-{n}",
            attempted_at=renewals.process.now - dt.timedelta(hours=20 - n),
        )

    # when: attempt 1 (a new charge) and, with a retry now, attempt 2 at once
    renewals.open_due(run_date=subscription.next_billing_date)
    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_retry_now(subscription=subscription, user=None)
    renewals.process.run_handlers()

    # then
    invoice = renewals.invoice(subscription)
    attempts = list(invoice.attempts.all())
    assert [a.outcome for a in attempts] == ["soft_decline", "capped"]
    assert "at most 10 retries in 24 hours" in attempts[1].decline_message
    assert calls == [f"{invoice.number}:attempt-1"]
    renewals.instance(subscription).is_waiting_at("Gateway_wait")


def test_daily_timer_starts_the_run_at_the_configured_time(renewals, plan, settings):
    process = renewals.process
    settings.SUBSCRIPTION_RENEWAL_BATCH = 2
    midnight = (process.now + DAY).replace(hour=0, minute=0, second=0)
    subscriptions = [subscribe(plan, start_date=midnight.date()) for _ in range(5)]

    process.set_time(midnight)
    process.run_handlers()
    [daily] = [i for i in process.active_instances("subscription-renewal")]
    daily.is_waiting_at("Timer_run_at")
    assert not Invoice.objects.exists()

    renewals.later(dt.timedelta(hours=2))

    daily.is_completed().has_passed("Task_open_batch", 1).has_variable("renewalsOpened", 5)
    assert len(daily.variables["batches"]) == 3  # five subscriptions in batches of two
    for subscription in subscriptions:
        assert renewals.invoice(subscription).status == Invoice.S.PAID
    assert CustomerEmail.objects.filter(kind="receipt").count() == 5


def test_a_second_daily_run_charges_nobody_twice(renewals, plan):
    subscriptions = [subscribe(plan) for _ in range(3)]
    renewals.open_due()
    renewals.open_due()
    assert Invoice.objects.count() == 3
    assert PaymentAttempt.objects.count() == 3
    for subscription in subscriptions:
        subscription.refresh_from_db()
        assert subscription.invoices.get().status == Invoice.S.PAID
