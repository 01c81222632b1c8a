"""``{% money amount_minor currency %}``: minor units shown with their currency."""

from __future__ import annotations

from django import template

from core.money import format_money

register = template.Library()


@register.simple_tag
def money(amount_minor: int | None, currency: str) -> str:
    return "" if amount_minor is None else format_money(int(amount_minor), currency)
