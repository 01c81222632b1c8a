"""``{{ order.status|status_style:"order" }}``: the CSS style (ok, warn, bad) of a status.

One table per kind of object (an app adds its own); a status that is not listed is still in
progress (``warn``).
"""

from __future__ import annotations

from django import template

register = template.Library()

OK, WARN, BAD = "ok", "warn", "bad"

STYLES: dict[str, dict[str, str]] = {
    "order": {"completed": OK, "payment_declined": BAD, "cancelled": BAD},
    "return": {"completed": OK, "refunded": OK, "rejected": BAD, "expired": BAD},
}


@register.filter
def status_style(status: str, kind: str) -> str:
    if kind not in STYLES:
        raise template.TemplateSyntaxError(f"status_style: unknown kind {kind!r}")
    return STYLES[kind].get(str(status), WARN)
