"""Fraud indicators one by one (thresholds are rows), the seeded policy, and commission parts."""

from __future__ import annotations

import pytest

from returns import fraud, services
from returns.models import FraudIndicator, ReturnPolicy, ReturnRequest
from returns.selectors import policy_in_force
from vendors.models import VendorSubOrder

from .conftest import delivered_order
from .helpers import loyal


def file_return(order, sku: str, qty: int = 1) -> ReturnRequest:
    return_request, _ = services.return_request_create(
        order=order,
        lines=[services.ReturnLineInput(sku, qty)],
        reason="size",
        user=order.customer.user,
        start_process=False,
    )
    return return_request


def fired(return_request: ReturnRequest) -> dict[str, int]:
    result = fraud.fraud_score(return_request=return_request)
    return {item.code: item.points for item in result.indicators if item.fired}


def test_seeded_policy_and_indicators(db):
    policy = policy_in_force()
    assert (policy.return_window_days, policy.approval_threshold_minor) == (30, 50_000)
    assert (policy.review_score_above, policy.auto_approve_score_below) == (75, 30)
    assert set(FraudIndicator.objects.values_list("code", flat=True)) == {
        "returns-90d",
        "returned-value-90d",
        "returns-today",
        "same-item",
        "return-ratio",
        "days-from-delivery",
        "account-age",
    }


def test_a_newer_policy_row_applies_from_its_date(db):
    from django.utils import timezone

    ReturnPolicy.objects.create(effective_from=timezone.now(), return_window_days=60)
    assert policy_in_force().return_window_days == 60


def test_more_than_two_returns_today_and_always_the_same_item(shop, customer):
    loyal(customer, shop)
    returns = []
    for _ in range(3):
        order = delivered_order(customer=customer, items=[(shop.cable, 1)])
        returns.append(file_return(order, "AA-CBL-3"))

    assert fired(returns[0]) == {}
    assert fired(returns[2]) == {"returns-today": 20, "same-item": 15}


def test_more_than_ten_returns_in_90_days(shop, customer):
    loyal(customer, shop)
    for index in range(11):
        product = shop.cable if index % 2 else shop.headphones
        order = delivered_order(customer=customer, items=[(product, 1)])
        last = file_return(order, product.sku)
    assert "returns-90d" in fired(last)


def test_return_ratio_between_normal_and_suspicious_counts_half(shop, customer):
    # purchases 1,290.00 + 1,290.00; returning 1,290.00 => ratio 0.5: half of 30
    delivered_order(customer=customer, items=[(shop.headphones, 10)])
    order = delivered_order(customer=customer, items=[(shop.headphones, 10)])
    return_request = file_return(order, "AA-HP-100", 10)
    assert fired(return_request) == {"return-ratio": 15}


def test_thresholds_are_data(shop, customer):
    loyal(customer, shop)
    order = delivered_order(customer=customer, items=[(shop.cable, 1)], delivered_days_ago=5)
    return_request = file_return(order, "AA-CBL-3")
    assert fired(return_request) == {}

    FraudIndicator.objects.filter(code="days-from-delivery").update(threshold=3, weight=40)

    assert fired(return_request) == {"days-from-delivery": 40}
    assert fraud.fraud_score(return_request=return_request).route == "inspect"


@pytest.mark.parametrize(("rate_bp", "price", "units"), [(1500, 1_490, 3), (1550, 3_333, 7)])
def test_commission_parts_add_up_to_the_commission_charged(shop, rate_bp, price, units):
    from core.money import split_commission

    split = split_commission(amount_minor=price * units, rate_bp=rate_bp)
    sub_order = VendorSubOrder(
        subtotal_minor=price * units, commission_minor=split.commission_minor
    )
    parts, before = [], 0
    for _ in range(units):  # returned one unit at a time
        parts.append(services._commission_part(sub_order=sub_order, before=before, share=price))
        before += price
    assert sum(parts) == split.commission_minor
    assert all(abs(part * units - split.commission_minor) <= units for part in parts)
