"""Back-office pages for customs: a shipment with its duties, documents and tracking; the
support queue of held shipments; the managers' editor for restrictions, rules and rates."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from config.roles import MANAGERS, SUPPORT, role_required

from . import documents, selectors, services
from .forms import EDITABLE
from .models import (
    CurrencyRate,
    CustomsDocument,
    DutyTaxRule,
    ExportRestriction,
    InternationalShipment,
    OriginCertificateRule,
)

customs_staff = role_required(SUPPORT, MANAGERS)
managers_only = role_required(MANAGERS)


def shipment_link(business_key: str) -> str | None:
    """Business keys of international shipments are shipment numbers."""
    if business_key.startswith("SHP-"):
        return reverse("customs:shipment", args=[business_key])
    return None


def _shipment(number: str) -> InternationalShipment:
    shipment = (
        InternationalShipment.objects.select_related("order__customer", "sub_order__vendor")
        .filter(number=number)
        .first()
    )
    if shipment is None:
        raise Http404("No such shipment.")
    return shipment


@require_GET
@customs_staff
def shipment_detail(request: HttpRequest, number: str) -> HttpResponse:
    shipment = _shipment(number)
    return render(
        request,
        "customs/shipment_detail.html",
        {
            "shipment": shipment,
            "lines": shipment.duty_lines.select_related("rule"),
            "conversions": shipment.conversions.all(),
            "documents": shipment.documents.all(),
            "events": selectors.shipment_event_rows(shipment),
        },
    )


@require_GET
@customs_staff
def shipment_document(request: HttpRequest, number: str, kind: str, fmt: str) -> HttpResponse:
    shipment = _shipment(number)
    if kind not in documents.TEMPLATES:
        raise Http404("No such document.")
    if not shipment.documents.filter(kind=kind).exists():
        raise Http404("This document has not been issued.")
    if fmt == "pdf":
        response = HttpResponse(documents.document_pdf(shipment, kind), "application/pdf")
        name = shipment.documents.get(kind=kind).number
        response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
        return response
    return HttpResponse(documents.document_html(shipment, kind))


@require_GET
@customs_staff
def customs_queue(request: HttpRequest) -> HttpResponse:
    return render(request, "customs/queue.html", {"rows": selectors.queue_rows()})


@require_GET
@managers_only
def rules_overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "customs/rules.html",
        {
            "restrictions": ExportRestriction.objects.all(),
            "rules": DutyTaxRule.objects.select_related("territory"),
            "origin_rules": OriginCertificateRule.objects.all(),
            "rates": CurrencyRate.objects.all()[:60],
            "audit": selectors.audit_trail(),
        },
    )


@require_http_methods(["GET", "POST"])
@managers_only
def rule_edit(request: HttpRequest, what: str, pk: int | None = None) -> HttpResponse:
    if what not in EDITABLE:
        raise Http404("Nothing to edit here.")
    model, form_class, title = EDITABLE[what]
    instance = get_object_or_404(model, pk=pk) if pk else None
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST":
        if form.is_valid():
            services.rule_save(form=form, user=request.user)
            messages.success(request, f"{title} saved.")
            return redirect("customs:rules")
        return render(request, "customs/rule_form.html", {"form": form, "title": title}, status=400)
    return render(request, "customs/rule_form.html", {"form": form, "title": title})


DOCUMENT_KINDS = [CustomsDocument.INVOICE, CustomsDocument.ORIGIN]
