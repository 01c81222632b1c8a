"""The core app: one error-to-HTTP table, one history writer, notifications sent once."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.exceptions import NotFound

from core.api import exception_handler
from core.errors import ApplicationError
from core.history import actor_of, history_write
from core.models import Notification
from core.notifications import notify_customer
from orders.models import OrderEvent, OrderHistory
from returns.models import ReturnEvent


@pytest.mark.parametrize(
    ("code", "status"),
    [("invalid", 400), ("conflict", 409), ("not_found", 404), ("four_eyes", 403), ("new", 400)],
)
def test_application_errors_map_to_status_by_code(code, status):
    response = exception_handler(ApplicationError("No.", field="reason", code=code), {})
    assert response.status_code == status
    assert response.data == {"reason": ["No."]}


def test_an_error_without_a_field_is_a_non_field_error_and_drf_errors_pass_through():
    assert exception_handler(ApplicationError("No."), {}).data == {"non_field_errors": ["No."]}
    assert exception_handler(NotFound(), {"view": None}).status_code == 404


def test_history_write_refuses_plain_strings_and_other_apps_events():
    with pytest.raises(TypeError):
        history_write(OrderHistory, "order_placed", order=None)
    with pytest.raises(TypeError):
        history_write(OrderHistory, ReturnEvent.REQUESTED, order=None)


def test_history_events_are_the_field_choices():
    choices = {value for value, _label in OrderHistory._meta.get_field("event").choices}
    assert set(OrderEvent.values) <= choices
    assert "payout_reversed" in choices  # a sub-order event, written by vendors


def test_actor_of():
    class User:
        is_authenticated = True

        def get_username(self):
            return "maya"

    assert actor_of(User()) == "maya"
    assert actor_of(None) == ""


@pytest.mark.django_db(transaction=True)
def test_notify_customer_sends_once_per_key_after_commit():
    first = notify_customer(
        template="orders/order_completed",
        to="lena@example.com",
        context={"number": "ORD-1"},
        key="notify:1",
    )
    again = notify_customer(
        template="orders/order_completed",
        to="lena@example.com",
        context={"number": "ORD-1"},
        key="notify:1",
    )

    assert first.created and not again.created
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Order ORD-1"
    assert mail.outbox[0].body == "Your order ORD-1 is complete. Thank you!"


@pytest.mark.django_db(transaction=True)
def test_notification_text_is_not_html_escaped():
    notify_customer(
        template="returns/rejected",
        to="lena@example.com",
        context={"number": "RET-1", "reason": "it's <broken> & worn"},
        key="notify:2",
    )
    assert mail.outbox[0].body == "Your return RET-1 was not accepted: it's <broken> & worn"
