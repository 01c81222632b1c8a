"""Back-office return pages: the list with filters and queues, and a return with its workflow."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from config.roles import MANAGERS, SUPPORT, WAREHOUSE, has_role, role_required
from core.errors import ApplicationError
from orders.models import Charge, Order
from processes import selectors as process_selectors
from processes.port import UserTask
from processes.views import instance_context

from . import actions, selectors
from .models import RefundMethod, ReturnReason, ReturnRequest, ReturnStatus
from .services import ReturnLineInput, return_item_receive, return_request_create

returns_staff = role_required(SUPPORT, WAREHOUSE, MANAGERS)
return_starters = role_required(SUPPORT, MANAGERS)
parcel_desk = role_required(WAREHOUSE, MANAGERS)


def _queue_tasks(request: HttpRequest) -> list[tuple[str, list[UserTask]]]:
    """Open tasks of the return queues the user works on (support reviews, manager approvals)."""
    queues = []
    for role, form_key, title in (
        (SUPPORT, selectors.REVIEW_FORM, "Review queue"),
        (WAREHOUSE, selectors.INSPECTION_FORM, "Inspection queue"),
        (MANAGERS, selectors.APPROVAL_FORM, "Refund approvals"),
    ):
        if has_role(request.user, role):
            tasks = process_selectors.open_tasks_for(user=request.user, form_key=form_key)
            queues.append((title, tasks))
    return queues


@require_GET
@returns_staff
def return_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    q = request.GET.get("q", "").strip()
    flagged = request.GET.get("flagged") == "1"
    returns = selectors.return_list(status=status, q=q, flagged=flagged)
    page = Paginator(returns, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "returns/return_list.html",
        {
            "page": page,
            "statuses": ReturnStatus.choices,
            "status": status,
            "q": q,
            "flagged": flagged,
            "queues": _queue_tasks(request),
            "query": query.urlencode(),
        },
    )


@require_GET
@returns_staff
def return_detail(request: HttpRequest, number: str) -> HttpResponse:
    return_request = (
        ReturnRequest.objects.select_related(
            "order", "customer", "requested_by", "reviewed_by", "policy"
        )
        .filter(number=number)
        .first()
    )
    if return_request is None:
        raise Http404("No such return.")
    context = {
        "ret": return_request,
        "lines": return_request.lines.select_related("order_line"),
        "assessment": getattr(return_request, "fraud_assessment", None),
        "label": getattr(return_request, "label", None),
        "inspection": getattr(return_request, "inspection", None),
        "refund": getattr(return_request, "refund", None),
        "adjustments": return_request.vendor_adjustments.select_related("sub_order__vendor"),
        "charge": Charge.objects.filter(order=return_request.order).first(),
        "history": return_request.history.all(),
        "status_labels": dict(ReturnStatus.choices),
        "store_credit": selectors.store_credit_balance(
            customer=return_request.customer, currency=return_request.currency
        ),
    }
    detail = (
        process_selectors.instance_detail(return_request.process_instance_key)
        if return_request.process_instance_key
        else None
    )
    if detail is not None:
        context.update(instance_context(request, detail))
    if request.htmx and detail is not None:
        return render(request, "processes/instance_detail.html#workflow", context)
    return render(request, "returns/return_detail.html", context)


def return_link(business_key: str) -> str | None:
    """Business keys of return processes are return numbers."""
    if business_key.startswith("RET-"):
        return reverse("returns:detail", args=[business_key])
    return None


return_link.roles = (SUPPORT, WAREHOUSE, MANAGERS)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ starting one
@require_http_methods(["GET", "POST"])
@return_starters
def return_start(request: HttpRequest, number: str) -> HttpResponse:
    """Support starts a return for a customer: lines and quantities, reason, refund method."""
    order = Order.objects.select_related("customer").filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    returnable = actions.returnable_lines(order)
    chosen: dict[int, int] = {}
    errors: list[str] = []
    values = {"reason": "", "refund_method": RefundMethod.ORIGINAL, "comment": ""}
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        for item in returnable:
            raw = request.POST.get(f"qty-{item.line.pk}", "0").strip() or "0"
            try:
                quantity = int(raw)
            except ValueError:
                errors.append(f"{item.line.name}: the quantity must be a whole number.")
                continue
            if not 0 <= quantity <= item.left:
                errors.append(f"{item.line.name}: between 0 and {item.left} can be returned.")
            elif quantity:
                chosen[item.line.pk] = quantity
        if not chosen and not errors:
            errors.append("Choose at least one item to return.")
        if values["reason"] not in ReturnReason.values:
            errors.append("Choose why the customer returns the items.")
        if values["refund_method"] not in RefundMethod.values:
            errors.append("Choose how the customer is refunded.")
        if not errors:
            by_id = {item.line.pk: item.line for item in returnable}
            try:
                created, _ = return_request_create(
                    order=order,
                    lines=[ReturnLineInput(by_id[pk].sku, qty) for pk, qty in chosen.items()],
                    reason=values["reason"],
                    refund_method=values["refund_method"],
                    comment=values["comment"],
                    user=request.user,
                )
            except ApplicationError as error:
                errors.append(error.message)
            else:
                messages.success(
                    request,
                    f"Return {created.number} started for {order.customer.name}: the request is "
                    "checked now, then a return label goes to the customer.",
                )
                return redirect("returns:detail", number=created.number)
    return render(
        request,
        "returns/return_start.html",
        {
            "order": order,
            "returnable": returnable,
            "chosen": chosen,
            "errors": errors,
            "values": values,
            "reasons": ReturnReason.choices,
            "refund_methods": RefundMethod.choices,
        },
        status=400 if errors else 200,
    )


# ------------------------------------------------------------------------------ parcel desk
@require_http_methods(["GET", "POST"])
@parcel_desk
def parcel_arrival(request: HttpRequest) -> HttpResponse:
    """The warehouse records that a return parcel arrived (scan or type the return number)."""
    code = ""
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        found = actions.find_awaited_return(code)
        if not code:
            messages.error(request, "Scan or type the return number on the parcel.")
        elif found is None:
            messages.error(request, f"No return has the number or tracking number “{code}”.")
        elif found.item_received_at is not None:
            messages.info(
                request, f"{found.number} was recorded as arrived already; nothing changed."
            )
            code = ""
        else:
            try:
                return_item_receive(return_request=found, actor=request.user.get_username())
            except ApplicationError as error:
                messages.error(request, f"{found.number}: {error.message}")
            else:
                messages.success(
                    request,
                    f"{found.number} arrived ({found.customer.name}, order {found.order.number})."
                    + (" It waits for inspection." if found.inspection_required else ""),
                )
                code = ""
        return redirect(reverse("returns:arrivals") + (f"?code={code}" if code else ""))
    awaited = (
        ReturnRequest.objects.filter(status=ReturnStatus.AWAITING_ITEM)
        .select_related("customer", "order", "label")
        .order_by("created_at")
    )
    recent = (
        ReturnRequest.objects.filter(item_received_at__isnull=False)
        .select_related("customer", "order")
        .order_by("-item_received_at")[:10]
    )
    page = Paginator(awaited, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "returns/parcel_arrival.html",
        {"page": page, "recent": recent, "code": request.GET.get("code", "")},
    )
