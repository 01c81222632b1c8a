"""``{% customs_panel order %}``: the order's international shipments (customs status, duties and
taxes with their rules, documents, where each parcel is)."""

from __future__ import annotations

from typing import Any

from django import template

from orders.customs.selectors import shipments_of_order

register = template.Library()


@register.inclusion_tag("customs/_order_customs.html")
def customs_panel(order: Any) -> dict[str, Any]:
    return {"shipments": shipments_of_order(order)}
