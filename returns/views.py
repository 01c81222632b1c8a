"""Back-office return pages: the list with filters and queues, and a return with its workflow."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from config.roles import MANAGERS, SUPPORT, WAREHOUSE, has_role, role_required
from orders.models import Charge
from processes import selectors as process_selectors
from processes.port import UserTask
from processes.views import instance_context

from . import selectors
from .models import ReturnRequest, ReturnStatus

returns_staff = role_required(SUPPORT, WAREHOUSE, MANAGERS)


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
