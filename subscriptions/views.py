"""Back-office subscription pages: the list (with where each one stands in dunning), one
subscription with its invoices, attempts, e-mails and workflow, staff actions, and the managers'
dunning overview."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from config.roles import MANAGERS, SUPPORT, has_role, role_required
from core.errors import ApplicationError
from processes import selectors as process_selectors
from processes.views import instance_context

from . import selectors, services
from .models import Subscription, SubscriptionStatus

subscriptions_staff = role_required(SUPPORT, MANAGERS)
managers_only = role_required(MANAGERS)

# Who may do what: support works the dunning queue, managers also end subscriptions.
ACTION_ROLES = {
    "retry_now": (SUPPORT, MANAGERS),
    "pause": (SUPPORT, MANAGERS),
    "resume": (SUPPORT, MANAGERS),
    "cancel_at_period_end": (MANAGERS,),
    "cancel_now": (MANAGERS,),
}


def _allowed_actions(request: HttpRequest, subscription: Subscription) -> list[str]:
    S = Subscription.S
    possible = {
        "retry_now": subscription.status == S.PAST_DUE,
        "pause": subscription.status in (S.ACTIVE, S.TRIALING),
        "resume": subscription.status == S.PAUSED,
        "cancel_at_period_end": subscription.status in (S.ACTIVE, S.TRIALING)
        and not subscription.cancel_at_period_end,
        "cancel_now": subscription.status != S.CANCELED,
    }
    return [
        name for name, ok in possible.items() if ok and has_role(request.user, *ACTION_ROLES[name])
    ]


@require_GET
@subscriptions_staff
def subscription_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    q = request.GET.get("q", "").strip()
    plan = request.GET.get("plan", "")
    in_dunning = request.GET.get("dunning") == "1"
    rows = selectors.subscription_list(status=status, q=q, plan=plan, in_dunning=in_dunning)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    for subscription in page.object_list:
        subscription.dunning = (
            selectors.dunning_state(subscription)
            if subscription.status == SubscriptionStatus.PAST_DUE
            else None
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "subscriptions/subscription_list.html",
        {
            "page": page,
            "statuses": SubscriptionStatus.choices,
            "plans": selectors.plans(),
            "status": status,
            "q": q,
            "plan": plan,
            "in_dunning": in_dunning,
            "query": query.urlencode(),
            "is_manager": has_role(request.user, MANAGERS),
        },
    )


def _subscription(number: str) -> Subscription:
    subscription = (
        Subscription.objects.select_related("plan", "customer", "payment_method")
        .filter(number=number)
        .first()
    )
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


@require_GET
@subscriptions_staff
def subscription_detail(request: HttpRequest, number: str) -> HttpResponse:
    subscription = _subscription(number)
    invoices = list(subscription.invoices.prefetch_related("attempts", "emails"))
    context = {
        "sub": subscription,
        "invoices": invoices,
        "dunning": selectors.dunning_state(subscription),
        "history": subscription.history.all()[:100],
        "actions": _allowed_actions(request, subscription),
    }
    instance_key = next((i.process_instance_key for i in invoices if i.process_instance_key), None)
    detail = process_selectors.instance_detail(instance_key) if instance_key else None
    if detail is not None:
        context.update(instance_context(request, detail))
    if request.htmx and detail is not None:
        return render(request, "processes/instance_detail.html#workflow", context)
    return render(request, "subscriptions/subscription_detail.html", context)


@require_POST
@subscriptions_staff
def subscription_action(request: HttpRequest, number: str) -> HttpResponse:
    subscription = _subscription(number)
    action = request.POST.get("action", "")
    if action not in ACTION_ROLES:
        messages.error(request, "Unknown action.")
    elif not has_role(request.user, *ACTION_ROLES[action]):
        return HttpResponse("Your role may not do this.", status=403)
    else:
        try:
            done = _act(request, subscription, action)
        except ApplicationError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, done)
    url = reverse("subscriptions:detail", args=[number])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _act(request: HttpRequest, subscription: Subscription, action: str) -> str:
    user = request.user
    if action == "retry_now":
        services.subscription_retry_now(subscription=subscription, user=user)
        return "Retrying the payment now."
    if action == "pause":
        raw = request.POST.get("resume_on", "").strip()
        try:
            resume_on = dt.date.fromisoformat(raw) if raw else None
        except ValueError as error:
            raise ApplicationError("Give the resume date as YYYY-MM-DD.") from error
        services.subscription_pause(subscription=subscription, user=user, resume_on=resume_on)
        return "Paused." + (f" Resumes on {resume_on:%d %b %Y}." if resume_on else "")
    if action == "resume":
        services.subscription_resume(subscription=subscription, user=user)
        return "Resumed."
    if action == "cancel_at_period_end":
        services.subscription_cancel(subscription=subscription, user=user, at_period_end=True)
        return "Will end at the end of the current period."
    services.subscription_cancel(
        subscription=subscription, user=user, reason=request.POST.get("reason", "")[:200]
    )
    return "Canceled."


@require_GET
@managers_only
def dunning_overview(request: HttpRequest) -> HttpResponse:
    overview = selectors.dunning_overview()
    bars = []
    width, gap, height = 90, 30, 160
    top = max(overview.max_count, 1)
    for i, (attempt, count) in enumerate(overview.by_attempt):
        bar_height = round(height * count / top)
        bars.append(
            {
                "x": 40 + i * (width + gap),
                "y": 20 + height - bar_height,
                "height": bar_height,
                "width": width,
                "label": f"after attempt {attempt}",
                "count": count,
            }
        )
    return render(
        request,
        "subscriptions/dunning_overview.html",
        {
            "overview": overview,
            "bars": bars,
            "chart_width": 40 + len(bars) * (width + gap),
            "chart_height": height + 60,
            "baseline": 20 + height,
        },
    )


def invoice_link(business_key: str) -> str | None:
    """Renewal instances are keyed by invoice number, ``INV-<subscription>-<date>``."""
    if business_key.startswith("INV-SUB-"):
        number = business_key.removeprefix("INV-").rsplit("-", 1)[0]
        return reverse("subscriptions:detail", args=[number])
    return None
