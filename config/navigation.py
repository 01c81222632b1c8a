"""The navigation each role sees. Apps add entries here; a URL name not yet routed is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from .roles import MANAGERS, SUPPORT, VENDORS, WAREHOUSE, user_roles


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]


STAFF = frozenset({SUPPORT, WAREHOUSE, MANAGERS})

NAV_ITEMS: list[NavItem] = [
    NavItem("Dashboard", "home", STAFF),
    NavItem("Orders", "orders:list", frozenset({SUPPORT, MANAGERS})),
    NavItem("Tasks", "tasks:list", STAFF),
    NavItem("Returns", "returns:list", frozenset({SUPPORT, WAREHOUSE, MANAGERS})),
    NavItem("Incidents", "incidents:list", frozenset({SUPPORT, MANAGERS})),
    NavItem("Processes", "processes:list", frozenset({MANAGERS})),
    NavItem("Catalog", "vendors:catalog", STAFF),
    NavItem("Vendor portal", "vendor_portal:home", frozenset({VENDORS})),
]


def nav_for(user: Any, current_path: str = "") -> list[dict[str, Any]]:
    roles = user_roles(user)
    items = []
    for item in NAV_ITEMS:
        if not roles & item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        active = current_path == url or (url != "/" and current_path.startswith(url))
        items.append({"label": item.label, "url": url, "active": active})
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: ``nav_items`` and ``user_roles`` for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role_names": []}
    return {
        "nav_items": nav_for(user, request.path),
        "user_role_names": sorted(user_roles(user)),
    }
