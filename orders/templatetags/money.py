"""``{{ amount_minor|money:currency }}``: integer minor units shown as an amount."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()

# ISO 4217 minor-unit exponents that differ from 2.
EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3}


@register.filter
def money(amount_minor: int | None, currency: str = "EUR") -> str:
    if amount_minor is None or amount_minor == "":
        return "—"
    exponent = EXPONENTS.get(currency, 2)
    value = Decimal(int(amount_minor)).scaleb(-exponent)
    return f"{value:,.{exponent}f} {currency}"
