"""The vendor portal: a vendor user sees only its own vendor's data."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.roles import VENDORS, role_required

from .models import Product
from .selectors import vendors_of_user


@require_GET
@role_required(VENDORS)
def home(request: HttpRequest) -> HttpResponse:
    vendors = list(vendors_of_user(user=request.user))
    products = Product.objects.filter(vendor__in=vendors).select_related("vendor")
    return render(request, "vendors/portal_home.html", {"vendors": vendors, "products": products})
