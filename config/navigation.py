"""The navigation each role sees. Apps add entries here; a URL name not yet routed is skipped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from .roles import MANAGERS, SUPPORT, VENDORS, WAREHOUSE, user_roles


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]
    # Dotted path of ``f(user) -> int | None``: the number shown next to the label (its queue).
    count: str = ""

    def count_for(self, user: Any) -> int | None:
        counter: Callable[[Any], int | None] = import_string(self.count)
        return counter(user)


STAFF = frozenset({SUPPORT, WAREHOUSE, MANAGERS})

NAV_ITEMS: list[NavItem] = [
    NavItem("Dashboard", "home", STAFF),
    NavItem("Orders", "orders:list", frozenset({SUPPORT, MANAGERS})),
    NavItem("Tasks", "tasks:list", STAFF),
    NavItem(
        "Returns",
        "returns:list",
        frozenset({SUPPORT, WAREHOUSE, MANAGERS}),
        count="returns.selectors.returns_nav_count",
    ),
    NavItem(
        "Customs",
        "customs:queue",
        frozenset({SUPPORT, MANAGERS}),
        count="orders.customs.selectors.held_count",
    ),
    NavItem("Customs rules", "customs:rules", frozenset({MANAGERS})),
    NavItem(
        "Subscriptions",
        "subscriptions:list",
        frozenset({SUPPORT, MANAGERS}),
        count="subscriptions.selectors.past_due_count",
    ),
    NavItem(
        "Parcel arrivals",
        "returns:arrivals",
        frozenset({WAREHOUSE, MANAGERS}),
        count="returns.actions.awaited_parcels_count",
    ),
    NavItem("Incidents", "incidents:list", frozenset({SUPPORT, MANAGERS})),
    NavItem("Processes", "processes:list", frozenset({MANAGERS})),
    NavItem("Catalog", "vendors:catalog", STAFF),
    NavItem("Stock", "vendors:stock", frozenset({WAREHOUSE, MANAGERS})),
    NavItem("Vendors", "vendors:staff-vendors", frozenset({SUPPORT, MANAGERS})),
    NavItem("Vendor portal", "vendor_portal:home", frozenset({VENDORS})),
]


def open_task_count(user: Any) -> int:
    """Open tasks assigned to the user plus unassigned ones of its groups, in one query.

    The same rows as the tasklist's "Assigned to me" and "Unassigned in my groups" queues.
    """
    from processes import port

    who = port.Audience(user.username, tuple(sorted(user_roles(user))))
    return port.count_user_tasks(port.TaskQuery(state="CREATED", actionable_by=who))


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
        entry = {"label": item.label, "url": url, "active": active}
        if item.url_name == "tasks:list":
            entry["count"] = open_task_count(user)
        elif item.count:
            entry["count"] = item.count_for(user)
        items.append(entry)
    # A page under another item's URL (``/catalog/stock/`` under ``/catalog/``) marks only the
    # item with the longest URL as the current page.
    current_urls = [str(entry["url"]) for entry in items if entry["active"]]
    current_url = max(current_urls, key=len) if current_urls else None
    for entry in items:
        entry["active"] = entry["url"] == current_url
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: ``nav_items`` and ``user_roles`` for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role_names": [], "can_open": {}}
    roles = user_roles(user)
    context = {
        "nav_items": nav_for(user, request.path),
        "user_role_names": sorted(roles),
        "ticker_warning": "",
        # Which pages the user can open: a link to a page it cannot open is not shown.
        "can_open": {
            "orders": bool(roles & {SUPPORT, MANAGERS}),
            "returns": bool(roles & STAFF),
            "incidents": bool(roles & {SUPPORT, MANAGERS}),
            "processes": bool(roles & {MANAGERS}),
            "tasks": bool(roles & STAFF),
        },
    }
    if roles & STAFF:
        from processes.heartbeat import ticker_warning

        context["ticker_warning"] = ticker_warning()
    return context
