"""Business time of the subscription services.

One seam for "now", so that the process tests can run the services on the same moved clock as
the engine's timers (a retry recorded on day 10 must say day 10). Production: system time.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def today() -> dt.date:
    return now().date()
