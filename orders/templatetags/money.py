"""``{{ amount_minor|money:currency }}``: integer minor units shown as an amount."""

from __future__ import annotations

from django import template

from core.money import format_money

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str = "EUR") -> str:
    if amount_minor is None or amount_minor == "":
        return "—"
    return format_money(int(amount_minor), currency)
