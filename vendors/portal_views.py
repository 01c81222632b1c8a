"""The vendor portal: a vendor user sees and acts on only its own vendor's data.

Every view is for the ``vendors`` role and scopes each read by the user's memberships; another
vendor's sub-order is a 404. Actions call the same services as the vendor webhooks.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from config.roles import VENDORS, role_required
from core.errors import ApplicationError
from core.history import actor_of

from . import selectors, services
from .models import Product, SubOrderStatus


@require_GET
@role_required(VENDORS)
def home(request: HttpRequest) -> HttpResponse:
    vendors = list(selectors.vendors_of_user(user=request.user))
    products = Product.objects.filter(vendor__in=vendors).select_related("vendor")
    waiting = selectors.sub_orders_for_user(user=request.user, status=SubOrderStatus.REQUESTED)
    return render(
        request,
        "vendors/portal_home.html",
        {"vendors": vendors, "products": products, "waiting": waiting[:10]},
    )


@require_GET
@role_required(VENDORS)
def sub_order_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in SubOrderStatus.values:
        status = ""
    sub_orders = selectors.sub_orders_for_user(user=request.user, status=status)
    return render(
        request,
        "vendors/portal_sub_orders.html",
        {"sub_orders": sub_orders[:200], "status": status, "statuses": SubOrderStatus.choices},
    )


@require_GET
@role_required(VENDORS)
def sub_order_detail(request: HttpRequest, number: str) -> HttpResponse:
    sub_order = selectors.sub_order_for_user(user=request.user, number=number)
    carriers = services.carriers_active()
    return render(
        request, "vendors/portal_sub_order.html", {"sub_order": sub_order, "carriers": carriers}
    )


def _act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    sub_order = selectors.sub_order_for_user(user=request.user, number=number)
    actor = actor_of(request.user)
    try:
        if action == "accept":
            services.sub_order_accept(sub_order=sub_order, actor=actor)
            messages.success(request, f"You accepted {sub_order.number}.")
        elif action == "reject":
            services.sub_order_reject(
                sub_order=sub_order, reason=request.POST.get("reason", ""), actor=actor
            )
            messages.success(request, f"You rejected {sub_order.number}.")
        else:
            services.sub_order_ship(
                sub_order=sub_order,
                carrier=request.POST.get("carrier", ""),
                tracking_number=request.POST.get("tracking_number", ""),
                actor=actor,
            )
            messages.success(request, f"{sub_order.number} is marked shipped.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("vendor_portal:sub_order", number=sub_order.number)


@require_POST
@role_required(VENDORS)
def sub_order_accept(request: HttpRequest, number: str) -> HttpResponse:
    return _act(request, number, "accept")


@require_POST
@role_required(VENDORS)
def sub_order_reject(request: HttpRequest, number: str) -> HttpResponse:
    return _act(request, number, "reject")


@require_POST
@role_required(VENDORS)
def sub_order_ship(request: HttpRequest, number: str) -> HttpResponse:
    return _act(request, number, "ship")


@require_GET
@role_required(VENDORS)
def payouts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "vendors/portal_payouts.html",
        {
            "holds": selectors.payout_holds_for_user(user=request.user)[:200],
            "payouts": selectors.payouts_for_user(user=request.user)[:200],
        },
    )
