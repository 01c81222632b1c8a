"""``{% money amount_minor currency %}``: minor units shown in currency format (the same
formatting as the back-office's ``money`` filter)."""

from __future__ import annotations

from django import template

from core.money import format_currency

register = template.Library()


@register.simple_tag
def money(amount_minor: int | None, currency: str) -> str:
    return "" if amount_minor is None else format_currency(int(amount_minor), currency)
