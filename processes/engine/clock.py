"""The engine clock: system time, or a pinned instant (``PUT /v2/clock``) for tests and demos."""

from __future__ import annotations

import datetime as dt
import threading

from django.conf import settings
from django.utils import timezone

_lock = threading.Lock()
_pinned: dt.datetime | None = None
_loaded = False


def now() -> dt.datetime:
    """Current engine time (aware, UTC)."""
    if not getattr(settings, "ENGINE_CLOCK_CONTROLLED", False):
        return timezone.now()
    _load()
    return _pinned or timezone.now()


def pin(at: dt.datetime) -> None:
    """Freeze the clock at ``at`` (stored, so other processes of a test server see it too)."""
    from processes.models import ClockPin

    global _pinned, _loaded
    ClockPin.objects.update_or_create(id=1, defaults={"pinned_at": at})
    with _lock:
        _pinned, _loaded = at, True


def reset() -> None:
    from processes.models import ClockPin

    global _pinned, _loaded
    ClockPin.objects.all().delete()
    with _lock:
        _pinned, _loaded = None, True


def forget_cache() -> None:
    """Re-read the pin from the database on next use (tests roll the table back)."""
    global _loaded, _pinned
    with _lock:
        _loaded, _pinned = False, None


def _load() -> None:
    global _pinned, _loaded
    if _loaded:
        return
    from processes.models import ClockPin

    row = ClockPin.objects.filter(id=1).first()
    with _lock:
        _pinned, _loaded = (row.pinned_at if row else None), True
