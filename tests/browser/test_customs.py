"""Support works a customs hold in the browser: the queue, the task form, the order page."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from core.webhooks import sign
from orders import services as order_services
from orders.customs import seed
from orders.customs.models import (
    CurrencyRate,
    CustomsTerritory,
    DutyTaxRule,
    ExportRestriction,
    InternationalShipment,
)
from orders.payments import sandbox
from processes.engine import service
from processes.models import UserTask
from processes.testing import ProcessTestContext

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BPMN = Path(__file__).resolve().parents[2] / "processes" / "bpmn"
SECRET = "broker-secret-for-browser"


@pytest.fixture
def held_shipment(demo_data, settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.CUSTOMS_BROKER_SECRETS = {"sandbox": SECRET}
    sandbox.reset()
    seed.load(
        territory_model=CustomsTerritory,
        rule_model=DutyTaxRule,
        restriction_model=ExportRestriction,
    )
    CurrencyRate.objects.get_or_create(
        quote="GBP", rate_date=dt.date.today(), source="test", defaults={"rate": Decimal("0.85")}
    )
    harness = ProcessTestContext()
    for name in ("marketplace-order.bpmn", "international-shipment.bpmn"):
        service.deploy_file(str(BPMN / name))
    order = order_services.order_place(
        customer=order_services.CustomerInput("tom@example.com", "Tom Baker", "GB"),
        currency="EUR",
        lines=[order_services.LineInput("acme-audio", "AA-HP-100", 1)],
        payment_method="tok_visa",
        shipping_address={"name": "Tom Baker", "city": "Leeds", "country": "GB"},
    )
    harness.run_handlers()
    shipment = InternationalShipment.objects.get(order=order)
    raw = json.dumps(
        {"id": "b-h1", "type": "customs-update", "shipment": shipment.number, "status": "held",
         "reason": "Proof of value missing", "missing_documents": ["proof of value"]}
    ).encode()  # fmt: skip
    response = Client().post(
        reverse("webhook-customs", args=["sandbox"]), raw, content_type="application/json",
        headers={"X-Orderly-Signature": sign(raw, SECRET)},
    )  # fmt: skip
    assert response.status_code == 200
    harness.run_handlers()
    return harness, order, shipment


def test_support_works_a_customs_hold(browser_page, held_shipment, screenshot):
    harness, order, shipment = held_shipment
    page = browser_page
    sign_in(page, "sam", "demo-support-pass")
    page.get_by_role("link", name="Customs").first.click()
    page.get_by_role("link", name=shipment.number).click()
    assert page.get_by_text("Held by customs").first.is_visible()
    screenshot(page, "customs-shipment-held")

    task = UserTask.objects.get(element_id="UserTask_customs_hold", state=UserTask.CREATED)
    page.goto(page.base_url + reverse("tasks:detail", args=[task.key]))
    page.get_by_role("button", name="Claim").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("Documents provided: send them to the broker and keep waiting").check()
    page.get_by_role("button", name="Complete task").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Name the documents provided.").is_visible()  # validated
    page.get_by_label("Documents provided: send them to the broker and keep waiting").check()
    page.get_by_label("Documents provided", exact=True).fill("proof of value")
    page.get_by_label("Note for the history").fill("Invoice from the vendor attached")
    screenshot(page, "customs-hold-form")
    page.get_by_role("button", name="Complete task").click()
    page.wait_for_load_state("networkidle")
    task.refresh_from_db()
    assert task.state == UserTask.COMPLETED and task.completed_by == "sam"
    harness.run_handlers()
    assert shipment.events.filter(event="documents_sent").count() == 1

    page.goto(page.base_url + reverse("orders:detail", args=[order.number]))
    assert page.get_by_text("UK import VAT").first.is_visible()
    assert page.get_by_role("link", name="PDF").first.is_visible()
    screenshot(page, "customs-order-page")
