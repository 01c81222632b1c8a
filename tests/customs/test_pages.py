"""Customs pages: the order page's customs panel, documents (HTML and PDF read back), the
support queue, the hold task form and the managers' rules editor with its audit trail."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from config.roles import MANAGERS, SUPPORT
from orders.customs.models import AuditEntry, ExportRestriction
from processes.models import UserTask
from tests.factories import make_user

from .conftest import customs_update, place

pytestmark = pytest.mark.django_db


def client_for(username: str, role: str | None) -> Client:
    client = Client()
    client.force_login(make_user(username, role=role))
    return client


@pytest.fixture
def support() -> Client:
    return client_for("sam", SUPPORT)


@pytest.fixture
def manager() -> Client:
    return client_for("maya", MANAGERS)


@pytest.fixture
def held(deployed, shop):
    order, shipment = place(
        deployed, shop, country="GB", lines=[(shop.headphones, 2), (shop.cable, 1)],
        address={"tax_id": "GB987654321"},
    )  # fmt: skip
    customs_update(Client(), shipment, "held", event_id="h1", missing_documents=["proof of value"])
    deployed.run_handlers()
    shipment.refresh_from_db()
    return order, shipment


def test_order_page_shows_customs_status_duties_with_rules_documents_and_where(support, held):
    order, shipment = held
    page = support.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert shipment.number in page and "Held by customs" in page
    assert "UK import VAT" in page and "UK customs duty" in page
    assert "assessed by the broker" in page and "HMRC" in page
    assert "Commercial invoice" in page and "proof of value" in page
    assert "DAP Springfield, GB" in page


def test_commercial_invoice_html_and_pdf_carry_every_field(support, held):
    _order, shipment = held
    url = reverse("customs:document", args=[shipment.number, "commercial_invoice", "html"])
    html = support.get(url).content.decode()
    pdf = support.get(url.replace(".html", ".pdf"))
    assert pdf["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for doc in (html, text):
        for expected in (
            "Acme Audio GmbH", "DE123456789012345", "Pat Buyer", "GB987654321",
            shipment.invoice_number, "Studio headphones", "851830", "854442", "CN",
            "258.00 EUR", "14.90 EUR", "Freight", "Insurance", "Net weight", "gross weight",
            "DAP Springfield, GB", "Reason for export", "Sale of goods",
        ):  # fmt: skip
            assert expected in doc, expected


def test_documents_need_a_staff_role_and_an_issued_document(held):
    _order, shipment = held
    url = reverse("customs:document", args=[shipment.number, "commercial_invoice", "pdf"])
    assert client_for("vic", None).get(url).status_code == 403
    assert Client().get(url).status_code == 302
    missing = reverse("customs:document", args=[shipment.number, "certificate_of_origin", "pdf"])
    assert client_for("sol", SUPPORT).get(missing).status_code == 404


def test_queue_lists_held_shipments_with_age_and_what_is_missing(support, held):
    _order, shipment = held
    page = support.get(reverse("customs:queue")).content.decode()
    assert shipment.number in page and "proof of value" in page and "Held by customs" in page


def test_hold_form_validates_then_documents_keep_waiting(support, held, deployed):
    _order, shipment = held
    task = UserTask.objects.get(element_id="UserTask_customs_hold", state=UserTask.CREATED)
    page = support.get(reverse("tasks:detail", args=[task.key])).content.decode()
    assert shipment.number in page and "proof of value" in page
    response = support.post(reverse("tasks:complete", args=[task.key]), {"decision": "documents"})
    assert response.status_code == 400 and "Name the documents" in response.content.decode()
    response = support.post(reverse("tasks:complete", args=[task.key]), {"decision": "cancel"})
    assert response.status_code == 400 and "Say why" in response.content.decode()

    support.post(
        reverse("tasks:complete", args=[task.key]),
        {"decision": "documents", "documents": "proof of value"},
    )
    deployed.run_handlers()
    task.refresh_from_db()
    assert task.state == UserTask.COMPLETED and task.completed_by == "sam"
    assert shipment.events.filter(event="documents_sent").count() == 1
    deployed.instance(shipment.process_instance_key).is_waiting_at("Catch_customs_update")


def test_rules_editor_is_for_managers_and_records_who_changed_what(manager, support, db):
    assert support.get(reverse("customs:rules")).status_code == 403
    page = manager.get(reverse("customs:rules")).content.decode()
    assert "Crimea" in page and "EU flat duty on low-value parcels" in page
    response = manager.post(
        reverse("customs:rule-new", args=["restriction"]),
        {"kind": "embargo", "country": "SY", "reason": "Comprehensive embargo: Syria",
         "valid_from": "2026-01-01"},
    )  # fmt: skip
    assert response.status_code == 302
    row = ExportRestriction.objects.get(country="SY")
    assert row.updated_by == "maya"
    bad = manager.post(
        reverse("customs:rule-edit", args=["restriction", row.pk]),
        {"kind": "hs_code", "country": "SY", "reason": "x", "valid_from": "2026-01-01"},
    )
    assert bad.status_code == 400 and "Name the HS code" in bad.content.decode()
    manager.post(
        reverse("customs:rule-edit", args=["restriction", row.pk]),
        {"kind": "embargo", "country": "SY", "reason": "Syria", "valid_from": "2026-01-01",
         "valid_to": "2026-12-31"},
    )  # fmt: skip
    entries = list(AuditEntry.objects.filter(object_id=row.pk).order_by("id"))
    assert [e.action for e in entries] == ["created", "changed"]
    assert entries[1].actor == "maya" and "valid_to" in entries[1].changes
    assert "Syria" in manager.get(reverse("customs:rules")).content.decode()


def test_unknown_country_code_is_refused(manager, db):
    response = manager.post(
        reverse("customs:rule-new", args=["restriction"]),
        {"kind": "embargo", "country": "XX", "reason": "x", "valid_from": "2026-01-01"},
    )
    assert response.status_code == 400 and "ISO 3166" in response.content.decode()


def test_certificate_of_origin_pdf_and_the_shipment_page(deployed, shop, support):
    import datetime as dt

    from orders.customs.models import OriginCertificateRule

    OriginCertificateRule.objects.create(
        destination="CH", reason="Preferential origin", valid_from=dt.date(2020, 1, 1)
    )
    _order, shipment = place(deployed, shop, country="CH", lines=[(shop.cable, 2)])
    shipment.refresh_from_db()
    url = reverse("customs:document", args=[shipment.number, "certificate_of_origin", "pdf"])
    reader = PdfReader(io.BytesIO(support.get(url).content))
    text = reader.pages[0].extract_text()
    assert "Certificate of origin" in text and shipment.certificate_number in text
    assert "Speaker cable 3 m" in text and "CN" in text and "Acme Audio GmbH" in text
    page = support.get(reverse("customs:shipment", args=[shipment.number])).content.decode()
    assert f"Certificate of origin issued ({shipment.certificate_number})" in page
    assert "origin_certificate_issued" not in page and "Swiss import VAT 8.1%" in page
    assert "With the customs broker" in page
