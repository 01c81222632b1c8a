"""Commission splits and allocations add up exactly, with half-up rounding done once."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from core.money import (
    allocate,
    format_currency,
    format_money,
    round_half_up_div,
    split_commission,
)
from orders.templatetags.money import money as money_filter


@pytest.mark.parametrize(
    ("amount", "rate_bp", "commission"),
    [
        (10_000, 1500, 1500),
        (12_900, 1500, 1935),
        (1, 1500, 0),  # 0.15 -> 0
        (10, 1500, 2),  # 1.5 -> 2 (half-up)
        (30, 1500, 5),  # 4.5 -> 5 (half-up, not banker's 4)
        (3333, 1234, 411),  # 411.2922 -> 411
        (0, 1500, 0),
        (999, 0, 0),
        (999, 10_000, 999),
    ],
)
def test_split_commission_rounds_half_up_and_payout_is_the_remainder(amount, rate_bp, commission):
    split = split_commission(amount_minor=amount, rate_bp=rate_bp)

    assert split.commission_minor == commission
    assert split.payout_minor == amount - commission
    assert split.commission_minor + split.payout_minor == amount


@pytest.mark.parametrize("rate_bp", [-1, 10_001])
def test_split_commission_refuses_rates_outside_0_to_100_percent(rate_bp):
    with pytest.raises(ValueError):
        split_commission(amount_minor=100, rate_bp=rate_bp)


def test_round_half_up_div():
    assert round_half_up_div(5, 10) == 1
    assert round_half_up_div(4, 10) == 0
    assert round_half_up_div(15, 10) == 2
    assert round_half_up_div(25, 10) == 3


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (995, [12_900, 3_490, 24_900], [311, 84, 600]),
        (0, [5, 7], [0, 0]),
        (7, [0, 0], [4, 3]),
        (1, [1, 1], [1, 0]),
    ],
)
def test_allocate_parts_add_up_to_the_total(total, weights, expected):
    parts = allocate(total_minor=total, weights=weights)

    assert parts == expected
    assert sum(parts) == total


def test_format_money_uses_the_currency_exponent():
    assert format_money(12345, "EUR") == "123.45 EUR"
    assert format_money(-5, "EUR") == "-0.05 EUR"
    assert format_money(1500, "JPY") == "1500 JPY"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1290, "EUR", "€12.90"),
        (123456789, "EUR", "€1,234,567.89"),
        (1500, "JPY", "¥1,500"),  # no minor unit: 1500 is fifteen hundred yen
        (1234, "KWD", "KWD1.234"),  # three decimals: 1234 fils
        (-1290, "EUR", "-€12.90"),
        (-5, "EUR", "-€0.05"),
        (0, "USD", "$0.00"),
    ],
)
def test_money_filter_shows_currency_format_with_the_currency_exponent(amount, currency, shown):
    assert money_filter(amount, currency) == shown
    assert format_currency(amount, currency) == shown


def test_money_filter_shows_a_dash_for_no_amount():
    assert money_filter(None, "EUR") == "—"
    assert money_filter("", "EUR") == "—"


def test_money_filter_follows_the_site_language(settings):
    settings.LANGUAGE_CODE = "de-de"
    assert money_filter(1290, "EUR") == "12,90\xa0€"
    assert money_filter(-1500, "JPY") == "-1.500\xa0¥"


def test_templates_render_money_through_the_filter_and_the_portal_tag():
    rendered = Template(
        "{% load money %}{{ a|money:'EUR' }} {{ b|money:'JPY' }} {{ none|money:'EUR' }}"
    ).render(Context({"a": 12900, "b": 1500, "none": None}))
    assert rendered == "€129.00 ¥1,500 —"
    portal = Template("{% load vendor_money %}[{% money a 'KWD' %}][{% money none 'EUR' %}]")
    assert portal.render(Context({"a": -1001, "none": None})) == "[-KWD1.001][]"
