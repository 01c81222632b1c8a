"""Back-office display filters: one date format in the user's zone, JSON as Operate shows it,
plain words for the engine's incident types.

``{{ order.created_at|when }}`` renders ``<time datetime="…">2 Dec 2026, 15:04</time>`` in the
active time zone (the browser's, see ``config.middleware``); ``|when:"short"`` leaves out the
year for this year's dates.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from processes.selectors import error_type_words

register = template.Library()

FULL = "j M Y, H:i"
SHORT = "j M, H:i"


@register.filter
def when(value: dt.datetime | dt.date | None, style: str = "") -> SafeString | str:
    if not value:
        return "—"
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        same_year = local.year == timezone.localtime().year
        shown = date_format(local, SHORT if style == "short" and same_year else FULL)
        return format_html('<time datetime="{}">{}</time>', local.isoformat(), shown)
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), date_format(value, "j M Y")
    )


@register.filter
def pretty_json(value: Any) -> str:
    """A variable's value as JSON, indented (what Camunda Operate's variables panel shows)."""
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def error_words(error_type: str) -> str:
    return error_type_words(str(error_type))


@register.filter
def lookup(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key, "")
