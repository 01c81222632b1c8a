"""History rows: who did what to a business object, and when (append-only).

Each app keeps its own history table with an ``event`` field whose choices are the app's event
enumeration (a ``models.TextChoices``); ``history_write`` is the one function that inserts rows
into any of them. It refuses a plain string or a member of another enumeration, so an event name
cannot drift between callers::

    class SubscriptionEvent(models.TextChoices):
        STARTED = "started", "Started"

    class SubscriptionHistory(models.Model):
        EVENTS = SubscriptionEvent
        subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE)
        event = models.CharField(max_length=60, choices=SubscriptionEvent.choices)
        ...  # from_status, to_status, actor, detail, at (see ``history_write``)

    history_write(
        SubscriptionHistory, SubscriptionEvent.STARTED, subscription=sub, actor=actor_of(user)
    )
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)

ACTOR_MAX_LENGTH = 150


def actor_of(user: Any) -> str:
    """How a user appears in a history row (``""`` for the process itself)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return str(user.get_username())


def history_write(
    model: type[M],
    event: enum.Enum,
    *,
    from_status: str = "",
    to_status: str = "",
    actor: str = "",
    detail: dict[str, Any] | None = None,
    **subject: Any,
) -> M:
    """Append one row to ``model`` (call inside the transaction that made the change).

    ``model.EVENTS`` names the enumeration (or a tuple of them) the row's event must belong to;
    ``subject`` holds the row's foreign keys (``order=...``, ``return_request=...``).
    """
    allowed = model.EVENTS if isinstance(model.EVENTS, tuple) else (model.EVENTS,)  # type: ignore[attr-defined]
    if not isinstance(event, allowed):
        raise TypeError(f"{model.__name__} events are {allowed}, not {event!r}")
    return model.objects.create(  # type: ignore[attr-defined]
        event=event.value,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:ACTOR_MAX_LENGTH],
        detail=detail or {},
        **subject,
    )
