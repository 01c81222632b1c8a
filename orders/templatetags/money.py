"""``{{ amount_minor|money:currency }}``: integer minor units shown in currency format."""

from __future__ import annotations

from django import template

from core.money import format_currency

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str = "EUR") -> str:
    """``{{ 1290|money:"EUR" }}`` -> ``€12.90``; no amount -> ``—``."""
    if amount_minor is None or amount_minor == "":
        return "—"
    return format_currency(int(amount_minor), currency or "EUR")
