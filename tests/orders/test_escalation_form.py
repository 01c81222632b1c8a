"""The vendor SLA escalation task, worked through the tasklist form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import Order, Refund
from processes.models import UserTask
from vendors.models import VendorSubOrder

from .test_marketplace_process import deliver, place, sub

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def late_cedar(deployed, market):
    order, instance = place(deployed)
    for vendor in (market.acme, market.bolt):
        deliver(deployed, sub(order, vendor))
    deployed.increase_time(dt.timedelta(hours=13))  # cedar's SLA is 12 hours
    return order, instance, deployed.user_task("UserTask_chase_vendor", instance)


def test_form_shows_the_vendor_and_validates(deployed, market, support_client):
    order, _instance, task = late_cedar(deployed, market)
    page = support_client.get(reverse("tasks:detail", args=[task.key])).content.decode()
    assert "Cedar Home" in page and order.number in page and "12 hours" in page
    response = support_client.post(
        reverse("tasks:complete", args=[task.key]), {"decision": "extend"}
    )
    assert response.status_code == 400
    assert "Say by how many hours" in response.content.decode()
    response = support_client.post(
        reverse("tasks:complete", args=[task.key]), {"decision": "cancel"}
    )
    assert response.status_code == 400 and "Say why" in response.content.decode()
    task.refresh_from_db()
    assert task.state == UserTask.CREATED


def test_form_shows_the_vendors_contact_details_and_links(deployed, market, support_client):
    market.cedar.contact_email = "ops@cedar.example"
    market.cedar.save(update_fields=["contact_email"])
    order, _instance, task = late_cedar(deployed, market)
    cedar_part = sub(order, market.cedar)

    html = support_client.get(reverse("tasks:detail", args=[task.key])).content.decode()

    assert '<a href="mailto:ops@cedar.example">ops@cedar.example</a>' in html
    assert "12 hours (the vendor&#x27;s SLA)" in html
    order_url = reverse("orders:detail", args=[order.number])
    assert f'<a href="{order_url}">{order.number}</a>' in html
    assert f'<a href="{order_url}#vendors">{cedar_part.number}</a>' in html


def test_form_says_when_the_vendor_has_no_e_mail(deployed, market, support_client):
    market.cedar.contact_email = ""
    market.cedar.save(update_fields=["contact_email"])
    _order, _instance, task = late_cedar(deployed, market)
    html = support_client.get(reverse("tasks:detail", args=[task.key])).content.decode()
    assert "no e-mail on file" in html and "mailto:" not in html


def test_extend_asks_again_when_the_new_deadline_passes(deployed, market, support_client):
    order, instance, task = late_cedar(deployed, market)
    support_client.post(
        reverse("tasks:complete", args=[task.key]), {"decision": "extend", "extend_hours": "6"}
    )
    deployed.run_handlers()
    task.refresh_from_db()
    assert task.state == UserTask.COMPLETED and task.completed_by == "sam"
    instance.is_waiting_at("Receive_vendor_answer", "Timer_extended_deadline", exactly=False)
    deployed.increase_time(dt.timedelta(hours=5))
    assert UserTask.objects.filter(element_id="UserTask_chase_vendor", state="CREATED").count() == 0
    deployed.increase_time(dt.timedelta(hours=2))
    assert UserTask.objects.filter(element_id="UserTask_chase_vendor", state="CREATED").count() == 1
    deliver(deployed, sub(order, market.cedar))
    instance.is_completed()


def test_contact_keeps_waiting_for_the_vendor(deployed, market, support_client):
    order, instance, task = late_cedar(deployed, market)
    support_client.post(
        reverse("tasks:complete", args=[task.key]), {"decision": "contact", "note": "called Cy"}
    )
    deployed.run_handlers()
    instance.has_passed("End_escalated")
    instance.is_waiting_at("Receive_vendor_answer", exactly=False)
    deliver(deployed, sub(order, market.cedar))
    instance.is_completed()


def test_cancel_undoes_only_that_vendors_part(deployed, market, support_client):
    order, instance, task = late_cedar(deployed, market)
    response = support_client.post(
        reverse("tasks:complete", args=[task.key]),
        {"decision": "cancel", "note": "vendor unreachable for 2 days"},
        follow=True,
    )
    assert "is cancelled" in response.content.decode()
    deployed.run_handlers()
    cedar = sub(order, market.cedar)
    assert cedar.status == VendorSubOrder.S.REJECTED
    assert "Cancelled by support" in cedar.reason
    assert Refund.objects.filter(sub_order=cedar).count() == 1
    instance.is_completed()
    order.refresh_from_db()
    assert order.status == Order.S.COMPLETED
