"""Subscriptions in the browser: a support user finds a past-due subscription, sees when the
next retry is, and retries it now."""

from __future__ import annotations

import re

import pytest

from config.roles import SUPPORT
from orders.payments import sandbox
from processes.engine import service
from processes.testing.context import ProcessTestContext
from subscriptions import services
from subscriptions.models import Invoice, PaymentMethod, Plan, Subscription
from tests.factories import make_user
from tests.subscriptions.conftest import BPMN, subscribe

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests-1"  # test users only
SUBSCRIPTIONS_ONE = re.compile(r"^Subscriptions\W*1\W*$")


def run_jobs() -> None:
    """Stand in for the job workers: run the registered handlers until the engine waits."""
    ProcessTestContext().run_handlers()


@pytest.fixture
def past_due(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    sandbox.reset()
    service.deploy_file(str(BPMN))
    make_user("sue", role=SUPPORT)
    plan = Plan.objects.create(code="coffee-club", name="Coffee club", price_minor=1_990)
    paying = subscribe(plan)
    failing = subscribe(plan, "tok_chargeDeclinedInsufficientFunds")
    services.renewals_open_batch(run_date=failing.next_billing_date)
    run_jobs()
    failing.refresh_from_db()
    assert failing.status == Subscription.S.PAST_DUE
    return paying, failing


def test_support_finds_a_past_due_subscription_and_retries_it_now(
    browser_page, past_due, screenshot
):
    page = browser_page
    paying, failing = past_due

    # the navigation counts the one in dunning; the list says when the next retry is
    sign_in(page, "sue", PASSWORD)
    page.get_by_role("link", name=SUBSCRIPTIONS_ONE).click()
    page.get_by_label("In dunning").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("link", name=failing.number).is_visible()
    assert page.get_by_role("link", name=paying.number).count() == 0
    row = page.get_by_role("row").filter(has_text=failing.number)
    assert "Attempt 1 of 4 failed (insufficient funds): next retry in 3 days" in row.inner_text()
    screenshot(page, "subscriptions-in-dunning")

    # the subscription: why it failed, when the next retry is, the e-mail sent, the diagram
    page.get_by_role("link", name=failing.number).click()
    assert "next retry in 3 days" in page.locator("#dunning-summary").inner_text()
    assert page.get_by_text("Payment failed: gentle reminder").is_visible()
    assert page.locator(".diagram svg").is_visible()

    # the customer's bank has the money now: support retries at once
    PaymentMethod.objects.filter(pk=failing.payment_method_id).update(provider_token="tok_visa")
    page.get_by_role("button", name="Retry payment now").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Retrying the payment now.").is_visible()
    run_jobs()
    page.reload()
    screenshot(page, "subscription-retried")

    failing.refresh_from_db()
    invoice = Invoice.objects.get(subscription=failing)
    assert failing.status == Subscription.S.ACTIVE
    assert invoice.status == Invoice.S.PAID
    assert [a.outcome for a in invoice.attempts.all()] == ["soft_decline", "succeeded"]
    assert page.get_by_role("heading", name=re.compile(rf"{failing.number}\s+Active")).is_visible()
    assert page.locator("#dunning-summary").count() == 0
