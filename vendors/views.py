"""Staff pages about vendors."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.roles import staff_required

from .selectors import catalog_products


@require_GET
@staff_required
def catalog(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = Paginator(catalog_products(search=search), 50).get_page(request.GET.get("page"))
    return render(request, "vendors/catalog.html", {"page": page, "search": search})
