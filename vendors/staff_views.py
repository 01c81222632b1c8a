"""Staff pages for the marketplace's data: vendors' settings (managers edit, support reads) and
stock with its adjustments (managers and warehouse)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.roles import MANAGERS, SUPPORT, WAREHOUSE, has_role, role_required
from core.errors import ApplicationError
from core.history import actor_of

from . import services
from .models import Product, StockAdjustment, StockItem, Vendor, VendorEvent
from .services import VENDOR_SETTING_LABELS, percent_from_bp
from .staff_forms import StockAdjustmentForm, VendorSettingsForm
from .stock import stock_adjust

vendor_readers = role_required(MANAGERS, SUPPORT)
managers_only = role_required(MANAGERS)
stock_staff = role_required(MANAGERS, WAREHOUSE)

# The session key holding a new callback secret until its one showing.
SHOW_ONCE_SESSION_KEY = "vendors.shown_once"
PAGE_SIZE = 50


def _history_rows(vendor: Vendor) -> list[dict[str, Any]]:
    return [
        {
            "at": row.at,
            "actor": row.actor,
            "event": row.get_event_display(),
            "setting": VENDOR_SETTING_LABELS.get(row.field, row.field),
            "old": row.old_value,
            "new": row.new_value,
            "rotated": row.event == VendorEvent.SECRET_ROTATED,
        }
        for row in vendor.history.all()[:200]
    ]


# ------------------------------------------------------------------------------ vendors
@require_GET
@vendor_readers
def vendor_list(request: HttpRequest) -> HttpResponse:
    vendors = Vendor.objects.all()
    rows = [{"vendor": v, "commission": percent_from_bp(v.commission_rate_bp)} for v in vendors]
    return render(
        request,
        "vendors/staff/vendor_list.html",
        {"rows": rows, "can_edit": has_role(request.user, MANAGERS)},
    )


@require_http_methods(["GET", "POST"])
@vendor_readers
def vendor_detail(request: HttpRequest, handle: str) -> HttpResponse:
    vendor = get_object_or_404(Vendor, handle=handle)
    can_edit = has_role(request.user, MANAGERS)
    form = VendorSettingsForm.for_vendor(vendor) if can_edit else None
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only managers change a vendor's settings.")
        form = VendorSettingsForm.for_vendor(vendor, request.POST)
        if form.is_valid():
            try:
                changed = services.vendor_settings_update(
                    vendor_id=vendor.pk, settings=form.settings(), actor=actor_of(request.user)
                )
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                if changed:
                    names = ", ".join(VENDOR_SETTING_LABELS[row.field] for row in changed)
                    messages.success(request, f"Saved {vendor.name}: {names} changed.")
                else:
                    messages.info(request, "Nothing was changed.")
                return redirect("vendors:staff-vendor", handle=vendor.handle)
        status = 400
    last_rotation = vendor.history.filter(event=VendorEvent.SECRET_ROTATED).first()
    return render(
        request,
        "vendors/staff/vendor_detail.html",
        {
            "vendor": vendor,
            "commission": percent_from_bp(vendor.commission_rate_bp),
            "form": form,
            "can_edit": can_edit,
            "can_open_stock": has_role(request.user, MANAGERS, WAREHOUSE),
            "last_rotation": last_rotation,
            "history": _history_rows(vendor),
        },
        status=status,
    )


@require_POST
@managers_only
def vendor_rotate_secret(request: HttpRequest, handle: str) -> HttpResponse:
    vendor = get_object_or_404(Vendor, handle=handle)
    secret = services.vendor_callback_secret_rotate(
        vendor_id=vendor.pk, actor=actor_of(request.user)
    )
    # Kept in the session only until the next page shows it (and removes it).
    request.session[SHOW_ONCE_SESSION_KEY] = {"vendor": vendor.handle, "secret": secret}
    return redirect("vendors:staff-vendor-secret", handle=vendor.handle)


@require_GET
@managers_only
def vendor_new_secret(request: HttpRequest, handle: str) -> HttpResponse:
    vendor = get_object_or_404(Vendor, handle=handle)
    shown = request.session.get(SHOW_ONCE_SESSION_KEY)
    if not shown or shown.get("vendor") != vendor.handle:
        messages.info(
            request,
            "A new callback secret is shown only once, right after it is made. "
            "If it was not copied, rotate the secret again.",
        )
        return redirect("vendors:staff-vendor", handle=vendor.handle)
    del request.session[SHOW_ONCE_SESSION_KEY]
    response = render(
        request, "vendors/staff/vendor_secret.html", {"vendor": vendor, "secret": shown["secret"]}
    )
    add_never_cache_headers(response)  # the browser keeps no copy to show again
    return response


# ------------------------------------------------------------------------------ stock
def _stock_products(*, vendor_handle: str, search: str) -> QuerySet[Product]:
    products = Product.objects.select_related("vendor", "stock").order_by("vendor__name", "sku")
    if vendor_handle:
        products = products.filter(vendor__handle=vendor_handle)
    if search:
        products = products.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    return products


@require_GET
@stock_staff
def stock_list(request: HttpRequest) -> HttpResponse:
    vendor_handle = request.GET.get("vendor", "").strip()
    search = request.GET.get("q", "").strip()
    products = _stock_products(vendor_handle=vendor_handle, search=search)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for product in page.object_list:
        stock = getattr(product, "stock", None) or StockItem(product=product)
        rows.append({"product": product, "stock": stock})
    query = {key: value for key, value in (("vendor", vendor_handle), ("q", search)) if value}
    return render(
        request,
        "vendors/staff/stock_list.html",
        {
            "page": page,
            "rows": rows,
            "vendors": Vendor.objects.all(),
            "vendor_handle": vendor_handle,
            "search": search,
            "filter_query": urlencode(query),
        },
    )


@require_http_methods(["GET", "POST"])
@stock_staff
def stock_product(request: HttpRequest, handle: str, sku: str) -> HttpResponse:
    product = get_object_or_404(
        Product.objects.select_related("vendor"), vendor__handle=handle, sku=sku
    )
    form = StockAdjustmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                adjustment = stock_adjust(
                    product_id=product.pk,
                    delta=form.cleaned_data["delta"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    actor=actor_of(request.user),
                )
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(
                    request,
                    f"{product.sku}: {adjustment.delta:+d} ({adjustment.get_reason_display()}), "
                    f"now {adjustment.on_hand_after} on hand.",
                )
                return redirect("vendors:stock-product", handle=handle, sku=sku)
        status = 400
    stock = StockItem.objects.filter(product=product).first() or StockItem(product=product)
    adjustments = StockAdjustment.objects.filter(product=product)[:200]
    return render(
        request,
        "vendors/staff/stock_product.html",
        {
            "product": product,
            "stock": stock,
            "form": form,
            "adjustments": adjustments,
            "can_open_vendor": has_role(request.user, MANAGERS, SUPPORT),
        },
        status=status,
    )
