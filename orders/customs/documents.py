"""The commercial invoice and the certificate of origin: one template each, rendered as HTML
for the browser and, from the same template's ``document`` partial, as PDF with fpdf2."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.template.loader import render_to_string
from fpdf import FPDF

from core.money import format_money

from .models import CustomsDocument, InternationalShipment

TEMPLATES = {
    CustomsDocument.INVOICE: "customs/commercial_invoice.html",
    CustomsDocument.ORIGIN: "customs/certificate_of_origin.html",
}
REASON_FOR_EXPORT = "Sale of goods (e-commerce order)"


def _address(parts: dict[str, Any]) -> str:
    keys = ("line1", "line2", "postcode", "city", "region", "country")
    return ", ".join(str(parts[k]) for k in keys if parts.get(k))


def invoice_context(shipment: InternationalShipment) -> dict[str, Any]:
    """Every field the commercial invoice carries, as plain values."""
    order, sub_order = shipment.order, shipment.sub_order
    vendor = sub_order.vendor
    exporter = getattr(vendor, "exporter", None)
    address = order.shipping_address or {}
    lines = []
    for line in sub_order.lines.select_related("product").order_by("id"):
        product = line.product
        lines.append(
            {
                "description": line.name,
                "sku": line.sku,
                "hs_code": product.hs_code,
                "origin": product.origin_country,
                "quantity": line.quantity,
                "net_weight_grams": product.weight_grams * line.quantity,
                "unit_minor": line.unit_price_minor,
                "total_minor": line.total_minor,
                "unit": format_money(line.unit_price_minor, shipment.currency),
                "total": format_money(line.total_minor, shipment.currency),
            }
        )
    invoice = shipment.documents.filter(kind=CustomsDocument.INVOICE).first()
    return {
        "shipment": shipment,
        "title": "Commercial invoice",
        "number": invoice.number if invoice else "(not issued yet)",
        "date": invoice.issued_on if invoice else None,
        "exporter": {
            "name": exporter.legal_name if exporter else vendor.name,
            "address": exporter.address if exporter else "",
            "country": shipment.origin_country,
            "tax_id": exporter.tax_id if exporter else "",
        },
        "importer": {
            "name": address.get("name") or order.customer.name,
            "address": _address(address),
            "country": shipment.destination_country,
            "tax_id": address.get("tax_id", ""),
        },
        "order_number": order.number,
        "lines": lines,
        "currency": shipment.currency,
        "goods_total": format_money(shipment.goods_value_minor, shipment.currency),
        "freight": format_money(shipment.freight_minor, shipment.currency),
        "insurance": format_money(shipment.insurance_minor, shipment.currency),
        "invoice_total": format_money(shipment.customs_value_minor, shipment.currency),
        "net_weight_kg": f"{shipment.net_weight_grams / 1000:.3f}",
        "gross_weight_kg": f"{shipment.gross_weight_grams / 1000:.3f}",
        "incoterm": shipment.incoterm,
        "incoterm_place": shipment.incoterm_place,
        "duties_payer": "seller (DDP)" if shipment.incoterm == "DDP" else "buyer (DAP)",
        "reason_for_export": REASON_FOR_EXPORT,
        "certificate": shipment.documents.filter(kind=CustomsDocument.ORIGIN).first(),
    }


def document_html(shipment: InternationalShipment, kind: str, *, fragment: bool = False) -> str:
    name = TEMPLATES[kind] + ("#document" if fragment else "")
    return render_to_string(name, invoice_context(shipment))


def _latin1(text: str) -> str:
    # The PDF's built-in fonts cover Latin-1 only: fold accents and dashes rather than fail.
    text = text.replace("\u2014", "-").replace("\u2013", "-").replace("\u00a0", " ")
    folded = []
    for char in text:
        if ord(char) < 256:
            folded.append(char)
        else:
            base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode()
            folded.append(base or "?")
    return "".join(folded)


def document_pdf(shipment: InternationalShipment, kind: str) -> bytes:
    """The document as PDF, from the same template as the HTML page."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"{dict(CustomsDocument._meta.get_field('kind').choices or [])[kind]}"))
    pdf.set_author("Orderly")
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.write_html(_latin1(document_html(shipment, kind, fragment=True)))
    return bytes(pdf.output())
