"""Staff pages: list with dunning in business words, detail, actions by role, dunning overview."""

from __future__ import annotations

import pytest

from subscriptions.models import Subscription
from tests.factories import make_user

from .conftest import subscribe


@pytest.fixture
def dunning(renewals, plan):
    paid = subscribe(plan)
    failing = subscribe(plan, "tok_chargeDeclinedInsufficientFunds")
    lost = subscribe(plan, "tok_chargeDeclinedLostCard")
    renewals.open_due()
    return paid, failing, lost


def test_pages_need_a_staff_role(client, dunning):
    _paid, failing, _lost = dunning
    assert client.get("/subscriptions/").status_code == 302  # to sign in
    client.force_login(make_user("walt", role="warehouse"))
    assert client.get("/subscriptions/").status_code == 403
    assert client.get(f"/subscriptions/{failing.number}/").status_code == 403
    response = client.post(f"/subscriptions/{failing.number}/actions/", {"action": "retry_now"})
    assert response.status_code == 403


def test_list_shows_next_retry_in_business_words_and_filters(client, support, dunning):
    paid, failing, lost = dunning
    client.force_login(support)

    page = client.get("/subscriptions/", {"dunning": "1"}).content.decode()

    assert failing.number in page and lost.number in page and paid.number not in page
    assert "Attempt 1 of 4 failed (insufficient funds): next retry in 3 days" in page
    assert "card declined for good, waiting for a new card until" in page
    found = client.get("/subscriptions/", {"q": paid.customer.email}).content.decode()
    assert paid.number in found and failing.number not in found
    active = client.get("/subscriptions/", {"status": "active"}).content.decode()
    assert paid.number in active and failing.number not in active


def test_detail_shows_invoices_attempts_emails_and_diagram(client, support, dunning):
    _paid, failing, _lost = dunning
    client.force_login(support)
    page = client.get(f"/subscriptions/{failing.number}/").content.decode()
    assert "insufficient_funds" in page
    assert "Payment failed: gentle reminder" in page
    assert "<svg" in page and "Gateway_wait" in page
    assert "Retry payment now" in page
    assert "Cancel now" not in page  # managers only


def test_support_retries_now_and_managers_cancel(
    client, support, manager, dunning, renewals, django_capture_on_commit_callbacks
):
    _paid, failing, lost = dunning
    client.force_login(support)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/subscriptions/{failing.number}/actions/", {"action": "retry_now"})
    renewals.process.run_handlers()
    assert response.status_code == 302
    assert failing.invoices.get().attempts.count() == 2
    refused = client.post(
        f"/subscriptions/{lost.number}/actions/", {"action": "retry_now"}, follow=True
    )
    assert "declined for good" in refused.content.decode()
    assert (
        client.post(
            f"/subscriptions/{failing.number}/actions/", {"action": "cancel_now"}
        ).status_code
        == 403
    )

    client.force_login(manager)
    client.post(f"/subscriptions/{failing.number}/actions/", {"action": "cancel_now"})
    failing.refresh_from_db()
    assert failing.status == Subscription.S.CANCELED


def test_pause_with_a_resume_date_from_the_page(client, support, plan, renewals):
    subscription = subscribe(plan, start_date=renewals.process.now.date().replace(year=2099))
    client.force_login(support)
    client.post(
        f"/subscriptions/{subscription.number}/actions/",
        {"action": "pause", "resume_on": "2099-06-01"},
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.S.PAUSED
    assert str(subscription.resume_on) == "2099-06-01"


def test_dunning_overview_is_for_managers_and_draws_a_chart(client, support, manager, dunning):
    client.force_login(support)
    assert client.get("/subscriptions/dunning/").status_code == 403
    client.force_login(manager)
    page = client.get("/subscriptions/dunning/").content.decode()
    assert "<svg" in page and "<rect" in page
    assert ">2<" in page.replace(" ", "")  # two in dunning after their first attempt
    assert "€39.80" in page or "39.80" in page  # two invoices of 19.90 at risk
