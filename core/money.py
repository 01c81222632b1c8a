"""Money maths in integer minor units: commission splits and exact allocations.

Rounding is half-up to the minor unit, done once per split; the remainder goes to the other part
so that the parts always add up to the whole (payout = amount - commission).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern
from babel.numbers import format_currency as babel_format_currency
from django.conf import settings
from django.utils.translation import to_locale

BASIS_POINTS = 10_000

# ISO 4217 minor-unit exponents other than 2 (display only: amounts are stored in minor units).
_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3}


@dataclass(frozen=True)
class CommissionSplit:
    """A vendor amount split into the platform's commission and the vendor's payout."""

    amount_minor: int
    rate_bp: int
    commission_minor: int
    payout_minor: int


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("half-up division needs a non-negative numerator and positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def split_commission(*, amount_minor: int, rate_bp: int) -> CommissionSplit:
    """Commission = amount x rate rounded half-up once; payout is the exact remainder."""
    if amount_minor < 0:
        raise ValueError("amount must not be negative")
    if not 0 <= rate_bp <= BASIS_POINTS:
        raise ValueError("commission rate must be between 0 and 10000 basis points")
    commission = round_half_up_div(amount_minor * rate_bp, BASIS_POINTS)
    return CommissionSplit(amount_minor, rate_bp, commission, amount_minor - commission)


def allocate(*, total_minor: int, weights: list[int]) -> list[int]:
    """Share ``total_minor`` in proportion to ``weights``; the parts add up to the total exactly.

    Largest-remainder method: every part gets its floor, the left-over units go to the parts with
    the largest remainders (ties: the earlier part), so the result is deterministic.
    """
    if total_minor < 0 or any(w < 0 for w in weights):
        raise ValueError("allocation needs non-negative amounts")
    if not weights:
        if total_minor:
            raise ValueError("cannot allocate an amount to nothing")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights, weight_sum = [1] * len(weights), len(weights)
    parts = [total_minor * w // weight_sum for w in weights]
    remainders = [total_minor * w % weight_sum for w in weights]
    left = total_minor - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        parts[index] += 1
    return parts


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (ISO 4217): JPY 0, EUR 2, KWD 3."""
    return _EXPONENTS.get(currency.upper(), 2)


@lru_cache(maxsize=32)
def _currency_pattern(language_code: str, exponent: int) -> tuple[Locale, NumberPattern]:
    """The locale's standard currency pattern with exactly ``exponent`` fraction digits.

    The digits follow the exponent amounts are stored with, not the locale data's own digits
    for the currency (which may differ), so a stored amount is never rounded for display.
    """
    locale = Locale.parse(to_locale(language_code))
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (exponent, exponent)
    return locale, pattern


def format_currency(amount_minor: int, currency: str) -> str:
    """``1290, "EUR"`` -> ``"€12.90"`` in the site's locale (``LANGUAGE_CODE``), with the
    currency's own minor-unit exponent (``1500, "JPY"`` -> ``"¥1,500"``). For pages."""
    code = currency.upper()
    exponent = minor_unit_exponent(code)
    locale, pattern = _currency_pattern(settings.LANGUAGE_CODE, exponent)
    amount = Decimal(int(amount_minor)).scaleb(-exponent)
    return babel_format_currency(amount, code, format=pattern, locale=locale, currency_digits=False)


def format_money(amount_minor: int, currency: str) -> str:
    """``12345, "EUR"`` -> ``"123.45 EUR"``: the ISO form kept for documents and e-mails (pages
    use ``format_currency``; never parse either back)."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    value = abs(amount_minor)
    if exponent == 0:
        return f"{sign}{value} {currency}"
    major, minor = divmod(value, 10**exponent)
    return f"{sign}{major}.{minor:0{exponent}d} {currency}"
