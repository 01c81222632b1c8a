"""Fraud scoring of a return request, explained indicator by indicator.

Indicators and their thresholds and weights are rows (``FraudIndicator``); the score is the sum of
the weights of the indicators that fired, capped at 100. Every indicator is evaluated and stored
with its value, so the review form can show what fired and what did not, and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from orders.models import Order

from .models import COUNTING_STATUSES, FraudIndicator, ReturnLine, ReturnPolicy, ReturnRequest

WINDOW_DAYS = 90
BASIS_POINTS = 10_000


@dataclass(frozen=True)
class IndicatorResult:
    """One evaluated indicator: its measured value against its threshold and what it added."""

    code: str
    name: str
    value: int
    threshold: int
    warn_threshold: int | None
    weight: int
    points: int
    fired: bool
    explanation: str
    value_display: str = ""
    threshold_display: str = ""


@dataclass(frozen=True)
class FraudScore:
    score: int
    route: str  # review | inspect | auto
    indicators: list[IndicatorResult]

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(item) for item in self.indicators]


def _measure(return_request: ReturnRequest) -> dict[str, int]:
    """The customer's figures the indicators compare with their thresholds."""
    customer = return_request.customer
    at = return_request.created_at or timezone.now()
    since = at - dt.timedelta(days=WINDOW_DAYS)
    counted = ReturnRequest.objects.filter(customer=customer, status__in=COUNTING_STATUSES)
    recent = counted.filter(created_at__gte=since, created_at__lte=at)
    others = recent.exclude(pk=return_request.pk)
    day_start = at.replace(hour=0, minute=0, second=0, microsecond=0)

    skus = set(return_request.lines.values_list("order_line__sku", flat=True))
    other_skus = [
        set(skus_of)
        for skus_of in (
            ReturnLine.objects.filter(return_request=other).values_list(
                "order_line__sku", flat=True
            )
            for other in others
        )
    ]
    same_item = len(other_skus) if other_skus and all(s & skus for s in other_skus) else 0

    purchased = (
        Order.objects.filter(customer=customer, status__in=["paid", "completed"]).aggregate(
            total=Sum("subtotal_minor")
        )["total"]
        or 0
    )
    returned_all = counted.aggregate(total=Sum("amount_minor"))["total"] or 0
    if return_request.pk and not counted.filter(pk=return_request.pk).exists():
        returned_all += return_request.amount_minor
    ratio_bp = (returned_all * BASIS_POINTS // purchased) if purchased else BASIS_POINTS

    delivered = [
        d
        for d in return_request.order.sub_orders.filter(
            pk__in=return_request.lines.values("order_line__sub_order")
        ).values_list("delivered_at", flat=True)
        if d is not None
    ]
    days_from_delivery = (at - max(delivered)).days if delivered else 0
    joined = customer.user.date_joined if customer.user is not None else customer.created_at
    return {
        "returns-90d": recent.count()
        if recent.filter(pk=return_request.pk).exists()
        else recent.count() + 1,
        "returned-value-90d": (
            recent.exclude(pk=return_request.pk).aggregate(total=Sum("amount_minor"))["total"] or 0
        )
        + return_request.amount_minor,
        "returns-today": counted.filter(created_at__gte=day_start, created_at__lte=at)
        .exclude(pk=return_request.pk)
        .count()
        + 1,
        "same-item": same_item,
        "return-ratio": ratio_bp,
        "days-from-delivery": days_from_delivery,
        "account-age": max((at - joined).days, 0),
    }


# How values read: ratios are stored in basis points, money in minor units.
_RATIOS = {"return-ratio"}
_MONEY = {"returned-value-90d"}


def _shown(code: str, value: int | None) -> str:
    if value is None:
        return ""
    if code in _RATIOS:
        return f"{value / BASIS_POINTS:.2f}"
    if code in _MONEY:
        major, minor = divmod(value, 100)
        return f"{major:,}.{minor:02d}"
    return str(value)


# Indicators that fire when the value is *below* the threshold (young accounts).
_FIRES_BELOW = {"account-age"}
# Indicators that fire at the threshold, not only above it.
_FIRES_AT = {"same-item", "days-from-delivery"}


def _evaluate(indicator: FraudIndicator, value: int) -> IndicatorResult:
    threshold, code = indicator.threshold, indicator.code
    shown, limit = _shown(code, value), _shown(code, threshold)
    if code in _FIRES_BELOW:
        fired = value < threshold
        how = f"{shown} < {limit}"
    elif code in _FIRES_AT:
        fired = value >= threshold
        how = f"{shown} ≥ {limit}"
    else:
        fired = value > threshold
        how = f"{shown} > {limit}"
    points = indicator.weight if fired else 0
    warn = indicator.warn_threshold
    if not fired and warn is not None and value > warn:
        fired, points = True, indicator.weight // 2
        how = f"{shown} > {_shown(code, warn)}: between normal and suspicious, half weight"
    explanation = how if fired else f"not fired ({shown} against {limit})"
    return IndicatorResult(
        code=indicator.code,
        name=indicator.name,
        value=value,
        threshold=threshold,
        warn_threshold=indicator.warn_threshold,
        weight=indicator.weight,
        points=points,
        fired=fired,
        explanation=explanation,
        value_display=shown,
        threshold_display=limit if warn is None else f"{_shown(code, warn)} / {limit}",
    )


def route_for(score: int, policy: ReturnPolicy) -> str:
    """Above the review cut-off a person reviews; below the auto cut-off it is approved."""
    if score > policy.review_score_above:
        return "review"
    if score < policy.auto_approve_score_below:
        return "auto"
    return "inspect"


def fraud_score(*, return_request: ReturnRequest) -> FraudScore:
    """Evaluate every active indicator for the return (reads only)."""
    values = _measure(return_request)
    results = [
        _evaluate(indicator, values.get(indicator.code, 0))
        for indicator in FraudIndicator.objects.filter(is_active=True).order_by("code")
    ]
    score = min(100, sum(item.points for item in results))
    return FraudScore(score, route_for(score, return_request.policy), results)
