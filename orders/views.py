"""Back-office order pages: the list with workflow status, and the order with its workflow."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_POST

from config.roles import MANAGERS, SUPPORT, has_role, role_required
from processes import selectors as process_selectors
from processes.views import instance_context
from returns import actions as return_actions
from vendors.models import Vendor

from . import actions, pages, selectors
from .models import Order, OrderStatus

order_staff = role_required(SUPPORT, MANAGERS)


def _date(value: str | None) -> dt.date | None:
    return parse_date(value) if value else None


@require_GET
@order_staff
def order_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.OrderFilters(
        status=request.GET.get("status", ""),
        vendor=request.GET.get("vendor", ""),
        waiting_at=request.GET.get("waiting_at", ""),
        has_incident=request.GET.get("has_incident") == "1",
        created_from=_date(request.GET.get("from")),
        created_to=_date(request.GET.get("to")),
        search=request.GET.get("q", "").strip(),
        sort=request.GET.get("sort", "newest"),
    )
    page = selectors.order_page(
        selectors.order_list(filters),
        filters.sort,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    query = request.GET.copy()
    for cursor in ("page", "after", "before"):
        query.pop(cursor, None)
    return render(
        request,
        "orders/order_list.html",
        {
            "rows": selectors.order_rows(page.orders),
            "page": page,
            "filters": filters,
            "statuses": OrderStatus.choices,
            "vendors": Vendor.objects.order_by("name").values_list("handle", "name"),
            "waiting_steps": selectors.waiting_step_choices(),
            "query": query.urlencode(),
        },
    )


@require_GET
@order_staff
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = Order.objects.select_related("customer").filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    detail = (
        process_selectors.instance_detail(order.process_instance_key)
        if order.process_instance_key
        else None
    )
    if request.htmx and detail is not None:
        return render(
            request, "processes/instance_detail.html#workflow", instance_context(request, detail)
        )
    refusal = actions.cancel_refusal(order)
    returnable = return_actions.returnable_lines(order)
    context = {
        "order": order,
        "lines": order.lines.select_related("vendor", "sub_order").order_by("vendor__name", "sku"),
        "sub_orders": order.sub_orders.select_related("vendor").order_by("number"),
        "money": selectors.order_money(order),
        "summary": pages.order_summary(order, user=request.user, detail=detail),
        "timeline": pages.order_timeline(
            order, user=request.user, model=detail.model if detail else None
        ),
        "can_cancel_order": refusal is None,
        # Why not, when someone might expect to cancel (an order still in progress).
        "cancel_note": refusal if order.status in (OrderStatus.RECEIVED, OrderStatus.PAID) else "",
        "can_start_return": bool(returnable) and has_role(request.user, SUPPORT, MANAGERS),
        "returnable_count": len(returnable),
        "returns": order.returns.order_by("-created_at"),
    }
    if detail is not None:
        context.update(instance_context(request, detail))
    return render(request, "orders/order_detail.html", context)


@require_POST
@order_staff
def order_cancel(request: HttpRequest, number: str) -> HttpResponse:
    from core.errors import ApplicationError

    from .services import order_cancel_request

    order = Order.objects.filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, "Say why the order is cancelled.")
        return redirect("orders:detail", number=number)
    refusal = actions.cancel_refusal(order)
    if refusal is not None:
        messages.error(request, refusal)
        return redirect("orders:detail", number=number)
    try:
        order_cancel_request(order=order, reason=reason, user=request.user)
        messages.success(request, "Cancellation requested: everything done is being undone.")
    except ApplicationError as error:
        messages.error(request, str(error))
    return redirect(reverse("orders:detail", args=[number]))


def order_link(business_key: str) -> str | None:
    """Business keys of marketplace orders are order numbers."""
    if business_key.startswith("ORD-"):
        return reverse("orders:detail", args=[business_key])
    return None


order_link.roles = (SUPPORT, MANAGERS)  # type: ignore[attr-defined]
