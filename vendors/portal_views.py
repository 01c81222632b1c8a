"""The vendor portal: a vendor user sees and acts on only its own vendor's data.

Every view is for the ``vendors`` role and scopes each read by the user's memberships; another
vendor's sub-order is a 404. Actions call the same services as the vendor webhooks.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from config.roles import VENDORS, role_required
from core.errors import ApplicationError
from core.history import actor_of

from . import selectors, services
from .models import HoldStatus, PayoutStatus, Product, SubOrderStatus

PAGE_SIZE = 25
ORDER_DECLINED = "payment_declined"  # the order's status when the customer's payment failed


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _totals(sub_orders: Any) -> dict[str, Any] | None:
    """Sums of the listed sub-orders, when they share one currency (no sum across currencies)."""
    currencies = list(sub_orders.order_by().values_list("currency", flat=True).distinct()[:2])
    if len(currencies) != 1:
        return None
    sums = sub_orders.aggregate(subtotal=Sum("subtotal_minor"), payout=Sum("payout_minor"))
    return {**sums, "currency": currencies[0]}


def _reversals(sub_order: Any) -> list[Any]:
    """Why a payout was taken back or a hold reduced: the sub-order's return adjustments (read
    through the reverse relation: vendors does not import the returns app)."""
    return list(sub_order.return_adjustments.select_related("return_request").order_by("pk"))


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
    page = Paginator(sub_orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "vendors/portal_sub_orders.html",
        {
            "page": page,
            "status": status,
            "statuses": SubOrderStatus.choices,
            "totals": _totals(sub_orders),
            "query": _query(request),
            "declined": ORDER_DECLINED,
        },
    )


@require_GET
@role_required(VENDORS)
def sub_order_detail(request: HttpRequest, number: str) -> HttpResponse:
    sub_order = selectors.sub_order_for_user(user=request.user, number=number)
    declined = sub_order.order.status == ORDER_DECLINED
    return render(
        request,
        "vendors/portal_sub_order.html",
        {
            "sub_order": sub_order,
            "carriers": services.carriers_active(),
            "declined": declined,
            # Actions in order: answer a request first, then ship what was accepted.
            "can_answer": sub_order.status == SubOrderStatus.REQUESTED and not declined,
            "can_ship": sub_order.status == SubOrderStatus.ACCEPTED,
            "commission_percent": sub_order.commission_rate_bp / 100,
            "reversals": _reversals(sub_order),
            "payout": getattr(sub_order, "payout", None),
        },
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
    hold_status = request.GET.get("hold_status", "")
    if hold_status not in HoldStatus.values:
        hold_status = ""
    payout_status = request.GET.get("payout_status", "")
    if payout_status not in PayoutStatus.values:
        payout_status = ""
    holds = selectors.payout_holds_for_user(user=request.user)
    if hold_status:
        holds = holds.filter(status=hold_status)
    paid = selectors.payouts_for_user(user=request.user)
    if payout_status:
        paid = paid.filter(status=payout_status)
    hold_page = Paginator(holds, PAGE_SIZE).get_page(request.GET.get("holds_page"))
    payout_page = Paginator(paid, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "vendors/portal_payouts.html",
        {
            "hold_page": hold_page,
            "payout_page": payout_page,
            "payout_rows": [(p, _reversals(p.sub_order)) for p in payout_page],
            # Without a filter, the total is what is held now (not released or cancelled ones).
            "hold_total": (
                holds if hold_status else holds.filter(status=HoldStatus.HELD)
            ).aggregate(total=Sum("amount_minor"))["total"]
            or 0,
            "paid_total": paid.aggregate(total=Sum("amount_minor"))["total"] or 0,
            "reversed_total": paid.aggregate(total=Sum("reversed_minor"))["total"] or 0,
            "hold_status": hold_status,
            "payout_status": payout_status,
            "hold_statuses": HoldStatus.choices,
            "payout_statuses": PayoutStatus.choices,
            "currency": next(
                iter(paid.order_by().values_list("currency", flat=True).distinct()[:1]),
                next(iter(holds.order_by().values_list("currency", flat=True)[:1]), "EUR"),
            ),
            "query": _query(request),
        },
    )
