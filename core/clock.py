"""Business time: the one clock every time-dependent business rule reads.

It is the process engine's clock, so the rules (return windows, SLAs, delivery dates) and the
processes' timers agree when the clock is moved (``PUT /v2/clock`` in tests and demos). Audit
timestamps (``created_at``, history rows) keep the wall clock.
"""

from __future__ import annotations

import datetime as dt

from processes import port


def now() -> dt.datetime:
    """The current business time (aware, UTC)."""
    return port.now()
